/**
 * Every seed that ever found a bug, kept as a regression case (with what it found).
 * 3: snapshot overtaken by later deltas on re-bootstrap; 4: fenced link kept a host "reconnecting";
 * 12: overwritten outbox not re-applied by a new host; 37: partition dropped an intent;
 * 43: tie between two epoch-2 hosts; 167: host listed an unlinked voter; 332: silent winner;
 * 517: demoted host kept a delta the new host lacked; 708: resent history refused as stale epoch;
 * 1618, 2728: two hosts each followed the other (claims compared session sizes that change);
 * 2208, 3729: a demoted host counted as not bootstrapped, its changes never sent;
 * 3394, 3816: dedupe state outlived a re-bootstrap, so re-issued deltas were skipped;
 * 636: a re-bootstrap asked of a host that then died left a follower waiting forever;
 * 9828: a host that said goodbye kept its link and was greeted by a host that did not list it;
 * 52, 108: messages arriving together (one batch frame) were role-checked on arrival, before the
 * new host's hello ahead of them had been handled, so its orders were dropped.
 * 987, 2655, 7596, 3965, 4020, 6038, 8152: with the majority rule, a guest frozen through an
 * election stayed with its stepped-down host, an old host thawed into a second session, or a
 * change past the new host's fork was kept.
 * All were found before the modes (hostile guest, stalls, host lost while forming) existed:
 * they run with every mode off, exactly as they ran then.
 */
export const REGRESSION_SEEDS: number[] = [3, 4, 12, 37, 43, 52, 108, 167, 332, 517, 708, 1618, 636, 2208, 2728, 3394, 3729, 3816, 9828, 987, 2655, 3965, 4020, 6038, 7596, 8152]

/**
 * Seeds found once the first modes existed, before the split, background and crowd modes: they run with the modes
 * `modesOf` gives them but those three (`SIM_MODES=classic`), as they ran when found.
 * 17, 183, 375, 700: a peer gave up on a hostile guest's word that the lost host was alive;
 * 86, 350: a host followed the hostile guest's forged hello; 203, 719, 1151, 1352, 1383, 3965,
 * 4020: an old host and its successor both hosted (a stall or partition of the old host; rosters
 * that changed meanwhile; a stale successor's claim); 718: a guest taken back missed deltas sent
 * before it acted as a guest; 1314: a guest taken back was never listed again; 2771, 5904: a
 * demoted host's changes were refused while it was on probation; 7700: a forged snapshot taken
 * as catch-up history; 5216: a survivor's history replayed over the new host's own; 1209, 8210,
 * 5361: an old host cut off from most of the session admitted new guests or handed its minority
 * over with its goodbye, or forgot a peer it was taking back.
 */
// Reload seeds (issue #18): a change made while the journal restored was wiped with the old
// state (1145, 2655, 4570, 5141, 6405, 7421, 7671, 1952); a host's own last changes lost with
// its reload (2257, 3762); a host whose only guest left before admission, rightly 'hosting' (725).
// Kick seeds: a removed user let back in by the next host (134, 985); survivors of a host that
// removed a guest counted it as a voter and found no majority (800, 1130); a survivor that the
// host's goodbye reached first backed itself on its peer's "the host lives", moments before
// that peer lost the host too: neither could be backed (9178); survivors still counted the peers
// only the previous epoch's host had listed, whom the new host dropped, and found no majority (717319).
// Crash-reload seeds (resume tokens): a cut-off host dropped a returning peer before refusing it,
// so its old link's late intent was declined for good (3146); a page retrying resume() in place
// applied a delta twice to a provider its journal held no snapshot of (4944: a retry is a new page load);
// a guest's link to a resumed peer's crashed page still counted as linked, so they never linked again (6486).
// Found in a fresh seed range (700001–720000): two failovers back, a demoted host's change at a sequence
// number the newest host filled from another epoch was not handed over (one fork point cannot say where
// an older epoch forked: hellos carry the lineage now) (701566, 706311); a survivor's own change, confirmed
// in the part of history the next host lacked, had left its replay log with a snapshot (707147).
// A host cut off from a majority stopped counting down to its end on hearing its successor's side again:
// taking back a member it inherited re-stamped its admission (704215), and a peer taken back counted as
// present on its pings alone, while it elected a successor (711099).
// A guest frozen while its host was cut off and replaced thawed to the stepped-down host's handover naming a
// successor that had dropped it: it waited for a hello that could not come, kept following a non-host (706733, 715397).
// A survivor past the new host's sequence number held that history as a snapshot (its replay log empty): it handed
// nothing over, skipped the digest check and the new host's deltas at those numbers, and diverged for good (720418).
// A host replaced while cut off admitted a guest between its successor's claim and its next heartbeat, which counted
// that guest among those who could have elected the successor: no majority against it, two hosts for good (729712).
// A host cut off from a majority removed a guest it could not hear: it stopped counting it among those who could elect
// without it, stopped counting down, and its goodbye handed its minority over; that guest elected a second host (737476).
// A host cut off from most of its guests weighed them by the roster of the first to go quiet, a guest quiet since it
// joined: those admitted later did not count, so it admitted more and never stepped down (734024).
// A demoted host re-bootstrapped from a snapshot that left a provider out (its snapshot() failed): that provider kept an
// intent it had applied as host, `seen` forgot it, and it applied it again when its origin sent it to the new host (739835).
// A survivor that stood still after following a new host asked it for a snapshot on a link it held fenced: taken back, the
// request dropped, and the hello that took it back asked for nothing while a snapshot was awaited: deltas held back for good (745686).
// A guest held its fenced link to a crashed host's page when that user came back on a new page: the roster unfenced it,
// its new link was never made, and at the next beat the guest dropped the user; with no link to it, the survivors of the
// next host (which removed a guest, then was lost) found no majority (756360, 757996). A host lost while a cut-off old
// host of the session still hosted is a split still under way, not calm (745766).
// A page crashed on reload is a fault under way like any crash: the host lost soon after still listed it (not timed
// out yet), so it counted among the voters and the two survivors of four were no majority: not calm (771887).
// A cut-off host removed a guest unheard for two beats, not yet marked away: not counted as one who could elect, the guest
// (which never heard of its removal) elected with the other, and the host, left with one departed guest, hosted on (788259).
// A host whose clock read 0 when it started counted its first beat as none, so a stall before that beat went
// unnoticed and its guests' silence during it made it end them all (812720); a cut-off host's countdown lost a
// departed peer that aged out mid-way (its own stall had lengthened the wait), a beat before it would end (825374).
// A guest said goodbye, but only some peers heard it; the others saw it drop from a roster (which does not say it left),
// counted it as a voter for two hard timeouts, and when the host was lost soon after found no majority: rosters and
// hellos list who said goodbye now (810328, 824156).
// A host lost an election after logging deltas past the new host's snapshot; its journal kept them beside that
// snapshot, and the reloaded page applied one again on resume: a host's snapshot now drops the whole log (830622).
// A guest's goodbye waited its turn behind the host's busy queue while its link's close skipped it: dropped as from a
// closed link, it was not listed as gone; survivors counted that guest as a voter and found no majority (837524).
// A host stood still past the hard timeout with the hostile guest; the guest left alone won with the hostile guest's back, whose
// own code never lost the host and stayed its guest. The new host counted that backer present on its pings: both hosted (1992525).
// A guest back from a partition sent its change, then its outbox again while a gap held the change's delta back; the host's ok ack
// to the repeat settled the outbox entry, and the delta, resent after it, was applied again over the change made here (2236880).
// A hostile guest that won an election with honest backs had sent a survivor deltas naming it as their origin; once it left, that
// survivor took them for its own changes (by the origin field) and handed them over to the honest next host, which applied them (2470772).
// A host crashed 1.9 s after a reloaded guest resumed through another guest, their link still forming: the survivors rightly could not
// elect (isolated), but the check, dating joins and not resumes, took it for a calm loss (2524125, a simulator misjudgement).
export const CLASSIC_REGRESSION_SEEDS: number[] = [
  17, 86, 183, 203, 350, 375, 700, 718, 719, 1151, 1209, 1314, 1352, 1383, 2771, 3965, 4020, 5216, 5361, 5904, 7700, 8210,
  725, 1145, 1952, 2257, 2655, 3762, 4570, 5141, 6405, 7421, 7671,
  134, 985, 800, 1130, 9178, 717319,
  3146, 4944, 6486,
  701566, 706311, 707147,
  704215, 711099,
  706733, 715397,
  720418,
  729712,
  737476,
  734024,
  739835,
  745686,
  745766, 756360, 757996,
  771887,
  788259,
  812720, 825374,
  810328, 824156,
  830622,
  837524,
  1992525,
  2236880,
  2470772,
  2524125,
]

/**
 * Seeds found once the split, background and crowd modes existed, before silent closes: they run
 * with the modes `modesOf` gives them but that one (`SIM_MODES=splits`).
 */
// A guest thawed from a freeze (or slow to bootstrap in a background tab) was left linked to the host alone: its
// failed links to the others were never asked for again, and when the host went, its survivors found no majority
// (931968, 937937; 903663, which fails with the classic modes too, was the simulator's: it called a session calm
// while a page was still joining).
// A host cut off from a majority heard its successor's claim, then that successor's goodbye: it stopped counting that
// peer among those who could elect without it (it had, before leaving) and hosted on beside the guest it handed over to (930481).
// A cut-off host stopped counting down to its end when the successor elected without it left, its side going on (6893).
// An old host that followed its successor journaled that host's epoch before its snapshot came: reloaded, it claimed
// its forked history as the successor's and was sent only the deltas past it (966014, with the classic modes too).
// A background-tab host admitting guests one slow snapshot per timer tick held their offers and answers in its queue
// past the link timeout: the guests stayed unlinked, and when the host went, no survivor reached a majority (967569).
// A page whose session ended while it was cut off (its goodbye reached no one) counted, as a crashed page does, among
// the voters of the host's survivors for a while; the simulator called the host's loss soon after calm (929515).
// A cut-off host heard its guests again (their pings, what their links held) as they elected without it, counted them
// back before their successor's claim came, and with a guest admitted meanwhile, found no majority against it (967133).
// A resumed guest its host greeted but had not yet sent the snapshot it waited for lost that host, followed the next
// one without that snapshot, and stayed 'joining' for good: only the snapshot ended its join (996419).
// A background-tab guest held its host's roster naming a removed peer (and the removed guest the host's END) in its
// queue when the host's link closed, and dropped them: it hosted next and took the removed peer back (995305).
// A guest cut off while the host admitted two more (its roster stale: three seats) took over with the hostile guest's back, which
// had told it on its own link, in the same batch, that it backed itself, and won with the others: two hosts (2164186).
// A new host dropped a survivor silent past the soft timeout from its first roster and took it back when it thawed, with no
// stretch out of the roster: it sat in the electorate of a guest admitted meanwhile, and cut off by a split from that guest and
// one other, which elected a successor by their roster's majority, the host found no majority away and hosted on (2449028).
export const SPLIT_REGRESSION_SEEDS: number[] = [931968, 937937, 903663, 930481, 6893, 966014, 967569, 929515, 967133, 996419, 995305, 989140, 2164186, 2449028]

/** Seeds found once silent closes existed, before one-way cuts: they run with the modes `modesOf` gives them but that one (`SIM_MODES=closes`). */
// Two guests a split kept from the host were still linking to each other when it crashed after the heal: each, the best-ranked
// candidate it heard, backed itself and could reach no majority, while the third survivor, linked to both, could have hosted (1016830).
// A host thawed from a freeze its guests had timed it out in heard their pings and counted them present: it admitted
// a guest before their successor's claim came, which left it no majority against that successor, two hosts for good (1005003).
// A host on the weak side of a split dropped the other side on timeout and crashed while counting down; its guests, who
// found it gone only after their own stalls, had forgotten the dropped peers by then and elected a second host (1039593).
// A host lost 1 s after a split healed was judged lost in calm, but the cut-off side was still electing: one of it won, all
// but a guest admitted during the split (never linked across, unknown to the winner) followed it; the survivors listed did not host (1124428).
// A host frozen before its first heartbeat dated its guests away from that beat, before any was admitted: on thaw, no
// electorate it counted had a majority against it, and it hosted on beside the successor they elected (1130282).
// A host replaced during a cut, still hosting after the heal (not yet stepped down or ended), removed a guest that followed
// its successor: the simulator held the successor's session to that removal, which it never heard of (1156476, a simulator
// misjudgement; with the classic modes too).
// A hostile guest that won an election had sent a guest following it a snapshot of one provider (a simulator misjudgement,
// with the classic modes too): the whole-snapshot count, unlike the other state checks, held its followers to its word (1154940).
// A demoted host still waiting for its successor's snapshot took that successor's lineage at once: elected next, it named
// the successor's epoch for the sequence numbers it held of its own, and a survivor kept the successor's history there (1144124).
// A host thawed from a stall stepped down for its successor on a guest's word that it followed it, though that guest had since
// greeted it as host of a later epoch itself (the successor, cut off in turn, was replaced): two hosts (1171985, with the classic modes too).
// A host reloaded with changes its successor lacked; resumed through that successor, it took the successor's snapshot (sent with
// its hello, ahead of the handover) and with it lost its journal's log, the only copy: the successor left before applying
// the handover, and the page, elected next, had nothing left to re-issue (1171834).
// A host counted a guest present on its pings alone while its own pings were lost on the way (a link cut one way): cut off
// from most of its session unawares, it admitted guests no other roster listed, and hosted on beside their successor (1171260).
// A guest held a hello the hostile guest forged 27 s before any election and followed it as the winner's when that guest won the
// next one, before its real hello: it took the deltas the hostile guest wrote meanwhile, still a guest, as its host's (1312452).
// Three more of 1312452's kind, fixed by its rule: a forged hello held from before the election taken as the winner's by a
// guest too sparsely linked to count (1365885: it followed the hostile guest, which never hosted, and took its roster), and
// forged deltas taken ahead of the real winner's hello (1357868, 1368169).
export const MODE_REGRESSION_SEEDS: number[] = [1016830, 1005003, 1039593, 1124428, 1130282, 1156476, 1154940, 1144124, 1171985, 1171834, 1171260, 1312452, 1365885, 1357868, 1368169]

/** Seeds found once one-way cuts existed, before the modes below: they run with the modes `modesOf` gives them but those (`SIM_MODES=cuts`). */
// A new host listed in its hello a guest its link had not heard for seconds (crashed before the election, never of its epoch):
// survivors counted it as a voter for two hard timeouts from that hello, and one that joined later did not, so when that host was
// lost the two could back no one (1256565, with the classic modes too).
// A guest too sparsely linked to count a majority took a hostile guest's hello (held from before the election) as the
// winner's the moment it lost the host, before its better-ranked linked candidate stood, and took its kv-only snapshot (1247700).
// A host cut off by a split said goodbye just after the heal, before its guests on the other side had answered a ping: its
// goodbye ended the session for all of them, the majority that was to elect a successor too; nobody hosted (1411730).
// A delay drawn on a direction a one-way cut blocked replaced the block without releasing what it held: a guest then heard
// the host's pings but not the rosters before them, answered, and was counted back while it held a roster without the guests
// admitted meanwhile; with the other deaf guest it elected a second host (1542830, a simulator misjudgement: out of a
// reliable channel's order; a delay now keeps the block).
// The same on a partition's block: a guest a partition cut off from its host got the host's goodbye before the rosters naming the guests
// admitted meanwhile and, with a guest cut from that host, elected a second host from its stale roster (1557741, a simulator misjudgement).
// A host stamped a guest that claimed to host away from its claim's arrival, not from the last ping it had answered (an
// answer that came late, after a partition, and counted it back): the guest had elected with one whose link to the host closed,
// from a roster without the guest admitted meanwhile, and the host, counting that guest in their electorate, hosted on (1661036).
// A guest that stood still while its host admitted a peer and left offered that peer a link through the host that had left, and
// ignored the new host's ask while that offer waited; the new host was lost before it asked again, and the two survivors, unlinked,
// could not elect (1777750; a guest now drops its negotiations when it follows a new host). Simulator misjudgements, the
// survivors short of a majority by the library's rules: a page that left across a partition, its goodbye never heard, was still
// listed (1771728); a guest thawed half a second before, still working through its backlog, had its links still forming (1752033).
// A host counted a guest it had dropped on a timeout (link kept) and taken back in the electorate of guests admitted while it was
// out of the roster; cut off one way from them, it found no majority away, and hosted on beside the successor they elected (1771500).
// A host that stood still past the soft timeout dated every guest away from the stall, though a split had cut some off before
// it (their last answered ping earlier): a guest admitted in between sat in their electorate, and it hosted on beside their successor (1860796).
// A guest's repeated intent was acked ok before the resent delta holding it came, which it then applied again over its own
// change (2314157, the cause of 2236880, with one-way cuts).
// A new host marked no stretch out of its roster for the peers it left out as it took over (the old host, one out of reach): taken back
// after its guests went away, they counted in the electorate of those guests, which never saw them listed, and it hosted on beside their successor (2445286).
export const ONE_WAY_REGRESSION_SEEDS: number[] = [1256565, 1247700, 1411730, 1542830, 1557741, 1661036, 1777750, 1771728, 1752033, 1771500, 1860796, 2314157, 2445286]

/** Seeds found with compacting journals, before colluding guests and disk faults: they run with the modes `modesOf` gives them but those (`SIM_MODES=compacts`). */
// A guest's journal compacted while a change of its own awaited the host's confirmation: its providers' state, the snapshot,
// held that change, which the resumed page took for absent and applied again when its delta came (the counter showed 2;
// 1068, 1303).
export const COMPACT_REGRESSION_SEEDS: number[] = [1068, 1303]
/** Seeds found with colluding guests, before compacting journals and disk faults: they run with the modes `modesOf` gives them but those (`SIM_MODES=collude`). */
// Two colluders, a majority of an electorate of three (the host said goodbye), each won: one with its partner's seat behind it,
// the other, its partner cut off one way, with the honest guest's; each seat had backed both. Two trusted hosts, each of its
// own honest followers: a simulator misjudgement, which held them to the one-host rule meant for honest hosts (420).
// Simulator misjudgements, where the pair was a majority of those left in the session: a host stepped down for a colluder
// (a guest) on the pair's word and took its forged state (2009370, 2007809: the pair two of three; 2008664: the third honest
// peer ended meanwhile); a colluder's follower held forged history the colluder had sent it just before it won, its own word
// as the host it became, which the check, then reading only what the host held, called forged (2003199).
// A host stepped down for a colluder's claim on the word of its partner, which had said it followed that colluder and then
// left: a peer no longer in the session still counted among the majority that followed (2010906, a library bug; the pair held
// two of the three seats, so the simulator accepts the outcome either way: the exploits test of a pair that never was a
// majority holds the fix).
// A star guest linked, besides its lost host, only to the pair took the word of the colluder it backed (the known limit: too
// few links to count), though that colluder had told it on its own link that it backed its partner (1531703, a library bug).
// A host stepped down for a colluder on the pair's word (two of its three seats), took that colluder's forged snapshot, and
// hosted again after the colluder handed over: the check exempted what the pair's choice wrote only while it still hosted
// (1601837, a simulator misjudgement).
// A host stepped down for a colluder on the pair's word (two of its three seats), took a snapshot of a colluder it followed
// that lacked its own confirmed changes (and, in 1676661, left two providers out), and was elected again: the check exempted
// what that trusted host took away only while the peer still followed it (1668183, 1676661, a simulator misjudgement).
// A star guest that alone lost its host (a one-way cut; the honest guest it was linked to said the host lived) took the word of the
// colluder it backed, though that colluder had stood and then said the host lived, its latest word (1696499, a library bug).
// A guest took a colluder host's roster as it came: a removed user listed five times (1777969), and the old host's own
// roster replayed to it, naming it host, so it followed a peer it listed as a guest (1773682); a library bug.
// A colluder replayed to its honest host a forward its partner had forged in its name: its own change on its own link, which the
// host rightly took, and which the check, reading only the key's `forged:` name, called forged (1922024, a simulator misjudgement).
// The link between the two honest guests failed as their host's goodbye came; the colluder, the third seat of three, backed both,
// and each took over with its own seat and the colluder's: the double-backing limit, which the check counted as two hosts (1997205,
// a simulator misjudgement).
// A candidate took over with a colluder's back though that colluder had told it on its own link that it backed another: two hosts
// (2263814, a library bug; the rule of seed 2164186, `Failover.majorityBacks`, fixes it).
export const COLLUDE_REGRESSION_SEEDS: number[] = [420, 2009370, 2007809, 2008664, 2003199, 2010906, 1531703, 1601837, 1668183, 1676661, 1696499, 1777969, 1773682, 1922024, 1997205, 2263814]

/** Seeds found with disk faults (and compacting journals), before colluding guests: they run with the modes `modesOf` gives them but that one (`SIM_MODES=disk`). */
// A resumed page's journal read failed and resume() threw the store's own error, with no diagnostic (3000012, 3000020,
// 3000050). A write refused for quota whose eviction failed too (the listing aborted) rejected the journal's write
// queue: an unhandled rejection, and no later batch was ever written (3000034, 3000064).
// A simulator misjudgement: a guest the host had dropped for silence (crashed 17 s before) stayed in a survivor's electorate
// for two hard timeouts past the last roster that listed it, so the two survivors were no majority when the host was lost (1761662).
export const DISK_FAULT_REGRESSION_SEEDS: number[] = [3000012, 3000020, 3000050, 3000034, 3000064, 1761662]
