/**
 * Everything a controller can be told, and every default: limits in counts and bytes,
 * heartbeat timers, and the other timers and sizes of the protocol, in one place.
 */
import type { RelayClient } from '../relay/index.js'
import type { Journal, TabStorage } from '../journal/store.js'
import type { Clock } from '../runtime/clock.js'
import type { Random } from '../runtime/random.js'
import type { Transport } from '../transport/transport.js'
import type { AppEventBus } from './events.js'
import type { BacklogBounds } from './backlog.js'
import type { SessionAccess, SessionIntent } from '../types.js'
import type { PeerInfo } from '../wire/messages.js'

/**
 * Every cache and buffer a peer keeps has a budget in entries and in bytes (as encoded); at
 * the budget it evicts its oldest entries, or, where an entry must never be lost (a user's
 * unconfirmed change), refuses new ones with a diagnostic. `getStats()` reports each.
 */
export interface SessionLimits {
  /** Largest wire message accepted (a bootstrap snapshot is one message). */
  maxMessageBytes: number
  /**
   * Largest single change, encoded: what a provider emits here (larger: `PayloadLimitError`)
   * and what a guest sends (an intent, a view delta, a handed-over change).
   */
  maxDeltaBytes: number
  /** Intent ids remembered for dedupe (LRU). */
  dedupeSize: number
  /** Unconfirmed intents a guest may hold. */
  outboxSize: number
  /** Their bytes; beyond either, a new change is refused (`outbox-full`), never an old one dropped. */
  outboxBytes: number
  /** Authoritative deltas every peer keeps for peers that missed some (oldest out first). */
  replayLogSize: number
  /** Their bytes, encoded. */
  replayLogBytes: number
  /** (provider, viewer) keys remembered per peer for last-write-wins of view deltas. */
  viewStateSize: number
  /** Host: refused intents remembered per guest, so one sent again gets the same answer. */
  declinedSize: number
  /** Out-of-order deltas a guest buffers while it waits for a gap to fill (beyond: resent later). */
  reorderBufferSize: number
  /** Their bytes, encoded; the same budget holds deltas that came before the bootstrap. */
  reorderBufferBytes: number
  /** Invites open at once. */
  pendingInvites: number
  /** Live plus pending links a controller may hold (Chromium caps a page near 500). */
  maxLinks: number
}

const MiB = 1024 * 1024

/** Each cache's budget, in entries and bytes, from the limits. */
export function budgetsOf(l: SessionLimits) {
  const buffered = { entries: l.reorderBufferSize, bytes: l.reorderBufferBytes }
  return {
    dedupe: { entries: l.dedupeSize, bytes: Infinity },
    declined: { entries: l.declinedSize, bytes: Infinity },
    viewState: { entries: l.viewStateSize, bytes: Infinity },
    replayLog: { entries: l.replayLogSize, bytes: l.replayLogBytes },
    outbox: { entries: l.outboxSize, bytes: l.outboxBytes },
    reorderBuffer: buffered,
    earlyDeltas: buffered,
    pendingInvites: { entries: l.pendingInvites, bytes: Infinity },
  }
}

/** The limits a controller uses where `options.limits` says nothing. */
export const DEFAULT_LIMITS: SessionLimits = {
  maxMessageBytes: 32 * MiB,
  maxDeltaBytes: 4 * MiB,
  dedupeSize: 10_000,
  outboxSize: 10_000,
  outboxBytes: 16 * MiB,
  replayLogSize: 1_000,
  replayLogBytes: 16 * MiB,
  viewStateSize: 256,
  declinedSize: 1_000,
  reorderBufferSize: 1_000,
  reorderBufferBytes: 16 * MiB,
  pendingInvites: 64,
  maxLinks: 64,
}

/** What a `SessionSyncController` is built with; only `transport` is required. */
export interface SessionSyncOptions {
  /** How links are made. Default: WebRTC with no ICE servers (`createWebRtcTransport()`); in tests, `MemoryNetwork.transport(name)`. */
  transport?: Transport
  /** Time, for every timer of the protocol. Default: the system clock. */
  clock?: Clock
  /** Randomness, for ids. Default: nanoid and `Math.random`. */
  random?: Random
  /** This user. Default: a random id and the name `Guest`; `setUser()` changes it between sessions. */
  user?: {
    /** The `origin` of this user's changes on every peer. Default: random, per controller. */
    id?: string
    /** Shown to the others. */
    name?: string
  }
  /** Page URL invites point at; the fragment is replaced by `#session=…`. */
  baseUrl?: string
  /** How long an invite stays valid. */
  inviteTtlMs?: number
  /** An invite URL longer than this is refused with `invite-too-long` (use the paste code). */
  maxInviteUrlLength?: number
  /** How long a guest waits for the host to complete the link after answering. */
  joinTimeoutMs?: number
  /** A relayed answer the host has not connected for within this: `session-answer-unclaimed`. */
  relayPickupMs?: number
  /** An answer code to paste that the host has not connected for within this: `session-answer-unclaimed`. */
  pastePickupMs?: number
  /** Overrides of `DEFAULT_LIMITS`. */
  limits?: Partial<SessionLimits>
  /** Gets a mirror of every event: an app's own bus, with `emit` or (OpenSeadragon's) `raiseEvent`. */
  emitter?: AppEventBus
  /** Asked before starting or joining when some modules declare nothing; default: go on. */
  confirmUndeclared?: (modules: string[]) => boolean | Promise<boolean>
  /** App config (plugin set…) to carry in invites, so a guest can load the host's set. */
  provision?: () => unknown
  /** Overrides of `DEFAULT_HEARTBEAT`. */
  heartbeat?: Partial<HeartbeatOptions>
  /** Full mesh up to this many peers (host included); a host star beyond. */
  meshLimit?: number
  /** How long a peer-assisted link may take to open before it is abandoned. */
  linkTimeoutMs?: number
  /** How long survivors wait for each other's candidacy after losing the host. */
  electionTimeoutMs?: number
  /**
   * A signalling relay (see relay/): invites become one click — the guest's page fetches the
   * offer and posts its answer, end-to-end encrypted; the host picks it up. Without it, or
   * when it is down, the link-and-answer-code flow works as ever.
   */
  signalingEndpoint?: string
  /** A relay client of your own (e.g. with a custom fetch); overrides `signalingEndpoint`. */
  relay?: RelayClient
  /** Host: let a knocking guest in (e.g. ask "Alice wants to join"). Default: everyone with a valid invite. */
  admit?: (peer: PeerInfo, invite: { inviteId: string; access: SessionAccess }) => boolean | Promise<boolean>
  /** Host: may this guest's intent take effect? `allowed` is the default (editors yes, viewers no). */
  authorizeIntent?: (intent: SessionIntent, peer: PeerInfo, allowed: boolean) => boolean
  /**
   * The session journal, so a session outlives a reload (`resume()`) and can be saved by
   * name (`saved`). On by default where IndexedDB exists; `false` turns it off.
   */
  journal?: JournalOptions | false
  /**
   * The code that runs a session loads with the first call that needs it (`start`, `join`, an
   * invite, `resume`…). `'idle'` (default): fetch it when the page is idle after the controller
   * is made, so that call does not wait; `'none'`: only then.
   */
  preload?: 'idle' | 'none'
}

/** Where the session journal lives and how large it may grow (`journal` option). */
export interface JournalOptions {
  /** Where journals and saved sessions are kept; default: IndexedDB (loaded on first use). */
  store?: Journal
  /** Keys a tab to the session it may resume; default: `sessionStorage`. */
  tabStorage?: TabStorage
  /** Overrides of `DEFAULT_JOURNAL_LIMITS`. */
  limits?: Partial<JournalLimits>
}

/** Bounds on one browser profile's journals. */
export interface JournalLimits {
  /** Deltas journaled after the last snapshot before the journal compacts (snapshot + truncate), once its log is as large as its snapshot. */
  maxDeltas: number
  /** Bytes of one session's journal before it compacts (likewise). */
  maxBytes: number
  /** Sessions journaled at once in this browser profile; the least recently written go first. */
  maxSessions: number
  /** How long changes gather before they are written: a crash loses at most this batch. */
  batchMs: number
  /**
   * While the host's deltas keep coming, the least time between two writes of them: each write
   * costs the page's main thread ~0.3 ms in Chromium, and what a crash loses of them the host
   * sends again on resume. This page's own changes, and who it is, still go within `batchMs`.
   */
  streamBatchMs: number
  /**
   * The waits before each write tried again after a failure (an aborted transaction, a full disk:
   * other sessions' journals are evicted first): one attempt more than waits, then the journal
   * is given up (`journal-off`). A write that fails for a moment, while another tab holds the
   * database, lands on a later attempt; what came meanwhile goes with it.
   */
  writeRetryMs: readonly number[]
}

/** Compact past 1,000 deltas or 4 MiB; 16 sessions per profile; write within 40 ms, a stream of deltas every 250 ms; a failed write tried 4 more times over 7.5 s. */
export const DEFAULT_JOURNAL_LIMITS: JournalLimits = { maxDeltas: 1_000, maxBytes: 4 * 1024 * 1024, maxSessions: 16, batchMs: 40, streamBatchMs: 250, writeRetryMs: [500, 1_000, 2_000, 4_000] }

/** How links are watched: a ping every `intervalMs`, then stale, then dead. */
export interface HeartbeatOptions {
  /** A ping on every link this often. */
  intervalMs: number
  /** A link silent this long is stale: `session-reconnecting`, state `reconnecting`. */
  softTimeoutMs: number
  /** A link silent this long is dead: the peer is dropped (or, the host's, lost). */
  hardTimeoutMs: number
}

/** Ping every 2 s; stale after 6 s of silence, dead after 20 s. */
export const DEFAULT_HEARTBEAT: HeartbeatOptions = { intervalMs: 2_000, softTimeoutMs: 6_000, hardTimeoutMs: 20_000 }

/** The protocol's other timers and sizes; the options above override those they name. */
export const DEFAULT_TIMERS = {
  /** How long an invite stays valid: 15 min. */
  inviteTtlMs: 15 * 60_000,
  /** Longest invite URL `createInvite()` returns; a longer one is `invite-too-long`. */
  maxInviteUrlLength: 2_000,
  /** How long a guest waits, after answering, for the host to complete the link: 10 min. */
  joinTimeoutMs: 10 * 60_000,
  /** How long a guest waits for the host to connect after its relayed answer went in. */
  relayPickupMs: 30_000,
  /** How long a guest waits for the host to paste its answer code before it hears what may be wrong: 2 min. */
  pastePickupMs: 2 * 60_000,
  /** How long a peer-assisted (guest↔guest) link may take to open. */
  linkTimeoutMs: 30_000,
  /** How long survivors gather candidacies after losing the host. */
  electionTimeoutMs: 1_500,
  /** Full mesh up to this many peers, host included; a host star beyond. */
  meshLimit: 6,
  /** Length of generated session, invite and user ids. */
  idSize: 10,
  /** Most seats of one room link (the relay's own cap is 16). */
  maxRoomSeats: 16,
  /** In a star, guests keep standby links to this many successors in the rank list. */
  standbySuccessors: 2,
  /** Resend or resync requests one link may make per hard timeout. */
  resendBudget: 16,
  /** Of those, how many may cost a whole snapshot. */
  snapshotBudget: 2,
  /** Offers and answers one guest may ask the host to pass on per hard timeout. */
  signalBudget: 32,
}

export type SessionTimers = typeof DEFAULT_TIMERS

/**
 * When a page is behind on what it received (`session-catching-up`): 100 messages waiting, or
 * more than 10 for a second without a break; caught up again at 10. A burst of small changes
 * a page handles within a few frames never shows.
 */
export const DEFAULT_BACKLOG: BacklogBounds = { behindAt: 100, caughtUpAt: 10, busyMs: 1_000 }

/** Options with every default filled in. */
export interface Settings {
  limits: SessionLimits
  heartbeat: HeartbeatOptions
  timers: SessionTimers
}

export function resolveSettings(options: SessionSyncOptions): Settings {
  const timers = { ...DEFAULT_TIMERS }
  for (const key of ['inviteTtlMs', 'maxInviteUrlLength', 'joinTimeoutMs', 'relayPickupMs', 'pastePickupMs', 'linkTimeoutMs', 'electionTimeoutMs', 'meshLimit'] as const) {
    const value = options[key]
    if (value !== undefined) timers[key] = value
  }
  return { limits: { ...DEFAULT_LIMITS, ...options.limits }, heartbeat: { ...DEFAULT_HEARTBEAT, ...options.heartbeat }, timers }
}
