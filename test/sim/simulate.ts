/**
 * A deterministic fault-injection simulator: the real session core on the in-memory
 * network, driven by one seed through random joins, leaves, changes and faults (crash,
 * freeze and thaw, partition and heal, cut links, delays), then checked against the
 * invariants that make failover trustworthy. The same seed replays the same run exactly.
 *
 * Some seeds also turn on modes (see `modesOf`): a hostile guest, guests that stall past
 * the hard timeout, a host lost right after admitting a guest, and providers that throw,
 * reject or answer slowly beside the honest ones (test/sim/providers.ts); the network split
 * into two sides of two or more, pages in background tabs (timers on aligned wake-ups), and
 * several pages joining at once through several inviters; links closed on one side of a
 * partition that stay open, silent, on the other (as a real one does); links that pass one way
 * only; journals that compact after a few deltas, their snapshots standing in for their logs;
 * in reload seeds, a journal that fails as IndexedDB does (test/sim/disk-faults.ts: spans of
 * refused or slow writes, a failed read at resume, the origin's storage cleared before a reload),
 * where a page may lose only what its disk did not keep and every failure must reach its app as
 * a diagnostic; and two hostile guests that collude (test/sim/collude.ts: they back each other in
 * elections, vouch for each other with hellos and handovers, write in each other's name, relay
 * and replay what each hears). The invariants hold a colluder that hosts to the backs it really
 * got: with a majority of real votes (honest backs and the pair's two seats: never the pair alone
 * where the electorate has four members or more) it is a trusted host. Where the pair is a majority
 * (of the electorate, or outnumbering the honest peers left in the session), it may make one of
 * them host as any majority may, and what it makes those peers follow is that majority's choice.
 * The modes draw from their own generators, so a seed with none of them runs exactly as it did
 * before they existed.
 */
import { seededRandom, type Random } from '../../src/runtime/random.js'
import { TestSession, type TestPeer } from '../helpers/session.js'
import { readSession } from '../../src/journal/read.js'
import { decodeMessage } from '../../src/wire/codec.js'
import { type Disk, disk } from '../journal/helpers.js'
import { Colluders } from './collude.js'
import { DiskFaults } from './disk-faults.js'
import { HostileGuest } from './hostile.js'
import { check, type Change } from './invariants.js'
import { FlakyProvider, SlowProvider, TallyProvider, type FaultProviders } from './providers.js'
import { RECOVERY_BOUND_MS, SIM_TIMERS } from './timers.js'

export { RECOVERY_BOUND_MS, SIM_TIMERS }

const HARD = SIM_TIMERS.heartbeat.hardTimeoutMs

export interface SimModes {
  /** Which of the first guests turns hostile (a fraction of them), or null: all are honest. */
  hostile: number | null
  /** Guests stall (clock and event loop stopped, as a blocked tab's) for longer than the hard timeout. */
  stall: boolean
  /** The host may close or crash 0–300 ms after admitting a guest, before its mesh links exist. */
  formingLoss: boolean
  /** Every peer also has a provider that throws and rejects, a slow one and a counter; changes touch them too. */
  providerFaults: boolean
  /** Every peer journals; pages reload (host or guest) and resume: the journal survives, memory does not. */
  reload: boolean
  /** The host removes a guest, then loses itself; the removed user keeps trying to come back through whoever hosts. */
  kick: boolean
  /** The network splits the pages into two sides (not one page off from the rest) for a while, once or more. */
  split: boolean
  /** Some pages are background tabs: their timers fire only on aligned wake-ups, late by up to one alignment step. */
  background: boolean
  /** Several pages join at once (a room link shared in a chat), through the host's invites and guests': their admissions and links overlap. */
  crowd: boolean
  /** A link closed on one side of a partition stays open, silent, on the other (as over a real network), rather than closing there too. */
  silentCloses: boolean
  /**
   * For a while a page's messages stop reaching some peers while theirs still reach it (a link that
   * passes one way only, as a real one can for up to ~30 s before ICE consent gives up on it).
   */
  oneWay: boolean
  /** With `reload`: journals compact after 2–7 deltas, so what a reloaded page takes back is mostly its journal's snapshot. */
  compact: boolean
  /**
   * Two guests are hostile and work together (test/sim/collude.ts): they back each other in
   * elections, vouch for each other with hellos and handovers, write in each other's name, and
   * relay and replay what each hears. With `hostile` too, that guest is one of the two.
   */
  collude: boolean
  /**
   * With reload: each user's journal fails as IndexedDB does (test/sim/disk-faults.ts): spans of refused
   * (quota, aborted) or slow writes, a failed read at resume, the origin's storage cleared before a reload.
   */
  diskFaults: boolean
}

export interface SimResult {
  seed: number
  modes: SimModes
  failures: string[]
  trace: string[]
  peers: number
}

/** Every mode off: the simulator as it was before the modes, for the seeds found then. */
export const NO_MODES: SimModes = { hostile: null, stall: false, formingLoss: false, providerFaults: false, reload: false, kick: false, split: false, background: false, crowd: false, silentCloses: false, oneWay: false, compact: false, collude: false, diskFaults: false }

/**
 * Which modes a seed runs with, as the simulator stood when the seed was found: `all` (what
 * `modesOf` draws), `none`, or all but the modes added after it (`OFF`). Compacting journals,
 * colluding guests and disk faults came at the same time, each without the other two (disk
 * faults with compacting journals). A regression seed keeps the run that found its bug.
 */
export type ModeSet = 'all' | 'disk' | 'collude' | 'compacts' | 'cuts' | 'closes' | 'splits' | 'classic' | 'none'

type Switch = Exclude<keyof SimModes, 'hostile'>
const CUTS: Switch[] = ['compact', 'collude', 'diskFaults']
const CLOSES: Switch[] = [...CUTS, 'oneWay']
const SPLITS: Switch[] = [...CLOSES, 'silentCloses']
const OFF: Record<Exclude<ModeSet, 'all' | 'none'>, Switch[]> = {
  disk: ['collude'],
  collude: ['compact', 'diskFaults'],
  compacts: ['collude', 'diskFaults'],
  cuts: CUTS,
  closes: CLOSES,
  splits: SPLITS,
  classic: [...SPLITS, 'split', 'background', 'crowd'],
}

export function modesFor(seed: number, set: ModeSet): SimModes {
  if (set === 'none') return NO_MODES
  const modes = modesOf(seed)
  if (set === 'all') return modes
  for (const mode of OFF[set]) modes[mode] = false
  return modes
}

export function modesOf(seed: number): SimModes {
  const r = seededRandom(seed ^ 0x0de5ca1e)
  const [hostile, where, stall, formingLoss, providerFaults, reload, kick, split, background, crowd, silentCloses, oneWay, compact] = Array.from({ length: 13 }, () => r.next())
  return {
    hostile: hostile! < 1 / 3 ? where! : null,
    stall: stall! < 1 / 3,
    formingLoss: formingLoss! < 1 / 3,
    providerFaults: providerFaults! < 1 / 3,
    reload: reload! < 1 / 3,
    kick: kick! < 1 / 4,
    split: split! < 1 / 4,
    background: background! < 1 / 4,
    crowd: crowd! < 1 / 4,
    silentCloses: silentCloses! < 1 / 2,
    oneWay: oneWay! < 1 / 4,
    compact: reload! < 1 / 3 && compact! < 1 / 2,
    // Drawn from a generator of its own: the draws above, and so every earlier seed's modes, stay as they were.
    collude: seededRandom(seed ^ 0xc011ade).next() < 1 / 6,
    // Half the reload seeds, from a generator of its own: the draws above stay as they were.
    diskFaults: reload! < 1 / 3 && seededRandom(seed ^ 0xd15cf00d).next() < 1 / 2,
  }
}

export async function simulate(seed: number, steps = 24, modes = modesOf(seed)): Promise<SimResult> {
  const rng = seededRandom(seed ^ 0x5eed5eed)
  // Mode decisions draw from here, never from `rng`.
  const extra = seededRandom(seed ^ 0x0fa17fa1)
  const draw = (r: Random) => ({
    pick: <T>(items: readonly T[]): T | undefined => items[Math.floor(r.next() * items.length)],
    between: (min: number, max: number) => min + Math.floor(r.next() * (max - min + 1)),
  })
  const { pick, between } = draw(rng)
  const x = draw(extra)
  // The split, background, crowd and one-way modes draw from their own generators too: seeds without them run as before they existed.
  const splits = seededRandom(seed ^ 0x5b117)
  const backdrop = seededRandom(seed ^ 0xbac6d)
  const crowds = seededRandom(seed ^ 0xc40bd)
  const oneWays = seededRandom(seed ^ 0x1e3a7)
  const limits = modes.compact ? { maxDeltas: 2 + Math.floor(seededRandom(seed ^ 0xc0bac7).next() * 6) } : {}
  const s = new TestSession(seed)
  s.net.silentCloses = modes.silentCloses
  const log = (line: string) => s.trace.push(`${s.clock.now()} sim ${line}`)
  const diskFaults = modes.reload && modes.diskFaults ? new DiskFaults(seed, () => s.clock.now(), log) : undefined
  const maxPeers = between(2, 12)
  const crashed = new Set<TestPeer>()
  const frozen = new Set<TestPeer>()
  /** Peers the simulation itself made leave: their ending is no one's fault. */
  const departed = new Set<TestPeer>()
  const changes: Change[] = []
  const inviteOf = new Map<TestPeer, string>()
  const misled: string[] = []
  /** Until when the simulation cut each isolated peer off from everyone: its giving up is no one's fault. */
  const isolatedUntil = new Map<TestPeer, number>()
  let hostile: HostileGuest | undefined
  /** Every hostile guest: the one of `modes.hostile`, and the colluding pair. */
  const hostiles: HostileGuest[] = []
  const isHostile = (p: TestPeer) => hostiles.some((h) => h.peer === p)
  let colluders: Colluders | undefined
  const faulty = new Map<TestPeer, FaultProviders>()
  /** When the last scheduled fault (freeze, stall, isolation) ends. */
  let quietAt = 0
  let named = 0
  /** What outlives a page, per user: its journal and its tab's storage. */
  const disks = new Map<string, Disk>()
  /** A new page: a new user, or (`reloadOf`) the same user's page loaded again. */
  const newPeer = (reloadOf?: TestPeer) => {
    const n = named++
    const user = reloadOf?.controller.getSelf() ?? { id: `u-p${n}`, name: `p${n}` }
    if (!disks.has(user.id)) disks.set(user.id, disk())
    const on = disks.get(user.id)!
    const store = diskFaults ? diskFaults.storeFor(`p${n}`, on, s.net.clockFor(`p${n}`)) : on.journal
    const peer = s.peer(`p${n}`, { ...SIM_TIMERS, user: { id: user.id, name: user.name }, ...(modes.reload ? { journal: { store, tabStorage: on.tab, limits } } : {}) })
    // A hidden tab's timers wake on 1 s ticks in Chromium, half a heartbeat: here half the sim's heartbeat, at times a whole one.
    if (modes.background && backdrop.next() < 0.5) {
      const tick = (backdrop.next() < 0.8 ? 0.5 : 1) * SIM_TIMERS.heartbeat.intervalMs
      s.net.throttle(peer.name, tick)
      log(`${peer.name} is a background tab (timers on ${tick} ms ticks)`)
    }
    if (modes.providerFaults) {
      const own = (salt: number) => seededRandom((seed * 131 + n * 7919) ^ salt)
      const providers = { flaky: new FlakyProvider(own(0x0f1a4e)), slow: new SlowProvider(s.net.clockFor(peer.name), own(0x5105)), tally: new TallyProvider() }
      for (const provider of Object.values(providers)) peer.controller.registerProvider(provider)
      faulty.set(peer, providers)
    }
    let lostHost: string | undefined
    let lostAt = 0
    peer.controller.on('session-host-lost', ({ hostId }) => {
      lostHost = hostId
      lostAt = s.clock.now()
    })
    // A peer the host dropped for silence stays in its guests' electorates for two hard timeouts past the last
    // roster that listed it (Follower.listedLately): to an election, until then, a crash (seed 1761662).
    peer.controller.on('session-peer-dropped', ({ reason }) => {
      if (reason === 'timeout' && peer.controller.getRole() === 'host') lastCrashAt = s.clock.now()
    })
    peer.controller.on('session-ended', ({ reason }) => {
      // A page whose session ends while it is cut off says goodbye to no one (nor could it through a real
      // network cut): to the others it is a crash, listed and counted as a voter for a while (929515).
      if ((isolatedUntil.get(peer) ?? -Infinity) > s.clock.now()) lastCrashAt = s.clock.now()
      if (!hostiles.length || isHostile(peer) || departed.has(peer) || !/disconnected|unreachable/.test(reason)) return
      const now = s.clock.now()
      if ((isolatedUntil.get(peer) ?? -Infinity) > now - HARD) return
      // Giving up when no majority could back anyone is allowed; giving up before waiting for one is not.
      if (now - lostAt >= 2 * SIM_TIMERS.electionTimeoutMs) return
      if (!hostiles.some((h) => h.aliveSent.some((a) => a.to === peer.name && now - a.at <= 4 * SIM_TIMERS.electionTimeoutMs))) return
      const host = s.peers.find((p) => p.controller.getSelf().id === lostHost)
      const gone = !host || crashed.has(host) || !host.controller.isActive() || host.controller.getRole() !== 'host'
      if (gone) misled.push(peer.name)
    })
    colluders?.watch(peer)
    return peer
  }
  /**
   * A page reloads: it says goodbye (pagehide), or it crashed (no goodbye: its old link still
   * looks alive). A new page of the same user resumes from its journal through an invite of
   * whoever hosts now, at once or a little later. Its changes must survive — but for a crash,
   * only those the journal or a live peer held by then: a crash may lose the journal's last batch
   * (and, with disk faults, any reload what the disk refused, aborted or cleared).
   */
  const reload = async (peer: TestPeer) => {
    const crash = extra.next() < 0.5
    log(`reload ${peer.name}${crash ? ' after a crash' : ''}`)
    departed.add(peer)
    const sessionId = peer.controller.sessionId
    if (crash) {
      s.net.crash(peer.name)
      crashed.add(peer)
      // A fault like any crash: its page stays listed, and counts among the voters, until the host times it out (771887).
      lastCrashAt = s.clock.now()
    } else peer.controller.goodbye()
    const user = peer.controller.getSelf().id
    // A faulty disk may lose what a closed page wrote too (refused, aborted, cleared): judged, as a crash is, by what it kept.
    let lossy = false
    if (diskFaults) {
      // What the closing page started writing may still land; then the browser aborts the rest.
      await s.settle(0)
      lossy = await diskFaults.reloading(peer.name, disks.get(user)!, user)
    }
    if (crash || lossy) await forgetUndurable(peer, `${sessionId}/${user}`, crash)
    await s.settle(crash && extra.next() < 0.5 ? 0 : x.between(0, 3 * SIM_TIMERS.electionTimeoutMs))
    // Refused (its token was in the batch the crash lost, so it waits for the old link to time out), or no host yet:
    // the user reloads again later (a page whose resume failed holds a half-restored state).
    let was = peer
    for (let attempt = 1; attempt <= 4; attempt++) {
      const reloaded = newPeer(was)
      for (const change of changes) if (change.peer === was) change.peer = reloaded
      if (await resume(peer, reloaded)) return
      was = reloaded
      await s.settle(HARD)
    }
  }
  /** The crashed (or, on a faulty disk, closed) page's changes that neither its journal nor any live peer holds: it may have lost them. */
  const forgetUndurable = async (peer: TestPeer, key: string, crash: boolean) => {
    const raw = await disks.get(peer.controller.getSelf().id)!.journal.read(key)
    const journal = raw ? readSession(raw) : undefined
    const queued = new Set(journal?.outbox.map((o) => o.intentId))
    // A host's own change has no intent: it is held if its journal's state or log has it.
    const written = journal ? JSON.stringify([journal.snapshot.entries, journal.deltas.map((d) => decodeMessage(d.bytes, Infinity))]) : ''
    const held = ({ key, value, id }: Change) =>
      (id ? queued.has(id) : written.includes(JSON.stringify(key))) || live().some((p) => p.kv.store()[key] === value)
    for (let i = changes.length - 1; i >= 0; i--) {
      const change = changes[i]!
      if (change.peer !== peer || held(change)) continue
      log(`${crash ? 'crash' : 'reload'} of ${peer.name} may lose ${change.key}`)
      changes.splice(i, 1)
    }
  }
  /** One attempt at resuming `reloaded`, through an invite of the host or of a guest; true when it is back (or has nothing to resume). */
  const resume = async (peer: TestPeer, reloaded: TestPeer): Promise<boolean> => {
    const guest = x.pick(live().filter((p) => !isHostile(p) && p.controller.getRole() === 'guest' && p.controller.getState() === 'connected'))
    const host = guest && extra.next() < 0.5 ? guest : hostOf()
    if (!host) {
      log(`no host to resume ${reloaded.name} with`)
      return false
    }
    try {
      const invite = await host.controller.createInvite()
      const resumed = await reloaded.controller.resume(invite.url)
      if (!resumed?.join) {
        log(`nothing to resume for ${reloaded.name}`)
        return true
      }
      log(`resume ${reloaded.name} (was ${peer.name}) at #${resumed.seq} via ${host.name}`)
      // A join like any other: its links form after it, and a host lost meanwhile is no calm loss (seed 2524125).
      lastJoinAt = s.clock.now()
      const accepted = host.controller.acceptAnswer(resumed.join.answerCode).catch((error: Error) => log(`accept failed: ${error.message}`))
      await s.settle(50)
      await accepted
      await s.settle(50)
    } catch (error) {
      log(`resume failed: ${(error as Error).message}`)
      diskFaults?.resumeFailed(reloaded.name, error)
    }
    return reloaded.controller.isActive()
  }
  const live = () => s.peers.filter((p) => !crashed.has(p) && !frozen.has(p) && p.controller.isActive())
  const hostOf = () => pick(live().filter((p) => p.controller.getRole() === 'host'))

  /** User ids a host removed: none of them may be in anyone's session again. */
  const kicked = new Set<string>()
  /** Sessions that ended though nothing stopped the survivors from going on. */
  const stranded: string[] = []
  let linkFaults = 0
  let lastCrashAt = -Infinity
  let lastJoinAt = -Infinity
  /** The host removes one of its guests, and half the time is lost itself soon after. */
  const kick = async () => {
    // Kicks come once the last guest's links had time to form, so that a host loss after one tests the election.
    const forming = lastJoinAt + SIM_TIMERS.linkTimeoutMs + 500 - s.clock.now()
    if (forming > 0) await s.settle(forming)
    const host = x.pick(live().filter((p) => p.controller.getRole() === 'host'))
    const guest = host && x.pick(host.controller.getPeers().filter((p) => p.role === 'guest').map((p) => s.peers.find((q) => q.controller.getSelf().id === p.id && q.controller.isActive())).filter((q) => q !== undefined))
    if (!host || !guest) return
    // Under a partition or link faults the removal may not reach everyone (a host cut off may
    // already be replaced): it must hold only when the whole session heard of it. Nor does it after
    // a heal while a host replaced during the cut still hosts (until it steps down or ends): the
    // guest follows the host elected without it, whose session that is (seed 1156476).
    const session = host.controller.sessionId
    const otherHost = s.peers.some((p) => p !== host && !crashed.has(p) && p.controller.isActive() && p.controller.sessionId === session && p.controller.getRole() === 'host')
    const itsHost = guest.controller.getPeers().find((p) => p.role === 'host')?.id
    const elsewhere = otherHost || (itsHost !== undefined && itsHost !== host.controller.getSelf().id)
    const heard = quietAt <= s.clock.now() && linkFaults === 0 && !elsewhere
    log(`${host.name} removes ${guest.name}${heard ? '' : elsewhere ? ' (replaced: another host leads)' : ' (under faults)'}`)
    if (heard) kicked.add(guest.controller.getSelf().id)
    departed.add(guest)
    host.controller.kick(guest.controller.getSelf().id)
    if (extra.next() < 0.5) return
    await s.settle(x.between(50, 2_000))
    if (!host.controller.isActive() || host.controller.getRole() !== 'host') return
    const crash = extra.next() < 0.5
    log(`lose host ${host.name} (${crash ? 'crash' : 'goodbye'}) after removing ${guest.name}`)
    // With no other fault under way, the guests left are most of the session: they must elect.
    // Links still forming when the host goes may leave survivors unable to reach a majority: that is allowed.
    const now = s.clock.now()
    // A page still joining (held up by a freeze, a slow provider) has its links still to form, however long ago it was admitted.
    const joining = live().some((p) => p.controller.getState() === 'joining')
    // A page whose goodbye the host never heard (it left across a partition) is listed still: a voter that
    // cannot vote, as a crashed page is (seed 1771728).
    const members = new Set(s.peers.filter((p) => !crashed.has(p) && p.controller.isActive() && p.controller.sessionId === session).map((p) => p.controller.getSelf().id))
    const listsGone = host.controller.getPeers().some((p) => !members.has(p.id))
    // After a freeze or a partition, links are formed again as after a join (a thawed page may still be
    // working through its backlog: seed 1752033).
    const calm = !hostiles.length && !joining && !listsGone && quietAt + SIM_TIMERS.linkTimeoutMs < now && linkFaults === 0 && now - lastCrashAt > 2 * HARD && now - lastJoinAt > SIM_TIMERS.linkTimeoutMs
    const survivors = live().filter((p) => p !== host && !isHostile(p) && p.controller.sessionId === session && p.controller.getState() === 'connected')
    if (crash) {
      s.net.crash(host.name)
      crashed.add(host)
    } else {
      departed.add(host)
      host.controller.goodbye()
    }
    // Another host of this session (a cut-off old host not merged back yet) is a split still under way: its side
    // was in no electorate of this host's, and the survivors on this side may be too few to elect (seed 745766).
    if (!calm || survivors.length < 2 || survivors.some((p) => p.controller.getRole() === 'host')) return
    await s.settle(HARD + 4 * SIM_TIMERS.electionTimeoutMs)
    // The survivors go on under a host of this session: one of them, or one of a side that lost this host while
    // cut off and was still electing when the cut healed (it may win; the survivors follow it: seed 1124428).
    const hosts = new Set(live().filter((p) => p.controller.sessionId === session && p.controller.getRole() === 'host').map((p) => p.controller.getSelf().id))
    const hosting = survivors.some((p) => p.controller.isActive() && p.controller.sessionId === session && hosts.has(p.controller.getRole() === 'host' ? p.controller.getSelf().id : p.controller.getPeers().find((x) => x.role === 'host')?.id ?? ''))
    if (!hosting) stranded.push(`${survivors.map((p) => p.name).join(', ')} found no new host after ${host.name} removed ${guest.name} and was lost, with no other fault under way`)
  }
  /** A removed user opens a new page and asks whoever hosts now to let it back in. */
  const comeBack = async () => {
    const user = x.pick([...kicked])
    const was = user && s.peers.find((p) => p.controller.getSelf().id === user)
    const host = hostOf()
    if (!was || !host) return
    const page = newPeer(was)
    departed.add(page)
    log(`removed ${page.name} (was ${was.name}) asks ${host.name} to come back`)
    try {
      const invite = await host.controller.createInvite()
      const { answerCode } = await page.controller.join(invite.url)
      const accepted = host.controller.acceptAnswer(answerCode).catch((error: Error) => log(`accept failed: ${error.message}`))
      await s.settle(50)
      await accepted
    } catch (error) {
      log(`come back failed: ${(error as Error).message}`)
    }
  }

  /** Stops `peer`'s clock and event loop for `ms`; then what came due meanwhile runs at once. */
  const freeze = (peer: TestPeer, ms: number, what = 'freeze') => {
    log(`${what} ${peer.name} for ${ms}`)
    s.net.freeze(peer.name)
    frozen.add(peer)
    quietAt = Math.max(quietAt, s.clock.now() + ms)
    s.clock.setTimeout(() => {
      s.net.resume(peer.name)
      frozen.delete(peer)
      log(`thaw ${peer.name}`)
    }, ms)
  }
  /** A guest busy past the hard timeout: the others drop it meanwhile. */
  const stall = (peer: TestPeer) => freeze(peer, extra.next() < 0.25 ? 2.5 * HARD : HARD + x.between(1_000, 3_000), 'stall')

  /** The host goes (page closed or crashed) right after admitting `guest`, while its links still form. */
  const loseHostWhileForming = async (host: TestPeer, guest: TestPeer, accepted: Promise<unknown>) => {
    let done = false
    void accepted.then(() => (done = true))
    for (let i = 0; !done && i < 100; i++) await s.settle(1)
    const ms = extra.next() < 0.6 ? x.between(0, 40) : x.between(0, 300)
    await s.settle(ms)
    if (crashed.has(host) || !host.controller.isActive()) return
    const crash = extra.next() < 0.5
    log(`lose host ${host.name} (${crash ? 'crash' : 'goodbye'}) ${ms} ms after admitting ${guest.name}`)
    if (crash) {
      s.net.crash(host.name)
      crashed.add(host)
      lastCrashAt = s.clock.now()
    } else {
      departed.add(host)
      host.controller.goodbye()
    }
  }

  /** `loseHost`: in formingLoss seeds, lose the host right after this admission (always, or half the time). */
  const join = async (host: TestPeer, loseHost: 'never' | 'maybe' | 'always' = 'never') => {
    const guest = newPeer()
    lastJoinAt = s.clock.now()
    log(`join ${guest.name} via ${host.name}`)
    try {
      const invite = await host.controller.createInvite()
      const { answerCode } = await guest.controller.join(invite.url)
      inviteOf.set(guest, invite.inviteId)
      const others = host.controller.getPeers().length - 1
      const accepted = host.controller.acceptAnswer(answerCode).catch((error: Error) => log(`accept failed: ${error.message}`))
      if (modes.formingLoss && others > 0 && (loseHost === 'always' || (loseHost === 'maybe' && extra.next() < 0.5))) {
        return await loseHostWhileForming(host, guest, accepted)
      }
      await s.settle(50)
      await accepted
    } catch (error) {
      log(`join failed: ${(error as Error).message}`)
    }
  }

  /**
   * The network splits the pages into two sides, each of two or more (one page cut off is
   * `isolate`): the side without a majority may not go on as a session of its own, and
   * nothing either side changed may be lost when the sides meet again.
   */
  const split = () => {
    const names = s.peers.filter((p) => !crashed.has(p)).map((p) => p.name)
    if (names.length < 4) return
    for (let i = names.length - 1; i > 0; i--) {
      const j = Math.floor(splits.next() * (i + 1))
      ;[names[i], names[j]] = [names[j]!, names[i]!]
    }
    const cut = 2 + Math.floor(splits.next() * (names.length - 3))
    const [a, b] = [names.slice(0, cut), names.slice(cut)]
    const ms = 1_000 + Math.floor(splits.next() * 2 * HARD)
    log(`split ${a.join(',')} | ${b.join(',')} for ${ms}`)
    const others = s.peers.filter((p) => !names.includes(p.name)).map((p) => p.name)
    s.net.partition(a, [...b, ...others])
    s.net.partition(b, others)
    const minority = a.length * 2 <= names.length ? a : b
    for (const p of s.peers) if (minority.includes(p.name)) isolatedUntil.set(p, s.clock.now() + ms)
    quietAt = Math.max(quietAt, s.clock.now() + ms)
    s.clock.setTimeout(() => {
      s.net.heal()
      log('heal')
    }, ms)
  }

  /**
   * A page's messages stop reaching one peer, or all of them, for a while, while theirs still
   * reach it: it hears everyone, and they stop hearing it (or the reverse, seen from them). A
   * page that stops hearing its host must not make a second one, nor may a host that is no
   * longer heard admit anyone the others never learn of.
   */
  const oneWay = () => {
    const hosts = live().filter((p) => p.controller.getRole() === 'host')
    const pages = oneWays.next() < 0.5 && hosts.length ? hosts : live()
    const from = pages[Math.floor(oneWays.next() * pages.length)]
    if (!from) return
    const others = s.peers.filter((p) => p !== from).map((p) => p.name)
    const to = oneWays.next() < 0.5 ? others : [others[Math.floor(oneWays.next() * others.length)]!].filter(Boolean)
    if (!to.length) return
    const ms = 1_000 + Math.floor(oneWays.next() * 2 * HARD)
    log(`one-way ${from.name}>${to.join(',')} blocked for ${ms}`)
    for (const name of to) s.net.block(from.name, name)
    linkFaults++
    quietAt = Math.max(quietAt, s.clock.now() + ms)
    s.clock.setTimeout(() => {
      for (const name of to) s.net.unblock(from.name, name)
      linkFaults--
      log(`one-way ${from.name} heard again`)
    }, ms)
  }

  /** Two to four new pages join at once, each through the host or a connected guest; none waits for another's admission. */
  const crowd = async () => {
    const inviters = live().filter((p) => !isHostile(p) && (p.controller.getRole() === 'host' || p.controller.getState() === 'connected'))
    const count = 2 + Math.floor(crowds.next() * 3)
    if (!inviters.length || s.peers.length + count > maxPeers + 4) return
    lastJoinAt = s.clock.now()
    let done = 0
    for (let i = 0; i < count; i++) {
      const via = inviters[Math.floor(crowds.next() * inviters.length)]!
      const guest = newPeer()
      log(`join ${guest.name} via ${via.name} (one of ${count} at once)`)
      void (async () => {
        const invite = await via.controller.createInvite()
        const { answerCode } = await guest.controller.join(invite.url)
        inviteOf.set(guest, invite.inviteId)
        await via.controller.acceptAnswer(answerCode)
      })()
        .catch((error: Error) => log(`join of ${guest.name} failed: ${error.message}`))
        .finally(() => done++)
    }
    for (let i = 0; done < count && i < 200; i++) await s.settle(25)
  }

  const first = newPeer()
  await first.controller.start()
  for (let i = 1, n = between(1, maxPeers - 1); i <= n; i++) await join(first)
  if (modes.hostile !== null) {
    const guests = s.peers.slice(1).filter((p) => p.controller.isActive())
    const peer = guests[Math.floor(modes.hostile * guests.length)]
    if (peer) {
      log(`${peer.name} turns hostile`)
      hostile = new HostileGuest(s, peer, seededRandom(seed ^ 0x0bad0bad), inviteOf.get(peer) ?? 'unknown', log, seededRandom(seed ^ 0x1a7e1a7e))
      hostiles.push(hostile)
      hostile.start()
    }
  }
  if (modes.collude) {
    // The pair's draws come from generators of their own: seeds without the mode run as before it existed.
    const pairing = seededRandom(seed ^ 0xc011ade5)
    const guests = s.peers.slice(1).filter((p) => p.controller.isActive() && !isHostile(p))
    const pair = [...hostiles]
    for (let salt = 1; pair.length < 2 && guests.length; salt++) {
      const [peer] = guests.splice(Math.floor(pairing.next() * guests.length), 1)
      log(`${peer!.name} turns hostile (colluding)`)
      const guest = new HostileGuest(s, peer!, seededRandom((seed * 31 + salt) ^ 0xc011bad), inviteOf.get(peer!) ?? 'unknown', log)
      hostiles.push(guest)
      pair.push(guest)
      guest.start()
    }
    if (pair.length === 2) {
      colluders = new Colluders(s, [pair[0]!, pair[1]!], pairing, log, crashed, faulty)
      colluders.start()
    }
  }
  // Each mode happens at least once, at a step of its own.
  const stallStep = modes.stall ? x.between(0, steps - 1) : -1
  const formingStep = modes.formingLoss ? x.between(0, steps - 1) : -1
  const reloadStep = modes.reload ? x.between(0, steps - 1) : -1
  const kickStep = modes.kick ? x.between(0, Math.floor(steps / 2)) : -1
  const splitStep = modes.split ? Math.floor(splits.next() * steps) : -1
  const crowdStep = modes.crowd ? Math.floor(crowds.next() * steps) : -1
  const oneWayStep = modes.oneWay ? Math.floor(oneWays.next() * steps) : -1
  const diskStep = diskFaults ? diskFaults.between(0, steps - 1) : -1

  for (let step = 0; step < steps; step++) {
    if (step === stallStep) {
      const guest = x.pick(live().filter((p) => p.controller.getRole() === 'guest'))
      if (guest) stall(guest)
    }
    if (step === formingStep) {
      const host = x.pick(live().filter((p) => p.controller.getRole() === 'host'))
      if (host) await join(host, 'always')
    }
    if (step === kickStep) await kick()
    if (step === splitStep || (modes.split && splits.next() < 0.08)) split()
    if (step === crowdStep || (modes.crowd && crowds.next() < 0.05)) await crowd()
    if (step === oneWayStep || (modes.oneWay && oneWays.next() < 0.05)) oneWay()
    if (diskFaults && (step === diskStep || diskFaults.chance(0.1))) {
      const page = diskFaults.pick(live())
      if (page) diskFaults.strike(disks.get(page.controller.getSelf().id)!, page.controller.getSelf().id, 2 * HARD)
    }
    if (kicked.size > 0 && step > kickStep && extra.next() < 0.2) await comeBack()
    if (step === reloadStep || (modes.reload && extra.next() < 0.15)) {
      const page = x.pick(live().filter((p) => !isHostile(p)))
      if (page) await reload(page)
    }
    const roll = rng.next()
    const peer = pick(live())
    if (roll < 0.4 && peer) {
      const key = `${peer.name}:${step}`
      const id = peer.kv.set(key, step)
      changes.push({ peer, key, value: step, id })
      const extra = faulty.get(peer)
      if (extra) {
        extra.flaky.set(key, step)
        extra.slow.set(key, step)
        extra.tally.bump(key)
      }
    } else if (roll < 0.52 && peer) {
      peer.cursor.set('pos', `${peer.name}:${step}`)
    } else if (roll < 0.62) {
      const host = hostOf()
      if (host && s.peers.length < maxPeers + 2) await join(host, 'maybe')
    } else if (roll < 0.73 && peer && isHostile(peer)) {
      // A hostile guest neither leaves nor crashes (the session may still throw it out): it is the adversary.
    } else if (roll < 0.67 && peer) {
      log(`leave ${peer.name}`)
      departed.add(peer)
      if (rng.next() < 0.5) await peer.controller.leave()
      else peer.controller.goodbye()
    } else if (roll < 0.73 && peer) {
      log(`crash ${peer.name}`)
      s.net.crash(peer.name)
      crashed.add(peer)
      lastCrashAt = s.clock.now()
    } else if (roll < 0.8 && peer) {
      const ms = between(1_000, 2 * HARD)
      const guest = modes.stall && (peer.controller.getRole() === 'guest' ? peer : x.pick(live().filter((p) => p.controller.getRole() === 'guest')))
      if (guest) stall(guest)
      else freeze(peer, ms)
    } else if (roll < 0.86 && peer) {
      const ms = between(1_000, 2 * HARD)
      const others = s.peers.filter((p) => p !== peer).map((p) => p.name)
      log(`isolate ${peer.name} for ${ms}`)
      s.net.partition([peer.name], others)
      isolatedUntil.set(peer, s.clock.now() + ms)
      quietAt = Math.max(quietAt, s.clock.now() + ms)
      s.clock.setTimeout(() => {
        s.net.heal()
        log('heal')
      }, ms)
    } else if (roll < 0.92 && peer) {
      const other = pick(live().filter((p) => p !== peer))
      if (other) {
        log(`cut ${peer.name}-${other.name}`)
        linkFaults++
        s.net.cut(peer.name, other.name)
      }
    } else if (peer) {
      const other = pick(s.peers.filter((p) => p !== peer))
      if (other) {
        const delay = between(10, 2_000)
        log(`delay ${peer.name}>${other.name} ${delay}`)
        linkFaults++
        // A delay on a direction that a one-way cut or a partition blocks keeps the block: replaced, it let
        // later messages overtake those it held, out of a reliable channel's order (seed 1542830).
        s.net.slow(peer.name, other.name, delay)
      }
    }
    await s.settle(between(0, 1_500))
  }
  // Every fault ends (the hostile guest's too); then the session must settle within the recovery bound.
  await s.settle(Math.max(2 * HARD, quietAt - s.clock.now()))
  for (const h of hostiles) h.stop()
  colluders?.stop()
  s.net.heal()
  for (const a of s.peers) for (const b of s.peers) s.net.setFault(a.name, b.name, undefined)
  log('all faults healed')
  await s.settle(RECOVERY_BOUND_MS)
  const failures = [...check(s, { crashed, changes, hostiles: new Set(hostiles.map((h) => h.peer)), colluders, misled, faulty, kicked }), ...stranded, ...(diskFaults ? [...diskFaults.unreported(s.peers), ...(await diskFaults.stopped(live(), (ms) => s.settle(ms)))] : [])]
  return { seed, modes, failures, trace: s.trace, peers: s.peers.length }
}
