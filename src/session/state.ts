/**
 * The state every part of the core shares: `Core`, one per controller (services, the
 * provider registry, this user), and `Session`, one per session, made at start or join
 * and dropped at its end — so nothing of a finished session can leak into the next, and
 * a callback that outlives its session sees that it did (`core.session !== session`).
 */
import type { ProviderRegistry } from '../providers/registry.js'
import type { RelayClient } from '../relay/index.js'
import type { Clock, TimerHandle } from '../runtime/clock.js'
import type { Random } from '../runtime/random.js'
import type { Link, LinkMessage, LinkStats, PendingAnswer, PendingOffer, Transport } from '../transport/transport.js'
import type { PeerRole, SessionAccess, SessionEvents, SessionViewer } from '../types.js'
import { MAX_LEFT, type MessageOf, type PeerInfo } from '../wire/messages.js'
import type { Backlog } from './backlog.js'
import type { CoreEvents } from './events.js'
import type { LinkFacts } from './gate.js'
import type { Lifecycle } from './lifecycle.js'
import { BoundedMap, ENTRY_OVERHEAD, LruMap, LruSet, PerPeer, weighString } from './bounded.js'
import { budgetsOf, type HeartbeatOptions, type SessionLimits, type SessionSyncOptions, type SessionTimers } from './options.js'
import { Outbox } from './outbox.js'
import type { Lineage } from './lineage.js'
import type { Parts } from './parts.js'
import { ReplayLog } from './replay-log.js'

/** A guest's resume token as the session keeps it: its hash, and the guest's access. */
export interface ResumeKey {
  hash: string
  access: SessionAccess
}

/** Resume-token hashes kept per session: as many as a roster may list. */
const MAX_RESUME_KEYS = 256

/** Host: a stretch in which a peer was out of our roster, its link kept (`to`: when it was taken back; none while still out). */
export interface RosterGap {
  from: number
  to?: number
  /** Stretches merged past the cap (`keepRosterGaps`): out of the roster at some times in it, which are not known. */
  merged?: boolean
  /** Left out of the roster as our epoch began (`Liveness.outOfNewRoster`): no guest that follows us ever saw it listed. */
  epochStart?: true
}

/** One link to another peer, before and after we know who is on the other end. */
export interface Conn {
  link: Link
  peerId: string | null
  /** Host side: the invite this link was opened for; JOIN must name it. */
  inviteId?: string
  /** Host side: what the invite lets its guest do. */
  access?: SessionAccess
  /** A link to a host that went silent: kept open so a thawed old host can be fenced and taken back. */
  fenced?: boolean
  /** Clock time of the last message from this link. */
  lastHeard: number
  stale: boolean
  rtt?: number
  /** The link's statistics as of the last heartbeat. */
  stats?: LinkStats
  /** Host: greeted (taken back, or a survivor of the election we won) but not acting as our guest yet; one taken back is not in the roster till then. */
  probation?: boolean
  /** Host: when it last began to act as our guest after our hello (`Takeover.readmit`): it holds our epoch's roster since. */
  followedAt?: number
  /** Host: when the peer joined through us; none for a member since before we hosted (taking it back keeps this). */
  admittedAt?: number
  /** The link's JOIN has come (one per link). */
  joined?: boolean
  /** Guest: the peer that joined through our invite, to come back through us. */
  knocker?: string
  /** Host: the link opened for a peer that proved it is coming back (its knock's token): its join needs no other proof. */
  vouched?: string
  /** Host: since when this peer has been silent, or following another host. */
  awaySince?: number
  /** Host: each stretch it was out of our roster, from when we dropped it (its link kept, fenced) until taken back, oldest first (`keepRosterGaps`). */
  outOfRoster?: RosterGap[]
  /** When we sent the latest of our pings it answered (a peer that lost us holds our link fenced: it answers none). */
  answered?: number
  /** When its latest answer to our pings came (until one has: when the link opened; after our own stall: then). */
  answeredAt: number
  /** Guest: when we last told this (old host's) link whom we follow now. */
  toldMovedOn?: number
  /** Host: requests served in the current budget window, by kind. */
  served?: Map<string, { since: number; count: number }>
  /** Host: a snapshot is being sent to this link, or owed to it in the next window. */
  snapshotOwed?: boolean
  /** Host: providers this link's guest may ask to resync (we refused or failed on its change to them). */
  owed?: Set<string>
  /** Host: a resync over budget waits for the next window; this timer serves it then. */
  resyncLater?: TimerHandle
  /** Host: the providers whose resync waits for that timer. */
  resyncAsked?: Set<string>
  /** What the gate reads about this link (made on its first message). */
  facts?: LinkFacts
}

export interface PendingInvite {
  pending: PendingOffer
  access: SessionAccess
  expiresAt: number
  used: boolean
  timer: TimerHandle
}

export interface ApplyContext {
  /** Host applying a guest's intent: emitted deltas become the authoritative result. */
  capture?: Array<{ p: string; d: Record<string, unknown> }>
}

export interface Election {
  epoch: number
  lostHost: string | null
  /** The link to the lost host, when it closed: what it said before, still queued here, may still count (Router). */
  lostLink: Conn | null
  /** The peers whose backing counts, and how many a winner needs. */
  quorum: { members: Set<string>; needed: number }
  /** Survivor id → the last host sequence number it applied (its candidacy). */
  votes: Map<string, number>
  /** Survivor id → the members it said it holds links to (its candidacy). */
  linked: Map<string, readonly string[]>
  /** Survivors that backed us as the winner. */
  backers: Set<string>
  /** Peers that still hear the host: only our own link to it failed. */
  alive: Set<string>
  timer: TimerHandle
  /** The winner we back (ourselves, when we stand); once chosen, never changed. */
  backed?: string
}

export interface Negotiation {
  cancel: () => void
  offer?: PendingOffer
  timer: TimerHandle
}

export interface Change {
  p: string
  d: Record<string, unknown>
}

/** One session, from start or join to its end. */
export class Session {
  role: PeerRole
  epoch = 0
  hostId: string | null = null
  rank: string[] = []
  /** The failover succession as the host last published it (guests trim `rank` locally; this they do not). */
  succession: string[] = []
  /**
   * When each peer was last in a published roster. A peer dropped lately still counts in an
   * election: a guest that missed the roster taking it back must not win with a smaller majority.
   * Cleared on following a new epoch's host: an earlier host's listings do not make voters of this epoch.
   */
  readonly rosterSeen = new Map<string, number>()
  /**
   * User ids removed from this session (by us as host, or as our hosts' rosters said): they may
   * not join it again. This session's only: a user removed from one is welcome in the next.
   */
  readonly removed = new LruSet<string>(1024)
  /** Access of each peer in the published roster: viewers are never eligible to host. */
  successionAccess = new Map<string, SessionAccess>()
  peers = new Map<string, PeerInfo>()
  readonly conns = new Set<Conn>()
  hostConn: Conn | null = null
  readonly invites = new Map<string, PendingInvite>()
  /** Host: whether guests link to each other. Guest: what the host said. */
  mesh = true
  /** Host: each guest's reported direct links, to forward view deltas only where needed. */
  reported = new Map<string, Set<string>>()
  /** Host: pairs asked to link, `older|newer`: when last, and how many times. */
  requested = new Map<string, { at: number; tries: number }>()
  /** Guest: peer-assisted links being negotiated, by peer id. */
  readonly negotiating = new Map<string, Negotiation>()
  election: Election | null = null
  /** Guest: the successor our host handed over to. */
  handedTo: { hostId: string; epoch: number } | null = null
  /** Host claims we could not follow yet, by claimer: its hello waits for the word that makes it ours. */
  readonly claims = new Map<string, { conn: Conn; hello: MessageOf<'hello'> }>()
  /** Guest: whom each survivor, on its own link, said it backs in this epoch's election; its first word counts. */
  readonly backings = new Map<string, { epoch: number; for: string }>()
  /** The epochs of the history we hold: our host's (its hello says), or as host, those we followed and ours. */
  lineage: Lineage = []
  /**
   * Guest: the lineage of the host whose snapshot we wait for (`rebootstrapping` after a takeover):
   * ours once that snapshot replaces our state. Until then we hold our own history (seed 1144124).
   */
  nextLineage: Lineage | null = null
  /** A stall we noticed (on a message, say) that no heartbeat has passed since: the next one judges nobody. */
  stallUnjudged = false
  /** Host: since when it cannot hear enough of its session to keep a majority. */
  isolatedSince: number | null = null
  /** Host: joiners that came while `isolatedSince` was set, waiting to learn whether this session goes on. */
  readonly parkedJoins: Array<{ conn: Conn; user: PeerInfo; admit: () => void }> = []
  /** Host: peers whose link closed or timed out without a goodbye, and since when they were away (kept for four hard timeouts). */
  readonly departed = new Map<string, { admittedAt: number; since: number; at: number; outOfRoster?: RosterGap[] }>()
  /**
   * Host: who said goodbye to us lately (a roster drop alone does not say so). Our rosters list
   * them, so guests their goodbye missed stop counting them in an election; dropped again on readmission.
   */
  readonly left = new LruSet<string>(MAX_LEFT)
  /** Host: who told us they follow another host (`hostId@epoch`): a majority makes that host real. */
  readonly movedOn = new Map<string, Set<string>>()
  /**
   * Per guest, the hash of its resume token and what it may do: issued by the host, replicated
   * in the roster so a successor can check it too (and give a peer coming back through a guest
   * its own access, not a default). Only hashes: knowing them lets no one resume as another.
   */
  readonly resumeKeys = new LruMap<string, ResumeKey>(MAX_RESUME_KEYS)
  /** Guest: the resume token our host gave us at admission (journaled with our identity). */
  resumeToken: string | null = null
  /** Guest: links of peers coming back through us, by user id, until their host's door is passed on. */
  readonly knocks = new Map<string, Conn>()
  /** Resumer coming back through a guest: our offer of a link to its host. */
  doorOffer: PendingOffer | null = null
  /** The digest (and the sequence number it describes) this host announced when it took over. */
  lastDigest: { digest: string; seq: number } | undefined
  /**
   * Follower: the new host's digest, to compare once we reach its sequence number; `held`, the
   * lineage of our history should it differ (ours up to where we began to follow, the host's after).
   */
  digestCheck: { digest: string; seq: number; held: Lineage } | null = null
  /** When the last heartbeat ran; null before the first (a clock may start at 0, as the simulator's does). */
  lastBeat: number | null = null
  joinTimer: TimerHandle | null = null
  /** Guest: until the host connects, when to say it has not picked up our answer. */
  pickupTimer: TimerHandle | null = null
  /** Guest: the link to the host in the making; cancelled (freed) when the session ends. */
  pendingJoin: PendingAnswer | null = null
  heartbeatTimer: TimerHandle | null = null
  seq = 0
  bootstrapped = false
  /** A guest waiting for a fresh snapshot after a takeover found its state diverged. */
  rebootstrapping = false
  /** Guest: deltas that came before the bootstrap (or while it is taken again), within the reorder budget. */
  readonly earlyDeltas: BoundedMap<number, MessageOf<'delta'>>
  /** Guest: the sequence number of the last whole snapshot applied (older per-provider resets are stale). */
  snapshotSeq = 0
  /** Guest: providers whose state we asked the host for again, and on which link. */
  readonly resyncing = new Map<string, Conn>()
  /**
   * Guest: per (provider, viewer), the host sequence number a reset's state reflects: a delta
   * up to it is already in that state, so that provider skips it (the others do not).
   */
  readonly resetAt = new Map<string, number>()
  /**
   * Guest: per (provider, viewer) a whole snapshot left out (the host's `snapshot()` failed),
   * the intent ids its state held then, which `seen` may no longer list: it skips their deltas.
   */
  readonly heldOut = new Map<string, LruSet<string>>()
  /** Guest: deltas ahead of a gap, with their size as received. */
  readonly reorder: BoundedMap<number, MessageOf<'delta'>>
  resendRequested = -1
  viewCounter = 0
  /** Handlers waiting their turn (Links.serial): from `nextTask` on; one at a time, in arrival order, across async provider calls. */
  readonly tasks: Array<() => void | Promise<void>> = []
  nextTask = 0
  /** Whether a handler runs or waits; how many wait or run (see Backlog), and since when they have run without a break (see Links.breathe). */
  draining = false
  queued = 0
  busySince = 0
  /** Intent ids applied (dedupe), and the last view counter per (origin, provider, viewer). */
  readonly seen: LruSet<string>
  /**
   * Host: intents refused or failed, by `origin|id`, with the reason: one sent again gets the
   * same answer without the provider seeing it twice. Apart from `seen`, so a flood of
   * refused intents cannot push accepted ids out; keyed by origin, so no one can pre-empt another's id.
   */
  readonly declined: PerPeer<string>
  /**
   * Host: intents our own provider threw on (declined as `provider-error`). Not in `seen`, yet
   * that provider may hold them part-way: should we follow another host, its delta must not
   * apply them again to a state no snapshot replaced.
   */
  readonly failedHere: LruSet<string>
  /** Per origin: the last view counter per (provider, viewer). */
  readonly viewState: PerPeer<number>
  readonly outbox: Outbox
  readonly replay: ReplayLog
  /**
   * Our own changes in the history, by intent id, as the delta that carried them: kept past
   * a snapshot (which clears the replay log), so that after a failover we can hand over
   * those the new host lacks, however we came to hold them.
   */
  readonly ownChanges: BoundedMap<string, LinkMessage>

  constructor(
    public sessionId: string,
    role: PeerRole,
    limits: SessionLimits,
    /** A received delta's size as it came (see Core.received). */
    sizeOf: (delta: MessageOf<'delta'>) => number,
    /** Whether the queue of handlers is behind (`session-catching-up`). */
    readonly backlog: Backlog,
  ) {
    this.role = role
    const budget = budgetsOf(limits)
    this.seen = new LruSet(budget.dedupe)
    this.failedHere = new LruSet(budget.dedupe)
    this.declined = new PerPeer(budget.declined, weighString)
    this.viewState = new PerPeer(budget.viewState)
    this.outbox = new Outbox(budget.outbox)
    this.replay = new ReplayLog(budget.replayLog)
    this.ownChanges = new BoundedMap(budget.replayLog, (_id, encoded) => ENTRY_OVERHEAD + (typeof encoded === 'string' ? 2 * encoded.length : encoded.byteLength), false)
    const weighDelta = (_seq: number, delta: MessageOf<'delta'>) => ENTRY_OVERHEAD + sizeOf(delta)
    this.reorder = new BoundedMap(budget.reorderBuffer, weighDelta, false)
    this.earlyDeltas = new BoundedMap(budget.earlyDeltas, weighDelta, false)
  }

  /** Host: `conn`'s guest is gone without a goodbye we heard, away since `since`: it still counts among those who could elect without us. */
  depart(conn: Conn, since: number, now: number): void {
    if (conn.peerId) this.departed.set(conn.peerId, { admittedAt: conn.admittedAt ?? 0, since, at: now, ...(conn.outOfRoster ? { outOfRoster: conn.outOfRoster } : {}) })
  }

  /** Host: the peers that told us they follow another host, or claimed to be one. */
  followingAnother(): Set<string> {
    const ids = new Set([...this.movedOn.values()].flatMap((followers) => [...followers]))
    for (const claimer of this.claims.keys()) ids.add(claimer)
    return ids
  }

  connOf(peerId: string): Conn | undefined {
    for (const conn of this.conns) if (conn.peerId === peerId) return conn
    return undefined
  }
}

/** What every part of one controller shares. */
export interface Core<V extends SessionViewer = SessionViewer> {
  readonly transport: Transport
  readonly clock: Clock
  readonly random: Random
  readonly options: SessionSyncOptions
  readonly limits: SessionLimits
  readonly heartbeat: HeartbeatOptions
  readonly timers: SessionTimers
  readonly registry: ProviderRegistry
  readonly relay: RelayClient | undefined
  readonly viewers: Map<string, V>
  readonly lifecycle: Lifecycle
  /** Names of peers that were in the session, to welcome one back by name. */
  readonly formerNames: LruMap<string, string>
  readonly usedInvites: LruSet<string>
  /** The bytes (or text) each delta waiting in a buffer came in (weakly held: gone with the message). */
  readonly received: WeakMap<object, LinkMessage>
  self: PeerInfo
  /** The session going on, if any. */
  session: Session | null
  /** The last one, once over: callbacks that outlive it act on it, harmlessly, and see it is not current. */
  ended: Session | null
  readonly parts: Parts<V>
  emit<K extends keyof CoreEvents>(type: K, payload: CoreEvents[K]): void
  diagnostic(code: string, message: string, extra?: Partial<SessionEvents['session-diagnostic']>): void
  setRole(role: PeerRole | null): void
  /** Ends the session here and returns to idle. Idempotent per session. */
  finish(reason: string): void
  isActive(): boolean
  getSelf(): PeerInfo
}

/** A part of the core: reaches the shared state, and the other parts, through `core`. */
export abstract class Part<V extends SessionViewer = SessionViewer> {
  constructor(protected readonly core: Core<V>) {}

  /** The current session (or, for a callback that outlived it, the one that just ended). */
  protected get s(): Session {
    return (this.core.session ?? this.core.ended)!
  }

  protected get parts(): Parts<V> {
    return this.core.parts
  }

  /** Whether `session` is still the one going on (a callback may outlive it). */
  protected current(session: Session): boolean {
    return this.core.session === session
  }
}
