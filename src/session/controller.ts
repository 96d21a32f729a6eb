/**
 * The session controller: one per page (or several per process in tests and benchmarks).
 * It owns the lifecycle, the roster, the provider registry, and the rules of who may
 * change what. It sees the network only through the Transport seam, and time and
 * randomness only through Clock and Random, so the same seed replays the same run.
 */
import mitt, { type Emitter } from 'mitt'
import {
  IncompatibleModulesError,
  InviteError,
  SessionError,
  SessionStateError,
  UndeclaredModulesRefusedError,
  WireError,
} from '../errors.js'
import { decodeAnswer, decodeInvite, encodeAnswer, encodeInvite, inviteBlobFrom, inviteUrl } from '../invite/invite.js'
import { ProviderRegistry } from '../providers/registry.js'
import { createRelayClient, parseRelayFragment, RelayError, relayFragment, relayInviteUrl, type RelayClient } from '../relay/index.js'
import { systemClock, type Clock, type TimerHandle } from '../runtime/clock.js'
import { systemRandom, type Random } from '../runtime/random.js'
import type { Link, LinkStats, PendingOffer, Signal, Transport } from '../transport/transport.js'
import type {
  SessionAccess,
  SessionFinalSave,
  SessionIntent,
  SessionDelta,
  SessionDeltaMeta,
  SessionEvents,
  SessionInvite,
  SessionModule,
  SessionPeer,
  SessionRole,
  SessionSyncProvider,
  SessionViewer,
} from '../types.js'
import { decodeMessage, encodeMessage } from '../wire/codec.js'
import { PROTOCOL_VERSION, type MessageOf, type PeerInfo, type WireMessage } from '../wire/messages.js'
import { guardPluginLoad, scanModules, type CompatibilityReport } from './compat.js'
import { Lifecycle, type SessionState } from './lifecycle.js'
import { LruMap, LruSet } from './lru.js'
import { Outbox } from './outbox.js'
import { digestOf } from './digest.js'
import { chooseWinner, furthestAhead, outranks, quorumOf } from './election.js'
import { checkSender, type LinkFacts } from './gate.js'
import { ReplayLog } from './replay-log.js'

export interface SessionLimits {
  /** Largest wire message accepted (a bootstrap snapshot is one message). */
  maxMessageBytes: number
  /** Intent ids remembered for dedupe (LRU). */
  dedupeSize: number
  /** Unconfirmed intents a guest may hold. */
  outboxSize: number
  /** Authoritative deltas the host keeps for guests that missed some. */
  replayLogSize: number
  /** (origin, provider, viewer) keys remembered for last-write-wins. */
  viewStateSize: number
  /** Out-of-order deltas a guest buffers while it waits for a gap to fill. */
  reorderBufferSize: number
  /** Invites open at once. */
  pendingInvites: number
  /** Live plus pending links a controller may hold (Chromium caps a page near 500). */
  maxLinks: number
}

export const DEFAULT_LIMITS: SessionLimits = {
  maxMessageBytes: 32 * 1024 * 1024,
  dedupeSize: 10_000,
  outboxSize: 10_000,
  replayLogSize: 1_000,
  viewStateSize: 10_000,
  reorderBufferSize: 1_000,
  pendingInvites: 64,
  maxLinks: 64,
}

export interface SessionSyncOptions {
  transport: Transport
  clock?: Clock
  random?: Random
  user?: { id?: string; name?: string }
  /** Page URL invites point at; the fragment is replaced by `#session=…`. */
  baseUrl?: string
  inviteTtlMs?: number
  /** An invite URL longer than this is refused with `invite-too-long` (use the paste code). */
  maxInviteUrlLength?: number
  /** How long a guest waits for the host to complete the link after answering. */
  joinTimeoutMs?: number
  limits?: Partial<SessionLimits>
  /** Gets a mirror of every event, e.g. an app's own event bus. */
  emitter?: { emit(type: string, payload: unknown): void }
  /** Asked before starting or joining when some modules declare nothing; default: go on. */
  confirmUndeclared?: (modules: string[]) => boolean | Promise<boolean>
  /** App config (plugin set…) to carry in invites, so a guest can load the host's set. */
  provision?: () => unknown
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
}

export interface HeartbeatOptions {
  /** A ping on every link this often. */
  intervalMs: number
  /** A link silent this long is stale: `session-reconnecting`, state `reconnecting`. */
  softTimeoutMs: number
  /** A link silent this long is dead: the peer is dropped (or, the host's, lost). */
  hardTimeoutMs: number
}

export const DEFAULT_HEARTBEAT: HeartbeatOptions = { intervalMs: 2_000, softTimeoutMs: 6_000, hardTimeoutMs: 20_000 }

/** One link to another peer, before and after we know who is on the other end. */
interface Conn {
  link: Link
  peerId: string | null
  /** Host side: the invite this link was opened for; JOIN must name it. */
  inviteId?: string
  /** Host side: what the invite lets its guest do. */
  access?: SessionAccess
  offs: Array<() => void>
  /** A link to a host that went silent: kept open so a thawed old host can be fenced and taken back. */
  fenced?: boolean
  /** Clock time of the last message from this link. */
  lastHeard: number
  stale: boolean
  rtt?: number
  /** The link's statistics as of the last heartbeat. */
  stats?: LinkStats
  /** Host: when the peer was admitted (or taken back). */
  admittedAt?: number
  /** Host: the link's JOIN has come (one per link). */
  joined?: boolean
  /** Host: resend and catch-up requests served in the current budget window. */
  served?: { since: number; count: number }
}

interface PendingInvite {
  pending: PendingOffer
  /** Stops waiting for a relayed answer. */
  abort?: () => void
  access: SessionAccess
  expiresAt: number
  used: boolean
  timer: TimerHandle
}

interface ApplyContext {
  /** Host applying a guest's intent: emitted deltas become the authoritative result. */
  capture?: Array<{ p: string; d: Record<string, unknown> }>
}

interface Election {
  epoch: number
  lostHost: string | null
  /** The peers whose backing counts, and how many a winner needs. */
  quorum: { members: Set<string>; needed: number }
  /** Survivor id → the last host sequence number it applied (its candidacy). */
  votes: Map<string, number>
  /** Survivors that backed us as the winner. */
  backers: Set<string>
  /** Peers that still hear the host: only our own link to it failed. */
  alive: Set<string>
  timer: TimerHandle
  /** The winner we back (ourselves, when we stand); once chosen, never changed. */
  backed?: string
  /** The survivor furthest ahead, while the winner catches up from it. */
  catchup?: Conn
  target?: number
}

/** Why a session ended when no new host could be agreed on, in words for the person. */
export const ELECTION_FAILURES = {
  isolated: 'The host is gone, and too few of the others could be reached to go on without it (the host may have left before you were linked to them); ask for a new invite.',
  'host-unreachable': 'You lost your link to the host while the others still reach it; ask for a new invite.',
  'no-new-host': 'The host left and no new host could be agreed on; ask for a new invite.',
  'cut-off': 'You were out of touch with most of the session for too long, and they carry on without you; ask for a new invite.',
} as const

interface Negotiation {
  cancel: () => void
  offer?: PendingOffer
  timer: TimerHandle
}

interface Change {
  p: string
  d: Record<string, unknown>
}

const ID_SIZE = 10
/** In a star, guests keep standby links to this many successors in the rank list. */
const STANDBY_SUCCESSORS = 2
/** Resend and catch-up requests one link may make per hard timeout. */
const RESEND_BUDGET = 16

export class SessionSyncController<V extends SessionViewer = SessionViewer> {
  readonly events: Emitter<SessionEvents> = mitt<SessionEvents>()
  private readonly transport: Transport
  private readonly clock: Clock
  private readonly random: Random
  private readonly limits: SessionLimits
  private readonly heartbeat: HeartbeatOptions
  private heartbeatTimer: TimerHandle | null = null
  private readonly options: SessionSyncOptions
  private readonly registry = new ProviderRegistry()
  private readonly relay: RelayClient | undefined
  private readonly intentPrefix: string
  private intentCounter = 0
  /** The bytes each received delta came in (weakly held: gone with the message). */
  private readonly received = new WeakMap<object, Uint8Array>()
  private readonly modules = new Map<string, SessionModule>()
  private readonly viewers = new Map<string, V>()
  private readonly unsubscribes = new Map<string, () => void>()
  private readonly lifecycle: Lifecycle
  private self: PeerInfo

  // Per session; reset by `reset()`.
  private _sessionId: string | null = null
  private role: SessionRole | null = null
  private generation = 0
  private epoch = 0
  private hostId: string | null = null
  private rank: string[] = []
  private peers = new Map<string, PeerInfo>()
  private conns = new Set<Conn>()
  private hostConn: Conn | null = null
  private invites = new Map<string, PendingInvite>()
  /** Host: whether guests link to each other. Guest: what the host said. */
  private mesh = true
  /** Host: each guest's reported direct links, to forward view deltas only where needed. */
  private reported = new Map<string, Set<string>>()
  /** Host: pairs already asked to link, `older|newer`. */
  private requested = new Set<string>()
  /** Guest: peer-assisted links being negotiated, by peer id. */
  private negotiating = new Map<string, Negotiation>()
  private election: Election | null = null
  /** The failover succession as the host last published it (guests trim `rank` locally; this they do not). */
  private succession: string[] = []
  /** Access of each peer in the published roster: viewers are never eligible to host. */
  private successionAccess = new Map<string, SessionAccess>()
  /** New host: who was in the session it took over, and until when their FORWARDs are taken. */
  private handover: { witnesses: Set<string>; until: number } | null = null
  /** Guest: the successor our host handed over to, and a hello of its that came before the word. */
  private handedTo: { hostId: string; epoch: number } | null = null
  private earlyClaim: { conn: Conn; hello: MessageOf<'hello'> } | null = null
  /** Host after a takeover: the sequence number its epoch began after. */
  private forkSeq: number | null = null
  /** Host: when it last could not hear a majority of its session (a stall or a partition). */
  private isolatedAt: number | null = null
  private isolatedSince: number | null = null
  /** The digest (and the sequence number it describes) this host announced when it took over. */
  private lastDigest: { digest: string; seq: number } | undefined
  /** Follower: the new host's digest, to compare once we reach its sequence number. */
  private digestCheck: { digest: string; seq: number } | null = null
  /** Names of peers that were in the session, to welcome a fenced old host back by name. */
  private readonly formerNames = new LruMap<string, string>(256)
  /** User ids the host removed: they may not join again. */
  private readonly removed = new LruSet<string>(1024)
  private lastBeat = 0
  private joinTimer: TimerHandle | null = null
  private seq = 0
  private bootstrapped = false
  /** A guest waiting for a fresh snapshot after a takeover found its state diverged. */
  private rebootstrapping = false
  private earlyDeltas: MessageOf<'delta'>[] = []
  private reorder = new Map<number, MessageOf<'delta'>>()
  private resendRequested = -1
  private viewCounter = 0
  private applying: ApplyContext | null = null
  private chain: Promise<void> = Promise.resolve()
  private readonly seen: LruSet<string>
  private readonly viewState: LruMap<string, number>
  private readonly outbox: Outbox
  private readonly replay: ReplayLog

  constructor(options: SessionSyncOptions) {
    this.options = options
    this.transport = options.transport
    this.clock = options.clock ?? systemClock
    this.random = options.random ?? systemRandom
    this.limits = { ...DEFAULT_LIMITS, ...options.limits }
    this.heartbeat = { ...DEFAULT_HEARTBEAT, ...options.heartbeat }
    this.intentPrefix = this.random.id(12)
    this.relay = options.relay ?? (options.signalingEndpoint ? createRelayClient({ endpoint: options.signalingEndpoint }) : undefined)
    this.self = {
      id: options.user?.id ?? this.random.id(ID_SIZE),
      name: options.user?.name ?? 'Guest',
      role: 'guest',
    }
    this.seen = new LruSet(this.limits.dedupeSize)
    this.viewState = new LruMap(this.limits.viewStateSize)
    this.outbox = new Outbox(this.limits.outboxSize)
    this.replay = new ReplayLog(this.limits.replayLogSize)
    this.lifecycle = new Lifecycle((state, previous) => this.emit('session-state-changed', { state, previous }))
  }

  // ---------------------------------------------------------------- queries

  get sessionId(): string | null {
    return this._sessionId
  }

  getState(): SessionState {
    return this.lifecycle.state
  }

  getRole(): SessionRole | null {
    return this.role
  }

  /** True from `hosting`/`joining` until back to `idle`: the plugin lock is engaged. */
  isActive(): boolean {
    return this.lifecycle.state !== 'idle'
  }

  getSelf(): PeerInfo {
    return { ...this.self }
  }

  /** Sets this user's display name (and id) while no session is active. */
  setUser(user: { id?: string; name?: string }): void {
    if (this.isActive()) throw new SessionStateError('session-active', 'The user can only be changed between sessions.')
    this.self = { ...this.self, ...(user.id ? { id: user.id } : {}), ...(user.name ? { name: user.name } : {}) }
  }

  /** Statistics of the direct link to a peer (candidate type, addresses, bytes), when linked. */
  async getLinkStats(peerId: string): Promise<LinkStats | undefined> {
    const conn = this.connOf(peerId)
    return conn?.link.getStats?.()
  }

  getPeers(): SessionPeer[] {
    const links = new Map([...this.conns].map((c) => [c.peerId, c]))
    return this.rank
      .map((id, rank) => {
        const info = id === this.self.id ? this.self : this.peers.get(id)
        const conn = links.get(id)
        return info && {
          ...info, rank, self: id === this.self.id, linked: !!conn, stale: conn?.stale ?? false,
          ...(conn?.rtt !== undefined ? { rtt: conn.rtt } : {}),
          ...(conn?.stats ? { stats: conn.stats } : {}),
        }
      })
      .filter((p): p is SessionPeer => !!p)
  }

  /** Whether the transport has ICE servers; without them only same-network peers can join. */
  get hasIceServers(): boolean {
    return this.transport.hasIceServers ?? false
  }

  /** Pending (unconfirmed) intents of this guest. */
  get pendingIntents(): number {
    return this.outbox.size
  }

  /** True while the controller applies a remote delta or snapshot: a provider's subscribe can skip those changes. */
  isApplyingRemote(): boolean {
    return this.applying !== null
  }

  on<K extends keyof SessionEvents>(type: K, handler: (event: SessionEvents[K]) => void): () => void {
    this.events.on(type, handler)
    return () => this.events.off(type, handler)
  }

  // ---------------------------------------------------------------- app wiring

  registerProvider(provider: SessionSyncProvider<V, any, any>): () => void {
    const p = provider as unknown as SessionSyncProvider
    this.registry.add(p)
    if (this.isActive()) this.subscribeProvider(p)
    return () => {
      if (!this.registry.remove(p)) return
      this.unsubscribeProvider(p.id)
    }
  }

  setViewers(viewers: Iterable<V>): void {
    this.viewers.clear()
    for (const viewer of viewers) this.viewers.set(viewer.uniqueId, viewer)
  }

  addViewer(viewer: V): void {
    this.viewers.set(viewer.uniqueId, viewer)
  }

  removeViewer(uniqueId: string): void {
    this.viewers.delete(uniqueId)
  }

  /** Tells the controller about an app module and its `sessionCompatible` declaration. */
  declareModule(module: SessionModule): () => void {
    this.modules.set(module.id, module)
    return () => {
      if (this.modules.get(module.id) === module) this.modules.delete(module.id)
    }
  }

  scanCompatibility(): CompatibilityReport {
    return scanModules(this.modules.values())
  }

  /** Call before loading a plugin: throws SessionLockedError while a session is active. */
  guardPluginLoad(pluginId: string): void {
    guardPluginLoad(pluginId, this.isActive())
  }

  // ---------------------------------------------------------------- host

  /** Become the host of a new session. */
  async start(): Promise<void> {
    this.assertIdle('start')
    await this.checkCompatibility()
    this.assertIdle('start')
    this.generation++
    this._sessionId = this.random.id(ID_SIZE)
    this.setRole('host')
    this.hostId = this.self.id
    this.epoch = 1
    this.rank = [this.self.id]
    this.succession = [this.self.id]
    this.lifecycle.to('hosting')
    this.subscribeAll()
    this.scheduleHeartbeat()
    this.emit('session-started', { sessionId: this._sessionId, role: 'host', self: this.getSelf() })
  }

  /** Open a seat: an offer packed into a link. One invite admits one guest, once. */
  /** `access`: 'editor' (default) may change things; 'viewer' may only look and point. */
  async createInvite(options: { access?: SessionAccess } = {}): Promise<SessionInvite> {
    if (this.role !== 'host' || !this._sessionId) throw new SessionStateError('not-host', 'Only the host of an active session can invite.')
    if (this.invites.size >= this.limits.pendingInvites) {
      throw new SessionStateError('too-many-invites', `At most ${this.limits.pendingInvites} invites can be open at once; wait for some to be used or expire.`)
    }
    const generation = this.generation
    const pending = await this.transport.createOffer()
    if (generation !== this.generation || !this._sessionId) {
      pending.cancel()
      throw new SessionStateError('session-ended', 'The session ended while the invite was being prepared.')
    }
    const inviteId = this.random.id(ID_SIZE)
    const ttl = this.options.inviteTtlMs ?? 15 * 60_000
    const expiresAt = this.clock.now() + ttl
    const timer = this.clock.setTimeout(() => this.dropInvite(inviteId), ttl)
    this.invites.set(inviteId, { pending, access: options.access ?? 'editor', expiresAt, used: false, timer })
    const code = encodeInvite({
      inviteId,
      sessionId: this._sessionId,
      expiresAt,
      signal: this.packSignal(pending.offer),
      provision: this.options.provision?.(),
    })
    const url = inviteUrl(this.options.baseUrl ?? '', code)
    const invite: SessionInvite = { inviteId, url, fragment: `#session=${code}`, code, expiresAt }
    if (this.relay && (await this.publishToRelay(invite, Math.ceil(ttl / 1000)))) return invite
    const maxLength = this.options.maxInviteUrlLength ?? 2000
    if (url.length > maxLength) throw new InviteTooLongError(invite, maxLength)
    return invite
  }

  /** Puts the sealed offer on the relay and waits there for the answer; false when the relay failed. */
  private async publishToRelay(invite: SessionInvite, ttlSeconds: number): Promise<boolean> {
    const relay = this.relay!
    let ref: { id: string; key: string }
    try {
      ref = await relay.publishOffer(invite.code, ttlSeconds)
    } catch (error) {
      invite.relayError = (error as Error).message
      this.diagnostic('relay-unavailable', `${(error as Error).message} Use the invite link and the guest's answer code instead.`, { error })
      return false
    }
    invite.url = relayInviteUrl(this.options.baseUrl ?? '', ref.id, ref.key)
    invite.fragment = relayFragment(ref.id, ref.key)
    invite.relayed = true
    const stop = typeof AbortController === 'function' ? new AbortController() : undefined
    const pending = this.invites.get(invite.inviteId)
    if (pending) pending.abort = () => stop?.abort()
    relay.waitForAnswer(ref.id, ref.key, stop ? { signal: stop.signal } : {}).then(
      (answer) => this.acceptAnswer(answer),
      (error: unknown) => {
        if (!stop?.signal.aborted) this.diagnostic('relay-answer-failed', `No answer through the relay: ${(error as Error)?.message ?? String(error)}`, { error })
      },
    ).catch((error: unknown) => this.diagnostic('join-failed', `A relayed answer could not be used: ${(error as Error)?.message ?? String(error)}`, { error }))
    return true
  }

  /** Complete a guest's link from the answer code it sent back. */
  async acceptAnswer(answerCode: string): Promise<void> {
    if (this.role !== 'host') throw new SessionStateError('not-host', 'Only the host can add a peer.')
    const answer = decodeAnswer(answerCode.trim())
    const invite = this.invites.get(answer.inviteId)
    if (!invite) throw new InviteError(this.wasInvite(answer.inviteId) ? 'invite-used' : 'invite-unknown')
    if (invite.used) throw new InviteError('invite-used')
    if (this.clock.now() > invite.expiresAt) {
      this.dropInvite(answer.inviteId)
      throw new InviteError('invite-expired')
    }
    let signal: Signal
    try {
      signal = this.unpackSignal(answer.signal)
    } catch (cause) {
      throw new InviteError('answer-damaged', undefined, { cause })
    }
    invite.used = true
    const generation = this.generation
    let link: Link
    try {
      link = await invite.pending.complete(signal)
    } catch (cause) {
      this.dropInvite(answer.inviteId)
      throw new SessionError('link-failed', 'Could not connect to the guest. Ask them for a new answer code, or send a new invite.', { cause })
    } finally {
      this.clock.clearTimeout(invite.timer)
      this.invites.delete(answer.inviteId)
      this.usedInvites.touch(answer.inviteId)
    }
    if (generation !== this.generation) {
      link.close('session-ended')
      return
    }
    const conn = this.attach(link, answer.inviteId)
    conn.access = invite.access
  }

  private readonly usedInvites = new LruSet<string>(1024)

  private wasInvite(inviteId: string): boolean {
    return this.usedInvites.has(inviteId)
  }

  private dropInvite(inviteId: string): void {
    const invite = this.invites.get(inviteId)
    if (!invite) return
    this.invites.delete(inviteId)
    this.clock.clearTimeout(invite.timer)
    invite.abort?.()
    invite.pending.cancel()
  }

  // ---------------------------------------------------------------- guest

  /** Open an invite link. Returns the answer code for the guest to send back to the host. */
  /**
   * Open an invite. Returns the answer code for the guest to send back to the host — or,
   * for a relayed invite, posts it to the relay itself (`relayed: true`): nothing to paste.
   */
  async join(urlOrFragment: string): Promise<{ answerCode: string; provision?: unknown; relayed: boolean }> {
    this.assertIdle('join')
    const ref = parseRelayFragment(urlOrFragment)
    if (ref && !this.relay) throw new SessionStateError('no-relay', 'This invite goes through a signalling relay, and this page has none configured. Ask the host for an invite code to paste.')
    const invite = decodeInvite(ref ? await this.relay!.fetchOffer(ref.id, ref.key) : inviteBlobFrom(urlOrFragment))
    if (this.clock.now() > invite.expiresAt) throw new InviteError('invite-expired')
    let offer: Signal
    try {
      offer = this.unpackSignal(invite.signal)
    } catch (cause) {
      throw new InviteError('invite-damaged', undefined, { cause })
    }
    await this.checkCompatibility()
    this.assertIdle('join')
    const pending = await this.transport.acceptOffer(offer)
    this.generation++
    const generation = this.generation
    this._sessionId = invite.sessionId
    this.setRole('guest')
    this.lifecycle.to('joining')
    this.subscribeAll()
    this.scheduleHeartbeat()
    const timeout = this.options.joinTimeoutMs ?? 10 * 60_000
    this.joinTimer = this.clock.setTimeout(() => {
      pending.cancel()
      if (generation === this.generation) this.finish('join-timeout')
    }, timeout)
    pending.link.then(
      (link) => {
        if (generation !== this.generation) return link.close('session-ended')
        const conn = this.attach(link)
        this.hostConn = conn
        this.sendTo(conn, { v: PROTOCOL_VERSION, t: 'join', inviteId: invite.inviteId, user: this.self })
      },
      () => {
        if (generation === this.generation) this.finish('join-failed')
      },
    )
    const answerCode = encodeAnswer({ inviteId: invite.inviteId, signal: this.packSignal(pending.answer) })
    let relayed = false
    if (ref) {
      try {
        await this.relay!.postAnswer(ref.id, ref.key, answerCode)
        relayed = true
      } catch (error) {
        if (!(error instanceof RelayError) || error.code !== 'relay-unavailable') {
          // Answered by someone else, expired, unknown: pasting the code would not help either.
          pending.cancel()
          this.finish('join-failed')
          throw error
        }
        this.diagnostic('relay-unavailable', `${error.message} Send the answer code to the host instead.`, { error })
      }
    }
    return { answerCode, provision: invite.provision, relayed }
  }

  // ---------------------------------------------------------------- leaving

  /** Leave the session. On the host this ends it for everyone. */
  /** Leave the session. When the host leaves, the others elect a new host and go on. */
  async leave(reason = 'left'): Promise<void> {
    if (!this.isActive() || this.lifecycle.state === 'leaving') return
    this.broadcast({ v: PROTOCOL_VERSION, t: 'bye', reason })
    this.finish(reason)
  }

  /** End the session for everyone (host only). */
  async end(reason = 'ended'): Promise<void> {
    if (!this.isActive() || this.lifecycle.state === 'leaving') return
    if (this.role !== 'host') throw new SessionStateError('not-host', 'Only the host can end the session; guests can leave.')
    this.broadcast({ v: PROTOCOL_VERSION, t: 'end', reason })
    this.finish(reason)
  }

  /**
   * Host: every provider's state as of now (an interim save, e.g. an export); the session
   * goes on. Guests hold copies, the host owns the document, so only the host may save.
   */
  async save(): Promise<SessionFinalSave> {
    if (this.role !== 'host' || !this._sessionId) throw new SessionStateError('not-host', 'Only the host owns the session state; ask the host to save.')
    const entries = await this.collectSnapshot()
    return { sessionId: this._sessionId, seq: this.seq, digest: digestOf(entries), entries }
  }

  /**
   * Host: the final save. Collects every provider's state, hands it to `session-final-save`
   * listeners (the app writes it wherever it keeps documents), then ends the session for all.
   */
  async saveAndEnd(reason = 'saved'): Promise<SessionFinalSave> {
    const save = await this.save()
    this.emit('session-final-save', save)
    await this.end(reason)
    return save
  }

  /** For `pagehide`: say goodbye on every link now, synchronously; the page may be gone next tick. */
  goodbye(): void {
    if (!this.isActive() || this.lifecycle.state === 'leaving') return
    this.broadcast({ v: PROTOCOL_VERSION, t: 'bye', reason: 'page-closed' })
    this.finish('page-closed')
  }

  // ---------------------------------------------------------------- internals: lifecycle

  private assertIdle(action: string): void {
    if (this.isActive()) throw new SessionStateError('session-active', `Cannot ${action}: a session is already active. Leave it first.`)
  }

  private async checkCompatibility(): Promise<void> {
    const report = this.scanCompatibility()
    if (report.incompatible.length) throw new IncompatibleModulesError(report.incompatible)
    if (!report.undeclared.length) return
    this.diagnostic('undeclared-modules', `These modules declare no session support and may not sync: ${report.undeclared.join(', ')}.`)
    const confirm = this.options.confirmUndeclared
    if (confirm && !(await confirm(report.undeclared))) throw new UndeclaredModulesRefusedError(report.undeclared)
  }

  private setRole(role: SessionRole | null): void {
    const previous = this.role
    if (previous === role) return
    this.role = role
    this.self = { ...this.self, role: role ?? 'guest' }
    this.emit('session-role-changed', { role, previous })
  }

  /** Tears the session down locally and returns to idle. Idempotent per session. */
  private finish(reason: string): void {
    if (!this.isActive() || this.lifecycle.state === 'leaving') return
    const sessionId = this._sessionId ?? ''
    this.lifecycle.to('leaving')
    this.generation++
    for (const conn of [...this.conns]) this.detach(conn, reason)
    for (const inviteId of [...this.invites.keys()]) this.dropInvite(inviteId)
    for (const peerId of [...this.negotiating.keys()]) this.stopNegotiating(peerId)
    if (this.joinTimer) this.clock.clearTimeout(this.joinTimer)
    if (this.heartbeatTimer) this.clock.clearTimeout(this.heartbeatTimer)
    this.unsubscribeAll()
    this.reset()
    this.setRole(null)
    this.lifecycle.to('idle')
    this.emit('session-ended', { sessionId, reason })
  }

  private reset(): void {
    this._sessionId = null
    this.epoch = 0
    this.hostId = null
    this.rank = []
    this.peers = new Map()
    this.conns = new Set()
    this.hostConn = null
    if (this.election) this.clock.clearTimeout(this.election.timer)
    this.election = null
    this.succession = []
    this.successionAccess = new Map()
    this.handover = null
    this.handedTo = null
    this.earlyClaim = null
    this.forkSeq = null
    this.isolatedAt = null
    this.isolatedSince = null
    this.lastDigest = undefined
    this.digestCheck = null
    this.mesh = true
    this.reported = new Map()
    this.requested = new Set()
    this.joinTimer = null
    this.heartbeatTimer = null
    this.lastBeat = 0
    this.seq = 0
    this.bootstrapped = false
    this.rebootstrapping = false
    this.earlyDeltas = []
    this.reorder = new Map()
    this.resendRequested = -1
    this.viewCounter = 0
    this.viewState.clear()
    this.outbox.clear()
    this.replay.clear()
  }

  // ---------------------------------------------------------------- internals: providers

  private subscribeAll(): void {
    for (const provider of this.registry.all()) this.subscribeProvider(provider)
  }

  private unsubscribeAll(): void {
    for (const id of [...this.unsubscribes.keys()]) this.unsubscribeProvider(id)
  }

  private subscribeProvider(provider: SessionSyncProvider): void {
    try {
      const off = provider.subscribe((delta) => this.onLocalDelta(provider, delta))
      this.unsubscribes.set(provider.id, typeof off === 'function' ? off : () => {})
    } catch (error) {
      this.providerError(provider.id, 'subscribe', error)
    }
  }

  private unsubscribeProvider(id: string): void {
    const off = this.unsubscribes.get(id)
    this.unsubscribes.delete(id)
    try {
      off?.()
    } catch (error) {
      this.providerError(id, 'unsubscribe', error)
    }
  }

  private providerError(providerId: string, method: string, error: unknown): void {
    const detail = error instanceof Error ? error.message : String(error)
    this.diagnostic('provider-error', `Provider "${providerId}" threw in ${method}: ${detail}`, { providerId, error })
  }

  /**
   * Calls a provider method, containing sync throws and async rejections. Resolves to
   * `failed` when it threw, so callers can tell a refusal from an error.
   */
  private async callProvider<T>(providerId: string, method: string, call: () => T | Promise<T>, context: ApplyContext | null = null): Promise<{ failed: boolean; value?: T }> {
    let result: T | Promise<T>
    this.applying = context
    try {
      result = call()
    } catch (error) {
      this.providerError(providerId, method, error)
      return { failed: true }
    } finally {
      this.applying = null
    }
    try {
      return { failed: false, value: await result }
    } catch (error) {
      this.providerError(providerId, method, error)
      return { failed: true }
    }
  }

  private resolveViewer(provider: SessionSyncProvider, viewerId: unknown, peerId?: string): { ok: boolean; viewer: V | null } {
    if (provider.scope === 'global') return { ok: true, viewer: null }
    const viewer = typeof viewerId === 'string' ? this.viewers.get(viewerId) : undefined
    if (viewer) return { ok: true, viewer }
    this.diagnostic('unknown-viewer', `No viewer "${String(viewerId)}" here for provider "${provider.id}"; change skipped.`, { providerId: provider.id, peerId })
    return { ok: false, viewer: null }
  }

  /** A change made on this page, reported by a provider. */
  private onLocalDelta(provider: SessionSyncProvider, delta: SessionDelta): string | undefined {
    if (!this.isActive() || this.unsubscribes.get(provider.id) === undefined) return undefined
    if (this.applying) {
      // Caused by applying a remote change: an echo, unless the host is capturing its result.
      if (this.applying.capture && delta && typeof delta === 'object') this.applying.capture.push({ p: provider.id, d: stripIntent(delta) })
      return undefined
    }
    if (!delta || typeof delta !== 'object' || Array.isArray(delta)) {
      this.diagnostic('invalid-delta', `Provider "${provider.id}" emitted a delta that is not an object.`, { providerId: provider.id })
      return undefined
    }
    if (provider.scope === 'per-viewer' && typeof delta.viewerId !== 'string') {
      this.diagnostic('invalid-delta', `Provider "${provider.id}" is per-viewer but emitted a delta without a viewerId.`, { providerId: provider.id })
      return undefined
    }
    const payload = stripIntent(delta)
    const notJson = (error: unknown) => {
      this.diagnostic('invalid-delta', `Provider "${provider.id}" emitted a delta that is not JSON.`, { providerId: provider.id, error })
      return undefined
    }
    // Host and view deltas are encoded once, for the wire; that encoding is also the JSON check.
    const view = provider.view === true
    if (delta.view === true && !view) {
      this.diagnostic('invalid-delta', `Provider "${provider.id}" emitted a view delta but is not declared \`view: true\`; peers would refuse it.`, { providerId: provider.id })
      return undefined
    }
    const intentId = view ? '' : typeof delta.intentId === 'string' && delta.intentId ? delta.intentId : this.nextIntentId()
    if (view || this.role === 'host') {
      try {
        if (view) this.sendView(provider.id, payload)
        else this.broadcastDelta(intentId, this.self.id, [{ p: provider.id, d: payload }])
      } catch (error) {
        return notJson(error)
      }
      return view ? undefined : intentId
    }
    let json: string
    try {
      json = JSON.stringify(payload)
    } catch (error) {
      return notJson(error)
    }
    if (this.outbox.full) {
      this.diagnostic('outbox-full', `${this.outbox.size} changes are waiting for the host; this change was not sent.`, { providerId: provider.id })
      return undefined
    }
    this.outbox.add({ intentId, providerId: provider.id, payload, json })
    if (this.bootstrapped && this.hostConn) this.sendTo(this.hostConn, { v: PROTOCOL_VERSION, t: 'intent', id: intentId, p: provider.id, d: payload })
    return intentId
  }

  /** A random prefix per controller and a counter: unique, and cheaper than fresh randomness per change. */
  private nextIntentId(): string {
    return `${this.intentPrefix}${(++this.intentCounter).toString(36)}`
  }

  private sendView(providerId: string, payload: Record<string, unknown>): void {
    this.broadcast({ v: PROTOCOL_VERSION, t: 'view', origin: this.self.id, n: ++this.viewCounter, p: providerId, d: payload })
  }

  // ---------------------------------------------------------------- internals: links

  private attach(link: Link, inviteId?: string): Conn {
    const conn: Conn = { link, peerId: null, inviteId, offs: [], lastHeard: this.clock.now(), stale: false }
    this.conns.add(conn)
    const generation = this.generation
    conn.offs.push(
      link.on('message', (bytes) => {
        if (generation === this.generation) this.receive(conn, bytes)
      }),
      link.on('close', ({ reason }) => {
        if (generation === this.generation) this.onLinkClosed(conn, reason)
      }),
      link.on('error', (error) => {
        if (generation === this.generation) this.diagnostic('link-error', error.message, { peerId: conn.peerId ?? undefined, error })
      }),
      link.on('progress', (progress) => {
        if (generation === this.generation && conn === this.hostConn && !this.bootstrapped) this.emit('session-bootstrap-progress', progress)
      }),
    )
    return conn
  }

  private detach(conn: Conn, reason: string): void {
    this.conns.delete(conn)
    for (const off of conn.offs) off()
    conn.link.close(reason)
  }

  private sendTo(conn: Conn, message: WireMessage): void {
    this.sendBytes(conn, encodeMessage(message), message.t === 'snapshot' ? 'bulk' : 'control')
  }

  private sendBytes(conn: Conn, bytes: Uint8Array, lane: 'control' | 'bulk' = 'control'): void {
    if (!conn.link.open) return
    try {
      conn.link.send(bytes, lane)
    } catch (error) {
      this.diagnostic('send-failed', `Could not send to ${conn.peerId ?? 'a peer'}: ${(error as Error).message}`, { peerId: conn.peerId ?? undefined, error })
    }
  }

  /** To every admitted peer this page is linked to (the host link, for a guest). */
  private broadcast(message: WireMessage, except?: Conn): void {
    const bytes = encodeMessage(message)
    for (const conn of this.conns) if (conn.peerId && !conn.fenced && conn !== except) this.sendBytes(conn, bytes)
  }

  private receive(conn: Conn, bytes: Uint8Array): void {
    this.noticeStall(this.clock.now())
    this.heard(conn)
    let message: WireMessage
    try {
      message = decodeMessage(bytes, this.limits.maxMessageBytes)
    } catch (error) {
      const code = error instanceof WireError ? error.code : 'wire-malformed'
      this.diagnostic(code, `Dropped a message from ${conn.peerId ?? 'an unadmitted link'}: ${(error as Error).message}`, { peerId: conn.peerId ?? undefined, error })
      return
    }
    if (message.t === 'delta') this.received.set(message, bytes)
    // Liveness is answered at once; everything else waits for the messages before it, whose
    // handlers may change who may send what (a new host's hello, then its orders).
    if (message.t === 'ping' || message.t === 'pong') this.dispatch(conn, message)
    else this.serial(() => this.dispatch(conn, message))
  }

  private dispatch(conn: Conn, message: WireMessage): void | Promise<void> {
    // A link closed or dropped while this message waited its turn: as if it never arrived.
    if (!this.conns.has(conn)) return
    if (conn.fenced) {
      // Only the host answers a peer it stopped hearing (a thawed old host, a guest back from
      // a stall), with the hello that makes it a guest of ours again.
      if (this.role === 'host') this.takeBack(conn)
      return
    }
    const claim = { epoch: this.epoch, hostId: this.hostId }
    if (this.role === 'host' && conn.peerId !== null && ((message.t === 'delta' && message.epoch < this.epoch) || (message.t === 'hello' && !outranks(message, claim)))) {
      this.diagnostic('stale-epoch', `${conn.peerId} still acts as host of epoch ${message.epoch}; fencing it.`, { peerId: conn.peerId })
      return this.takeBack(conn)
    }
    const refusal = checkSender(this.factsOf(conn), message)
    if (refusal) {
      this.diagnostic('wire-out-of-role', `Dropped "${message.t}" from ${conn.peerId ?? 'an unadmitted link'}: ${refusal}.`, { peerId: conn.peerId ?? undefined, reason: refusal })
      return
    }
    if (message.t === 'ping') return this.sendTo(conn, { v: PROTOCOL_VERSION, t: 'pong', n: message.n })
    if (message.t === 'pong') {
      conn.rtt = this.clock.now() - message.n
      return
    }
    return this.handle(conn, message)
  }

  /** What the gate needs to know about a link, as of now. */
  private factsOf(conn: Conn): LinkFacts {
    const election = this.election
    const peerId = conn.peerId
    return {
      role: this.role,
      peerId,
      hostLink: conn === this.hostConn,
      awaitingJoin: conn.inviteId !== undefined && !conn.joined,
      viewer: conn.access === 'viewer',
      catchupSource: !!election && conn === election.catchup,
      backedWinner: !!election && peerId !== null && election.backed === peerId && peerId !== this.self.id,
      handoverWitness: !!this.handover && peerId !== null && this.handover.witnesses.has(peerId) && this.clock.now() <= this.handover.until,
      viewProvider: (id) => this.registry.get(id)?.view === true,
      helloRefusal: (hello) => this.helloRefusal(conn, hello),
    }
  }

  /**
   * Whether a hello may make its sender our host. Our host's link is ours from the invite;
   * anyone else becomes host only through an election we take part in, as the winner we
   * back — or, for a host, only after it lost touch with a majority (a stall, a partition).
   */
  private helloRefusal(conn: Conn, hello: MessageOf<'hello'>): string | null {
    if (conn === this.hostConn) {
      if (conn.peerId === null) return null
      return hello.hostId === this.hostId && hello.epoch === this.epoch ? null : 'host-claim-changed'
    }
    if (hello.hostId !== conn.peerId) return 'names-another-host'
    if (this.role === 'host') {
      if (!this.recentlyIsolated()) return 'host-still-leads'
      if (this.formerNames.get(conn.peerId) === undefined || conn.access === 'viewer' || !this.eligible(conn.peerId)) return 'not-eligible'
      return null
    }
    if (this.handedTo?.hostId === conn.peerId && this.handedTo.epoch === hello.epoch) return null
    const election = this.election
    if (!election) {
      // Our host may yet tell us it stepped down for this one: keep the latest claim until then.
      this.earlyClaim = { conn, hello }
      return 'no-election'
    }
    if (hello.epoch !== election.epoch + 1) return 'wrong-epoch'
    if (election.backed) return election.backed === conn.peerId ? null : 'backed-another'
    const best = chooseWinner([...election.votes.keys(), conn.peerId], this.succession, (id) => this.eligible(id))
    return best === conn.peerId ? null : 'better-candidate'
  }

  /** Host: whether it lately could not hear enough of its session for others to have elected without it. */
  private recentlyIsolated(): boolean {
    return this.isolatedAt !== null && this.clock.now() - this.isolatedAt <= 3 * this.heartbeat.hardTimeoutMs
  }

  /** Runs handlers one at a time, in arrival order, across async provider calls. */
  private serial(task: () => void | Promise<void>): void {
    const generation = this.generation
    this.chain = this.chain
      .then(() => (generation === this.generation ? task() : undefined))
      .catch((error: unknown) => this.diagnostic('internal-error', `Unexpected error: ${(error as Error)?.message ?? String(error)}`, { error }))
  }

  private handle(conn: Conn, message: WireMessage): void | Promise<void> {
    switch (message.t) {
      case 'join': return this.onJoin(conn, message)
      case 'snapshot': return this.onSnapshot(message)
      case 'view': return this.onView(conn, message)
      case 'intent': return this.onIntent(conn, message)
      case 'delta': return this.onDelta(message)
      case 'ack': return this.onAck(message)
      case 'resend': return this.serveMissing(conn, message.from)
      case 'roster': return this.onRoster(message.rank, message.peers, message.mesh)
      case 'connect': return this.onConnect(message.peer)
      case 'signal': return this.onSignal(conn, message)
      case 'relay': return this.onRelay(message)
      case 'links': return this.onLinks(conn, message.peers)
      case 'candidate': return this.onCandidate(conn, message)
      case 'back': return this.onBack(conn, message)
      case 'handover': return this.onHandover(message)
      case 'forward': return this.onForward(conn, message)
      case 'catchup': return this.serveMissing(conn, message.from)
      case 'hello': return this.onHello(conn, message)
      case 'bye': return this.onBye(conn, message.reason)
      case 'end': return this.finish(message.reason === 'ended' ? 'host-ended' : message.reason)
      case 'ping':
      case 'pong':
        return
    }
  }

  private onLinkClosed(conn: Conn, reason: string): void {
    if (!this.conns.has(conn)) return
    this.conns.delete(conn)
    for (const off of conn.offs) off()
    if (conn === this.hostConn) return this.onHostLost(reason)
    if (this.role === 'host' && conn.peerId) this.dropPeer(conn.peerId, `link-closed: ${reason}`)
    else this.reportLinks()
    const election = this.election
    if (!election) return
    if (election.backed === this.self.id && !election.catchup) this.canGatherQuorum(election)
    else this.maybeDecide()
  }

  /** A goodbye on any link drops that peer at once; the host's roster confirms it later. */
  private onBye(conn: Conn, reason: string): void {
    this.detach(conn, 'bye')
    if (conn === this.hostConn) return this.onHostLost(reason, true)
    // The winner we backed gave up: nobody else can be backed in this election.
    if (this.election?.backed === conn.peerId && conn.peerId !== this.self.id) return this.giveUp('no-new-host')
    if (conn.peerId) this.dropPeer(conn.peerId, reason)
    if (this.role === 'guest') this.reportLinks()
  }


  // ---------------------------------------------------------------- internals: host handlers

  private async onJoin(conn: Conn, message: MessageOf<'join'>): Promise<void> {
    conn.joined = true
    const user = message.user
    if (message.inviteId !== conn.inviteId) {
      this.diagnostic('join-refused', `Refused a join for invite ${message.inviteId} on a link opened for another invite.`)
      return this.detach(conn, 'wrong-invite')
    }
    if (user.id === this.self.id || this.peers.has(user.id)) {
      this.diagnostic('join-refused', `Refused a join from "${user.name}": user id ${user.id} is already in the session.`)
      return this.detach(conn, 'duplicate-user')
    }
    if (this.removed.has(user.id)) return this.turnAway(conn, user, 'removed')
    const admit = this.options.admit
    if (admit) {
      // Asking may take a person's time: never hold up the session while they decide.
      const generation = this.generation
      Promise.resolve()
        .then(() => admit({ ...user, role: 'guest' }, { inviteId: message.inviteId, access: conn.access ?? 'editor' }))
        .catch((error: unknown) => {
          this.diagnostic('admit-error', `The admit hook failed: ${(error as Error)?.message ?? String(error)}; refusing.`, { error })
          return false
        })
        .then((ok) => {
          if (generation !== this.generation || !this.conns.has(conn)) return
          if (ok) this.serial(() => this.admit(conn, user))
          else this.turnAway(conn, user, 'refused')
        })
      return
    }
    await this.admit(conn, user)
  }

  private turnAway(conn: Conn, user: PeerInfo, reason: string): void {
    this.diagnostic('join-refused', `Refused "${user.name}" (${reason}).`, { peerId: user.id })
    this.sendTo(conn, { v: PROTOCOL_VERSION, t: 'end', reason })
    this.detach(conn, reason)
  }

  private async admit(conn: Conn, user: PeerInfo): Promise<void> {
    if (this.peers.has(user.id)) return this.detach(conn, 'duplicate-user')
    const peer: PeerInfo = { id: user.id, name: user.name, role: 'guest', ...(conn.access === 'viewer' ? { access: 'viewer' as const } : {}) }
    conn.peerId = peer.id
    conn.admittedAt = this.clock.now()
    this.peers.set(peer.id, peer)
    this.successionAccess.set(peer.id, conn.access ?? 'editor')
    this.rank.push(peer.id)
    this.setTopology()
    this.formerNames.set(peer.id, peer.name)
    this.sendHello(conn)
    this.broadcast(this.rosterMessage(), conn)
    if (this.lifecycle.state === 'hosting') this.lifecycle.to('connected')
    this.emit('session-peer-joined', { peer })
    this.requestMeshLinks()
    await this.sendSnapshot(conn)
  }

  private get meshLimit(): number {
    return this.options.meshLimit ?? 6
  }

  private rosterMessage(): WireMessage {
    return { v: PROTOCOL_VERSION, t: 'roster', rank: this.rank, peers: this.rosterPeers(), mesh: this.mesh }
  }

  private rosterPeers(): PeerInfo[] {
    return [this.self, ...this.peers.values()]
  }

  private async sendSnapshot(conn: Conn): Promise<void> {
    const seq = this.seq
    const ids = this.seen.recent(this.limits.replayLogSize)
    const entries = await this.collectSnapshot()
    if (this.conns.has(conn)) this.sendTo(conn, { v: PROTOCOL_VERSION, t: 'snapshot', seq, ids, entries })
  }

  /** Every provider's snapshot (per viewer for per-viewer ones), in bootstrap order. */
  private async collectSnapshot(): Promise<MessageOf<'snapshot'>['entries']> {
    const entries: MessageOf<'snapshot'>['entries'] = []
    for (const provider of this.registry.ordered()) {
      const targets: Array<V | null> = provider.scope === 'global' ? [null] : [...this.viewers.values()]
      for (const viewer of targets) {
        const { failed, value } = await this.callProvider(provider.id, 'snapshot', () => provider.snapshot(viewer))
        if (!failed) entries.push({ p: provider.id, w: viewer?.uniqueId ?? null, d: value ?? null })
      }
    }
    return entries
  }

  private async onIntent(conn: Conn, message: MessageOf<'intent'>): Promise<void> {
    const origin = conn.peerId!
    const ack = (ok: boolean, reason?: string) => this.sendTo(conn, { v: PROTOCOL_VERSION, t: 'ack', id: message.id, ok, ...(reason ? { reason } : {}) })
    if (this.seen.has(message.id)) return ack(true)
    if (!this.authorized(conn, message)) {
      this.diagnostic('intent-unauthorized', `Refused a change to "${message.p}" from ${origin}: not allowed.`, { peerId: origin, providerId: message.p })
      return ack(false, 'unauthorized')
    }
    // Only an intent that takes effect is remembered (broadcastDelta records it): a flood of
    // refused ones must not push real ids out of the dedupe window.
    const provider = this.registry.get(message.p)
    if (!provider) {
      this.diagnostic('unknown-provider', `Intent from ${origin} for unknown provider "${message.p}" refused.`, { peerId: origin, providerId: message.p })
      return ack(false, 'unknown-provider')
    }
    const { ok, viewer } = this.resolveViewer(provider, message.d.viewerId, origin)
    if (!ok) return ack(false, 'unknown-viewer')
    const delta: SessionDelta = { ...message.d, intentId: message.id }
    const meta: SessionDeltaMeta<V> = { remote: true, origin, role: 'host', viewer, intentId: message.id, view: false }
    const context: ApplyContext = { capture: [] }
    const { failed, value } = await this.callProvider(provider.id, 'applyDelta', () => provider.applyDelta(delta, meta as SessionDeltaMeta), context)
    if (failed) return ack(false, 'provider-error')
    if (value === false) return ack(false, 'refused')
    const changes = context.capture!.length ? context.capture! : [{ p: provider.id, d: message.d }]
    this.broadcastDelta(message.id, origin, changes)
  }

  /** Viewers may not change anything; `authorizeIntent` refines the rule per provider and kind. */
  private authorized(conn: Conn, message: Pick<MessageOf<'intent'>, 'id' | 'p' | 'd'>): boolean {
    const peer = this.peers.get(conn.peerId!)
    if (!peer) return false
    const allowed = (peer.access ?? 'editor') === 'editor'
    const hook = this.options.authorizeIntent
    if (!hook) return allowed
    try {
      return hook({ intentId: message.id, providerId: message.p, origin: peer.id, delta: { ...message.d, intentId: message.id } }, peer, allowed) === true
    } catch (error) {
      this.diagnostic('authorize-error', `authorizeIntent threw: ${(error as Error)?.message ?? String(error)}; refusing.`, { error })
      return false
    }
  }

  /** Host: removes a guest. It is told, its links go on every peer, and it cannot come back. */
  kick(peerId: string, reason = 'removed'): void {
    if (this.role !== 'host') throw new SessionStateError('not-host', 'Only the host can remove a peer.')
    this.removed.touch(peerId)
    const conn = this.connOf(peerId)
    if (conn) {
      this.sendTo(conn, { v: PROTOCOL_VERSION, t: 'end', reason })
      this.detach(conn, reason)
    }
    this.dropPeer(peerId, reason)
  }

  /**
   * New host: a survivor hands over a delta the old host authorised and we never got.
   * Taken only from those who were in the session, while the handover lasts, and checked
   * like an intent of the forwarding peer: re-issued once, under the origin it names.
   */
  private async onForward(conn: Conn, message: MessageOf<'forward'>): Promise<void> {
    if (this.seen.has(message.id)) return
    if (!this.handover?.witnesses.has(message.origin) && message.origin !== conn.peerId) {
      this.diagnostic('wire-out-of-role', `Dropped a handed-over change from ${conn.peerId} naming ${message.origin}, who was not in the session.`, { peerId: conn.peerId ?? undefined, reason: 'unknown-origin' })
      return
    }
    for (const change of message.changes) {
      if (!this.authorized(conn, { id: message.id, p: change.p, d: change.d })) {
        this.diagnostic('intent-unauthorized', `Refused a handed-over change to "${change.p}" from ${conn.peerId}: not allowed.`, { peerId: conn.peerId ?? undefined, providerId: change.p })
        return
      }
    }
    this.seen.touch(message.id)
    for (const change of message.changes) await this.applyChange(change, message.origin, message.id)
    this.broadcastDelta(message.id, message.origin, message.changes)
  }

  /** Throws (and changes nothing) when `changes` cannot be encoded. */
  private broadcastDelta(intentId: string, origin: string, changes: Change[]): void {
    const seq = this.seq + 1
    const bytes = encodeMessage({ v: PROTOCOL_VERSION, t: 'delta', seq, epoch: this.epoch, id: intentId, origin, changes })
    this.seq = seq
    this.seen.touch(intentId)
    this.replay.add(seq, bytes)
    for (const conn of this.conns) if (conn.peerId && !conn.fenced) this.sendBytes(conn, bytes)
  }

  /** Deltas `from`..now from the replay log, or a snapshot when the log no longer has them all. */
  private serveMissing(conn: Conn, from: number): Promise<void> | void {
    if (!this.withinBudget(conn)) {
      this.diagnostic('budget-exceeded', `${conn.peerId} asked for missed changes too often; request dropped.`, { peerId: conn.peerId ?? undefined, reason: 'resend-budget' })
      return
    }
    const missed = from <= this.seq ? this.replay.range(from, this.seq) : []
    if (!missed || from === 0) return this.sendSnapshot(conn)
    for (const bytes of missed) this.sendBytes(conn, bytes)
  }

  /** A few resend or catch-up requests per link per hard timeout: each may cost a whole snapshot. */
  private withinBudget(conn: Conn): boolean {
    const now = this.clock.now()
    if (!conn.served || now - conn.served.since >= this.heartbeat.hardTimeoutMs) conn.served = { since: now, count: 0 }
    return ++conn.served.count <= RESEND_BUDGET
  }

  private dropPeer(peerId: string, reason: string): void {
    if (!this.peers.has(peerId)) return
    this.forgetPeer(peerId, reason)
    if (this.role === 'host') {
      this.reported.delete(peerId)
      for (const pair of this.requested) if (pair.split('|').includes(peerId)) this.requested.delete(pair)
      this.setTopology()
      this.broadcast(this.rosterMessage())
      this.requestMeshLinks()
    }
    this.updateConnectivity()
  }

  // ---------------------------------------------------------------- internals: guest handlers

  private onHello(conn: Conn, message: MessageOf<'hello'>): void | Promise<void> {
    // The host we follow saying hello again (it took us back): the roster is news, and what we missed.
    if (conn === this.hostConn && conn.peerId !== null) {
      this.onRoster(message.rank, message.peers, message.mesh)
      if (this.bootstrapped && !this.rebootstrapping && message.seq > this.seq) this.sendTo(conn, { v: PROTOCOL_VERSION, t: 'resend', from: this.seq + 1 })
      return this.flushOutbox()
    }
    if (conn.peerId !== null) return this.followNewHost(conn, message)
    conn.peerId = message.hostId
    this.hostId = message.hostId
    this.epoch = message.epoch
    this._sessionId = message.sessionId
    this.emit('session-started', { sessionId: message.sessionId, role: 'guest', self: this.getSelf() })
    this.onRoster(message.rank, message.peers, message.mesh)
  }

  private onRoster(rank: string[], peers: PeerInfo[], mesh: boolean): void {
    const next = new Map(peers.filter((p) => p.id !== this.self.id).map((p) => [p.id, p]))
    for (const peer of next.values()) this.formerNames.set(peer.id, peer.name)
    const me = peers.find((p) => p.id === this.self.id)
    if (me?.access) this.self = { ...this.self, access: me.access }
    // A fenced old host that the new host took back is a peer again.
    for (const conn of this.conns) if (conn.fenced && conn.peerId && next.has(conn.peerId)) conn.fenced = false
    const previous = this.peers
    this.peers = next
    this.rank = rank
    this.succession = [...rank]
    this.successionAccess = new Map(peers.map((p) => [p.id, p.access ?? 'editor']))
    this.mesh = mesh
    for (const [id, peer] of next) if (!previous.has(id)) this.emit('session-peer-joined', { peer })
    for (const [id, peer] of previous) if (!next.has(id)) this.emit('session-peer-dropped', { peer, reason: 'left' })
    this.pruneGuestLinks()
  }

  private async onSnapshot(message: MessageOf<'snapshot'>): Promise<void> {
    if (this.bootstrapped && !this.rebootstrapping && message.seq < this.seq) {
      // An answer to an earlier request, overtaken by deltas we already applied: it would roll us back.
      this.diagnostic('stale-snapshot', `Ignored a snapshot at #${message.seq}; this peer is at #${this.seq}.`)
      return
    }
    const order = (p: string) => this.registry.priorityOf(p)
    const entries = message.entries.map((e, i) => ({ e, i })).sort((a, b) => order(a.e.p) - order(b.e.p) || a.i - b.i)
    for (const { e } of entries) {
      const provider = this.registry.get(e.p)
      if (!provider) {
        this.diagnostic('unknown-provider', `Snapshot for provider "${e.p}", which this page does not have; skipped.`, { providerId: e.p })
        continue
      }
      const { ok, viewer } = this.resolveViewer(provider, e.w)
      if (!ok) continue
      await this.callProvider(provider.id, 'applySnapshot', () => provider.applySnapshot(e.d, viewer), {})
    }
    this.seq = message.seq
    // What we had seen no longer says what our state holds; the snapshot's ids do.
    this.seen.reset(message.ids)
    this.replay.clear()
    // Intents the snapshot already reflects are done; the rest it replaced must be applied again.
    for (const entry of this.outbox.pending()) {
      if (this.seen.has(entry.intentId)) this.outbox.settle(entry.intentId)
      else entry.overwritten = true
    }
    this.reorder = new Map([...this.reorder].filter(([seq]) => seq > message.seq))
    const first = !this.bootstrapped
    this.bootstrapped = true
    this.rebootstrapping = false
    if (first) {
      if (this.joinTimer) this.clock.clearTimeout(this.joinTimer)
      this.joinTimer = null
    }
    if (this.lifecycle.state === 'joining') this.lifecycle.to('connected')
    this.emit('session-bootstrap-complete', { entries: message.entries.length, seq: message.seq })
    const early = this.earlyDeltas
    this.earlyDeltas = []
    for (const delta of early) await this.onDelta(delta)
    await this.drainReorder()
    if (first) this.flushOutbox()
    await this.afterCatchup()
  }

  /** Sends every unconfirmed intent again, with its original id: the host dedupes. */
  private flushOutbox(): void {
    if (!this.hostConn) return
    for (const entry of this.outbox.pending()) {
      this.sendTo(this.hostConn, { v: PROTOCOL_VERSION, t: 'intent', id: entry.intentId, p: entry.providerId, d: entry.payload })
    }
  }

  private async onDelta(message: MessageOf<'delta'>): Promise<void> {
    if (!this.bootstrapped || this.rebootstrapping) {
      this.earlyDeltas.push(message)
      return
    }
    // Only our current host (or the survivor we catch up from) gets here; an older epoch is
    // history it resends. A fenced old host's deltas are refused at the edge.
    if (message.epoch > this.epoch) return
    if (message.seq <= this.seq) {
      this.outbox.settle(message.id)
      return
    }
    if (message.seq > this.seq + 1) {
      if (this.reorder.size < this.limits.reorderBufferSize) this.reorder.set(message.seq, message)
      this.requestResend()
      return
    }
    await this.applyAuthoritative(message)
    await this.drainReorder()
    await this.checkDigest()
    await this.afterCatchup()
  }

  private async drainReorder(): Promise<void> {
    for (let next = this.reorder.get(this.seq + 1); next; next = this.reorder.get(this.seq + 1)) {
      this.reorder.delete(next.seq)
      await this.applyAuthoritative(next)
    }
  }

  /** Asks the host for what is missing, once per gap position. */
  private requestResend(): void {
    const from = this.seq + 1
    if (this.resendRequested === from || !this.hostConn) return
    this.resendRequested = from
    this.diagnostic('seq-gap', `Missed deltas from #${from}; asking the host to resend.`)
    this.sendTo(this.hostConn, { v: PROTOCOL_VERSION, t: 'resend', from })
  }

  private async applyAuthoritative(message: MessageOf<'delta'>): Promise<void> {
    this.seq = message.seq
    // Kept as it came, to serve a new host's catch-up: no second encoding.
    this.replay.add(message.seq, this.received.get(message) ?? encodeMessage(message))
    const mine = this.outbox.settle(message.id)
    if (this.seen.touch(message.id) && !mine) return
    const [only] = message.changes
    if (mine && !mine.overwritten && message.changes.length === 1 && only!.p === mine.providerId && JSON.stringify(only!.d) === mine.json) return
    for (const change of message.changes) await this.applyChange(change, message.origin, message.id, message.seq)
  }

  /** Applies one authoritative change through its provider; the provider's echoes are dropped. */
  private async applyChange(change: Change, origin: string, intentId: string, seq?: number): Promise<void> {
    const provider = this.registry.get(change.p)
    if (!provider) {
      this.diagnostic('unknown-provider', `Delta for provider "${change.p}", which this page does not have; skipped.`, { providerId: change.p })
      return
    }
    const { ok, viewer } = this.resolveViewer(provider, change.d.viewerId)
    if (!ok) return
    const meta: SessionDeltaMeta<V> = { remote: true, origin, role: this.role ?? 'guest', viewer, intentId, ...(seq !== undefined ? { seq } : {}), view: false }
    await this.callProvider(provider.id, 'applyDelta', () => provider.applyDelta({ ...change.d, intentId }, meta as SessionDeltaMeta), {})
  }

  private onAck(message: MessageOf<'ack'>): void {
    const entry = this.outbox.settle(message.id)
    if (!entry || message.ok) return
    const reason = message.reason ?? 'refused'
    this.diagnostic('intent-refused', `The host refused a change to "${entry.providerId}" (${reason}); it was undone.`, { providerId: entry.providerId, intentId: entry.intentId, reason })
    // Undo our optimistic change the one way every provider supports: take the host's state again.
    this.rebootstrap()
  }

  /** Asks our host for a fresh snapshot. Newer deltas wait for it: it travels as bulk, and they may overtake it. */
  private rebootstrap(): void {
    if (this.rebootstrapping || !this.hostConn) return
    this.rebootstrapping = true
    this.sendTo(this.hostConn, { v: PROTOCOL_VERSION, t: 'resend', from: 0 })
  }

  // ---------------------------------------------------------------- internals: peer-assisted mesh

  /**
   * Which guest pairs hold a direct link: all of them in a mesh; in a star, only those with
   * one of the next successors (standby links), so failover never needs a new invite.
   */
  private wantsLink(a: string, b: string): boolean {
    if (this.mesh) return true
    const successors = this.rank.slice(1, 1 + STANDBY_SUCCESSORS)
    return successors.includes(a) || successors.includes(b)
  }

  /** Host: asks the older of every guest pair that should be linked, and is not, to offer. */
  private requestMeshLinks(): void {
    const guests = this.rank.slice(1)
    for (let i = 0; i < guests.length; i++) {
      for (let j = i + 1; j < guests.length; j++) {
        const [older, newer] = [guests[i]!, guests[j]!]
        if (!this.wantsLink(older, newer)) continue
        const pair = `${older}|${newer}`
        if (this.requested.has(pair) || this.reported.get(older)?.has(newer)) continue
        const conn = this.connOf(older)
        if (!conn) continue
        this.requested.add(pair)
        this.sendTo(conn, { v: PROTOCOL_VERSION, t: 'connect', peer: newer })
      }
    }
  }

  private connOf(peerId: string): Conn | undefined {
    for (const conn of this.conns) if (conn.peerId === peerId) return conn
    return undefined
  }

  /** Host: passes an offer or answer between two admitted guests, and nobody else. */
  private onSignal(conn: Conn, message: MessageOf<'signal'>): void {
    const target = this.connOf(message.to)
    if (!target || target === conn || !this.wantsLink(conn.peerId!, message.to)) {
      this.diagnostic('signal-refused', `Refused to relay a ${message.kind} from ${conn.peerId} to ${message.to}.`, { peerId: conn.peerId ?? undefined })
      return
    }
    this.sendTo(target, { v: PROTOCOL_VERSION, t: 'relay', from: conn.peerId!, kind: message.kind, signal: message.signal })
  }

  private onLinks(conn: Conn, peers: string[]): void {
    const from = conn.peerId!
    this.reported.set(from, new Set(peers.filter((id) => this.peers.has(id) && this.wantsLink(from, id))))
  }

  /**
   * Host, after a topology change: links the guests are about to close no longer count, so
   * view deltas are forwarded from now on (a duplicate is dropped by last-write-wins; a gap would not be).
   */
  private setTopology(): void {
    this.mesh = this.rank.length <= this.meshLimit
    for (const [from, linked] of this.reported) for (const to of linked) if (!this.wantsLink(from, to)) linked.delete(to)
  }

  private linkCount(): number {
    return this.conns.size + this.negotiating.size
  }

  /** Guest: the host asked us to offer a link to `peerId`. */
  private onConnect(peerId: string): void {
    if (!this.wantsLink(this.self.id, peerId) || !this.peers.has(peerId) || this.connOf(peerId) || this.negotiating.has(peerId)) return
    if (this.linkCount() >= this.limits.maxLinks) {
      this.diagnostic('link-limit', `Not linking to ${peerId}: ${this.limits.maxLinks} links is the limit.`, { peerId })
      return
    }
    const generation = this.generation
    const entry = this.negotiate(peerId)
    this.transport.createOffer().then(
      (pending) => {
        if (generation !== this.generation || this.negotiating.get(peerId) !== entry) return pending.cancel()
        entry.offer = pending
        entry.cancel = () => pending.cancel()
        this.toHost({ v: PROTOCOL_VERSION, t: 'signal', to: peerId, kind: 'offer', signal: pending.offer })
      },
      (error: unknown) => this.linkFailed(peerId, entry, error),
    )
  }

  /** Guest: an offer or answer from another guest, relayed by our host. */
  private onRelay(message: MessageOf<'relay'>): void {
    const peerId = message.from
    if (!this.wantsLink(this.self.id, peerId) || !this.peers.has(peerId)) return
    const entry = this.negotiating.get(peerId)
    if (message.kind === 'answer') {
      if (!entry?.offer) return
      entry.offer.complete(message.signal).then(
        (link) => this.adoptPeerLink(link, peerId, entry),
        (error: unknown) => this.linkFailed(peerId, entry, error),
      )
      return
    }
    if (this.connOf(peerId)) return
    // Glare: both sides offered. The smaller user id keeps its offer; the other answers.
    if (entry) {
      if (this.self.id < peerId) return
      this.stopNegotiating(peerId)
    }
    if (this.linkCount() >= this.limits.maxLinks) return
    const generation = this.generation
    const answering = this.negotiate(peerId)
    this.transport.acceptOffer(message.signal).then(
      (pending) => {
        if (generation !== this.generation || this.negotiating.get(peerId) !== answering) return pending.cancel()
        answering.cancel = () => pending.cancel()
        this.toHost({ v: PROTOCOL_VERSION, t: 'signal', to: peerId, kind: 'answer', signal: pending.answer })
        pending.link.then(
          (link) => this.adoptPeerLink(link, peerId, answering),
          (error: unknown) => this.linkFailed(peerId, answering, error),
        )
      },
      (error: unknown) => this.linkFailed(peerId, answering, error),
    )
  }

  private negotiate(peerId: string): Negotiation {
    const entry: Negotiation = {
      cancel: () => {},
      timer: this.clock.setTimeout(() => this.linkFailed(peerId, entry, new Error('timed out')), this.options.linkTimeoutMs ?? 30_000),
    }
    this.negotiating.set(peerId, entry)
    return entry
  }

  private stopNegotiating(peerId: string): void {
    const entry = this.negotiating.get(peerId)
    if (!entry) return
    this.negotiating.delete(peerId)
    this.clock.clearTimeout(entry.timer)
    entry.cancel()
  }

  private linkFailed(peerId: string, entry: Negotiation, error: unknown): void {
    if (this.negotiating.get(peerId) !== entry) return
    this.stopNegotiating(peerId)
    this.diagnostic('link-failed', `Could not link directly to ${peerId}: ${(error as Error)?.message ?? String(error)}. Its updates still arrive through the host.`, { peerId })
  }

  private adoptPeerLink(link: Link, peerId: string, entry: Negotiation): void {
    if (this.negotiating.get(peerId) !== entry || !this.wantsLink(this.self.id, peerId) || !this.peers.has(peerId) || this.connOf(peerId)) {
      link.close('not-needed')
      return
    }
    this.negotiating.delete(peerId)
    this.clock.clearTimeout(entry.timer)
    const conn = this.attach(link)
    conn.peerId = peerId
    this.reportLinks()
  }

  /** Guest: closes links the topology no longer wants (star, or a peer that left). */
  private pruneGuestLinks(): void {
    let changed = false
    for (const conn of [...this.conns]) {
      if (conn === this.hostConn || !conn.peerId || conn.fenced) continue
      if (this.peers.has(conn.peerId) && this.wantsLink(this.self.id, conn.peerId)) continue
      this.detach(conn, this.peers.has(conn.peerId) ? 'star' : 'peer-left')
      changed = true
    }
    for (const peerId of [...this.negotiating.keys()]) {
      if (!this.peers.has(peerId) || !this.wantsLink(this.self.id, peerId)) this.stopNegotiating(peerId)
    }
    if (changed) this.reportLinks()
  }

  private reportLinks(): void {
    const peers = [...this.conns].filter((c) => c !== this.hostConn && c.peerId).map((c) => c.peerId!)
    this.toHost({ v: PROTOCOL_VERSION, t: 'links', peers })
  }

  private toHost(message: WireMessage): void {
    if (this.hostConn) this.sendTo(this.hostConn, message)
  }

  // ---------------------------------------------------------------- internals: failover

  /**
   * The host is gone (goodbye, closed link, or silence past the hard timeout). Survivors
   * elect the best-ranked of them; local changes keep queueing in the outbox meanwhile.
   * `handedOver`: the host said goodbye, so it no longer counts in the electorate.
   */
  private onHostLost(reason: string, handedOver = false): void {
    const lostId = this.hostId
    this.hostConn = null
    if (lostId) this.emit('session-host-lost', { hostId: lostId })
    if (!this.bootstrapped) return this.finish('host-lost')
    if (lostId) this.forgetPeer(lostId, reason)
    this.startElection(lostId, handedOver)
  }

  /** Removes a peer from this guest's view at once (the host's roster would say so later). */
  private forgetPeer(peerId: string, reason: string): void {
    const peer = this.peers.get(peerId)
    this.peers.delete(peerId)
    this.rank = this.rank.filter((id) => id !== peerId)
    if (peer) this.emit('session-peer-dropped', { peer, reason })
  }

  private startElection(lostHost: string | null, handedOver: boolean): void {
    if (this.lifecycle.state === 'connected') this.lifecycle.to('reconnecting')
    if (this.election) this.clock.clearTimeout(this.election.timer)
    const generation = this.generation
    this.election = {
      epoch: this.epoch,
      lostHost,
      quorum: quorumOf({ succession: this.succession, lostHost, handedOver }),
      votes: new Map([[this.self.id, this.seq]]),
      backers: new Set(),
      alive: new Set(),
      timer: this.clock.setTimeout(() => generation === this.generation && this.decide(), this.electionMs),
    }
    this.broadcast({ v: PROTOCOL_VERSION, t: 'candidate', epoch: this.epoch, seq: this.seq })
    this.maybeDecide()
  }

  private get electionMs(): number {
    return this.options.electionTimeoutMs ?? 1_500
  }

  private eligible(peerId: string): boolean {
    const access = peerId === this.self.id ? this.self.access : this.successionAccess.get(peerId)
    return access !== 'viewer'
  }

  private onCandidate(conn: Conn, message: MessageOf<'candidate'>): void {
    const sender = conn.peerId!
    if (this.role === 'host') {
      // A survivor late to an election I won, or one from a split-off side: take it back.
      if (message.epoch <= this.epoch && !message.alive) this.takeBack(conn)
      return
    }
    if (message.epoch < this.epoch) return
    if (!this.election && message.epoch === this.epoch && !message.alive && this.hostConn) {
      // Someone lost the host before we noticed. If our link to it is quiet too, it is gone;
      // otherwise say so: the host lives, only their link to it failed.
      if (!this.hostConn.stale) return this.sendTo(conn, { v: PROTOCOL_VERSION, t: 'candidate', epoch: this.epoch, seq: this.seq, alive: true })
      this.hostConn.fenced = true
      this.onHostLost('timeout')
    }
    const election = this.election
    if (!election || message.epoch !== election.epoch || !election.quorum.members.has(sender)) return
    if (message.alive) election.alive.add(sender)
    else {
      election.alive.delete(sender)
      election.votes.set(sender, message.seq)
    }
    this.maybeDecide()
  }

  /** Our host stepped down for a successor: its hello is ours to follow, whether it came already or comes next. */
  private onHandover(message: MessageOf<'handover'>): void | Promise<void> {
    this.handedTo = { hostId: message.hostId, epoch: message.epoch }
    const early = this.earlyClaim
    this.earlyClaim = null
    if (early && early.hello.hostId === message.hostId && early.hello.epoch === message.epoch && this.conns.has(early.conn)) {
      return this.followNewHost(early.conn, early.hello)
    }
  }

  /** A survivor backs us as the new host. */
  private onBack(conn: Conn, message: MessageOf<'back'>): void {
    const election = this.election
    if (!election || message.epoch !== election.epoch || !election.quorum.members.has(conn.peerId!)) return
    election.backers.add(conn.peerId!)
    this.maybeTakeOver()
  }

  /** Decides as soon as every survivor this peer is linked to has stood (or said the host lives). */
  private maybeDecide(): void {
    const election = this.election
    if (!election || election.backed) return
    const linked = [...this.conns].filter((c) => c.peerId && !c.fenced && election.quorum.members.has(c.peerId))
    if (linked.every((c) => election.votes.has(c.peerId!) || election.alive.has(c.peerId!))) this.decide()
  }

  /** Backs the best-ranked eligible candidate heard, once; if that is us, we gather backing. */
  private decide(): void {
    const election = this.election
    if (!election || election.backed) return
    this.clock.clearTimeout(election.timer)
    const winner = chooseWinner(election.votes.keys(), this.succession, (id) => this.eligible(id))
    if (!winner) return this.giveUp(election.alive.size ? 'host-unreachable' : 'no-new-host')
    election.backed = winner
    const generation = this.generation
    const expire = (ms: number, reason: keyof typeof ELECTION_FAILURES) =>
      (election.timer = this.clock.setTimeout(() => {
        if (generation === this.generation && this.election === election) this.giveUp(reason)
      }, ms))
    if (winner !== this.self.id) {
      const conn = this.connOf(winner)
      if (conn) this.sendTo(conn, { v: PROTOCOL_VERSION, t: 'back', epoch: election.epoch })
      // Backing is final: a winner that never greets us may have taken over all the same.
      expire(3 * this.electionMs, 'no-new-host')
      return
    }
    expire(2 * this.electionMs, election.alive.size ? 'host-unreachable' : 'isolated')
    if (!this.canGatherQuorum(election)) return
    this.maybeTakeOver()
  }

  /**
   * Standing, whether a majority may still back us: only linked members can (no new link
   * forms without a host), and not those that say the host lives. Gives up at once when not.
   */
  private canGatherQuorum(election: Election): boolean {
    const { members, needed } = election.quorum
    const reachable = [...this.conns].filter((c) => c.peerId && !c.fenced && members.has(c.peerId) && !election.alive.has(c.peerId)).length
    if (reachable + (members.has(this.self.id) ? 1 : 0) >= needed) return true
    this.giveUp(election.alive.size ? 'host-unreachable' : 'isolated')
    return false
  }

  /** The winner, once a majority backs it: catch up from the survivor furthest ahead, then take over. */
  private maybeTakeOver(): void {
    const election = this.election
    if (!election || election.backed !== this.self.id || election.catchup) return
    const backing = election.backers.size + (election.quorum.members.has(this.self.id) ? 1 : 0)
    if (backing < election.quorum.needed) return
    this.clock.clearTimeout(election.timer)
    const [aheadId, aheadSeq] = furthestAhead(election.votes) ?? [this.self.id, this.seq]
    const ahead = this.connOf(aheadId)
    if (aheadSeq <= this.seq || !ahead || !election.backers.has(aheadId)) return this.serial(() => this.becomeHost())
    // Catch up first: no delta any survivor applied may be lost.
    election.catchup = ahead
    election.target = aheadSeq
    this.sendTo(ahead, { v: PROTOCOL_VERSION, t: 'catchup', from: this.seq + 1 })
    const generation = this.generation
    election.timer = this.clock.setTimeout(() => {
      if (generation !== this.generation || this.election !== election) return
      this.diagnostic('catchup-incomplete', `Took over at #${this.seq}; ${aheadId} was at #${aheadSeq} but did not send the rest.`)
      this.serial(() => this.becomeHost())
    }, this.electionMs)
  }

  /** No host could be agreed on: end rather than host a copy of the session while others go on. */
  private giveUp(reason: keyof typeof ELECTION_FAILURES): void {
    const unsent = this.outbox.size ? ` ${this.outbox.size} unsent change(s) could not be delivered.` : ''
    this.diagnostic('election-failed', `${ELECTION_FAILURES[reason]}${unsent}`, { reason })
    this.broadcast({ v: PROTOCOL_VERSION, t: 'bye', reason: 'disconnected' })
    this.finish(reason)
  }

  /** After a catch-up delta or snapshot: take over once we hold everything anyone applied. */
  private async afterCatchup(): Promise<void> {
    const election = this.election
    if (election?.catchup && this.seq >= (election.target ?? 0)) await this.becomeHost()
  }

  private async becomeHost(): Promise<void> {
    const election = this.election
    if (!election || this.role !== 'guest') return
    this.clock.clearTimeout(election.timer)
    this.election = null
    this.epoch = election.epoch + 1
    this.hostId = this.self.id
    this.setRole('host')
    // Whoever has no link to us is out of reach; a linked one that did not stand is only slow.
    for (const id of [...this.rank]) {
      const conn = this.connOf(id)
      if (id !== this.self.id && (!conn || conn.fenced)) this.forgetPeer(id, 'unreachable')
    }
    this.rank = [this.self.id, ...this.rank.filter((id) => id !== this.self.id)]
    for (const [id, peer] of this.peers) this.peers.set(id, { ...peer, role: 'guest' })
    this.reported = new Map()
    this.requested = new Set()
    this.setTopology()
    // Survivors (and a thawed old host) may hand over deltas we lack, for a while.
    const witnesses = new Set(election.quorum.members)
    if (election.lostHost) witnesses.add(election.lostHost)
    this.handover = { witnesses, until: this.clock.now() + 3 * this.heartbeat.hardTimeoutMs }
    // Our own unconfirmed changes become authoritative right after the hello. The digest
    // describes our state once they are out (at `digestSeq`), so followers compare it there.
    this.forkSeq = this.seq
    const own = this.outbox.pending().filter((entry) => !this.seen.has(entry.intentId))
    for (const entry of own) if (entry.overwritten) await this.applyChange({ p: entry.providerId, d: entry.payload }, this.self.id, entry.intentId)
    this.lastDigest = { digest: await this.stateDigest(), seq: this.seq + own.length }
    for (const conn of this.conns) if (conn.peerId && !conn.fenced && this.peers.has(conn.peerId)) this.sendHello(conn, this.lastDigest)
    if (this.lifecycle.state === 'reconnecting') this.lifecycle.to('connected')
    this.outbox.clear()
    for (const entry of own) this.broadcastDelta(entry.intentId, this.self.id, [{ p: entry.providerId, d: entry.payload }])
    this.requestMeshLinks()
  }

  private sendHello(conn: Conn, digest?: { digest: string; seq: number }): void {
    this.sendTo(conn, {
      v: PROTOCOL_VERSION, t: 'hello', sessionId: this._sessionId!, epoch: this.epoch, hostId: this.self.id,
      rank: this.rank, peers: this.rosterPeers(), mesh: this.mesh, seq: this.seq,
      ...(digest ? { digest: digest.digest, digestSeq: digest.seq } : {}),
      ...(this.forkSeq !== null ? { forkSeq: this.forkSeq } : {}),
    })
  }

  /** A delta from our own replay log: bytes we validated (or encoded) ourselves. */
  private readonly keptDelta = (bytes: Uint8Array): MessageOf<'delta'> => decodeMessage(bytes, this.limits.maxMessageBytes) as MessageOf<'delta'>

  /** Follower: at the sequence number the takeover digest describes, compare; differ → re-bootstrap. */
  private async checkDigest(): Promise<void> {
    const check = this.digestCheck
    if (!check || this.seq < check.seq || this.rebootstrapping) return
    this.digestCheck = null
    if (this.seq > check.seq || check.digest === (await this.stateDigest())) return
    this.diagnostic('digest-mismatch', `State differs from the new host's at #${check.seq}; fetching a fresh snapshot.`)
    this.rebootstrap()
  }

  /** A hash over every provider's canonical snapshot. */
  private async stateDigest(): Promise<string> {
    return digestOf(await this.collectSnapshot())
  }

  /**
   * A survivor hears from the new host (or a fenced old host hears from its successor):
   * follow it, fetch what we lack, and re-send our unconfirmed intents with their ids.
   */
  private async followNewHost(conn: Conn, message: MessageOf<'hello'>): Promise<void> {
    const wasHost = this.role === 'host'
    const oldEpoch = this.epoch
    // Our guests on the losing side that the winner does not know: let them go, so they elect again and find it.
    const myGuests = wasHost ? [...this.conns].filter((c) => c !== conn && c.peerId && !c.fenced) : []
    if (this.election) this.clock.clearTimeout(this.election.timer)
    this.election = null
    this.handover = null
    this.handedTo = null
    this.earlyClaim = null
    this.isolatedAt = null
    this.isolatedSince = null
    conn.fenced = false
    this.hostConn = conn
    // A demoted host holds state as good as a bootstrap; its changes go out as intents now.
    this.bootstrapped = true
    this.hostId = message.hostId
    this.epoch = message.epoch
    this.setRole('guest')
    this.onRoster(message.rank, message.peers, message.mesh)
    if (this.lifecycle.state === 'reconnecting') this.lifecycle.to('connected')
    // Deltas we applied that the new host never got: hand them over, with their ids and origins.
    // A demoted host hands over everything of its own epoch: the winner's lineage lacks all of it.
    // Older-epoch deltas past the new host's fork are from a lineage it does not share (an old
    // host that went on after it was replaced): hand them over too, then take its state afresh.
    const fork = message.forkSeq
    const forked = fork === undefined || wasHost ? [] : this.replay.all().map(this.keptDelta).filter((d) => d.epoch < message.epoch && d.seq > fork)
    const ahead = wasHost
      ? this.replay.all().map(this.keptDelta).filter((d) => d.epoch === oldEpoch || d.seq > message.seq)
      : forked.length ? forked
      : this.seq > message.seq ? this.replay.range(message.seq + 1, this.seq)?.map(this.keptDelta) : []
    for (const delta of ahead ?? []) {
      this.sendTo(conn, { v: PROTOCOL_VERSION, t: 'forward', id: delta.id, origin: delta.origin, changes: delta.changes })
    }
    if (!wasHost && ahead?.length) this.seq = message.seq
    for (const guest of myGuests) {
      const known = message.peers.some((p) => p.id === guest.peerId)
      this.sendTo(guest, known ? { v: PROTOCOL_VERSION, t: 'handover', epoch: message.epoch, hostId: message.hostId } : { v: PROTOCOL_VERSION, t: 'bye', reason: 'merged' })
    }
    // Whatever we were waiting for from the old host will not come: start over with this one.
    this.reorder = new Map()
    this.earlyDeltas = []
    this.rebootstrapping = false
    this.resendRequested = -1
    this.digestCheck = !ahead?.length && !forked.length && message.digest !== undefined ? { digest: message.digest, seq: message.digestSeq ?? message.seq } : null
    if (wasHost || forked.length || !ahead) this.rebootstrap()
    // Whatever it issued since its hello (which may have waited for our host's word) too.
    else this.sendTo(conn, { v: PROTOCOL_VERSION, t: 'resend', from: this.seq + 1 })
    this.reportLinks()
    this.flushOutbox()
    await this.checkDigest()
  }

  /**
   * New host: a peer of the old epoch speaks (a thawed old host, or a survivor late to the
   * election). The hello fences it — it follows us — and it is a guest of ours again.
   */
  private takeBack(conn: Conn): void {
    const peerId = conn.peerId!
    conn.fenced = false
    conn.admittedAt ??= this.clock.now()
    if (!this.peers.has(peerId)) {
      const access = conn.access ?? this.successionAccess.get(peerId)
      const peer: PeerInfo = { id: peerId, name: this.formerNames.get(peerId) ?? peerId, role: 'guest', ...(access === 'viewer' ? { access } : {}) }
      this.peers.set(peerId, peer)
      this.rank.push(peerId)
      this.setTopology()
      this.broadcast(this.rosterMessage(), conn)
      this.emit('session-peer-joined', { peer })
    }
    this.sendHello(conn, this.lastDigest)
    this.requestMeshLinks()
  }

  // ---------------------------------------------------------------- internals: liveness

  private scheduleHeartbeat(): void {
    const generation = this.generation
    this.heartbeatTimer = this.clock.setTimeout(() => {
      if (generation !== this.generation) return
      this.beat()
      this.scheduleHeartbeat()
    }, this.heartbeat.intervalMs)
  }

  /** Pings every admitted link and judges silence: stale at the soft timeout, dead at the hard one. */
  private beat(): void {
    const now = this.clock.now()
    // After our own stall, what arrived meanwhile is handled first: judge nobody this beat.
    const stalled = this.noticeStall(now)
    this.lastBeat = now
    if (!stalled && this.role === 'host') this.checkIsolation(now)
    if (!this.isActive()) return
    for (const conn of [...this.conns]) {
      const silence = now - conn.lastHeard
      // A fenced peer that never speaks again (it crashed) is let go after a second hard timeout.
      if (conn.fenced && silence >= 2 * this.heartbeat.hardTimeoutMs) this.detach(conn, 'timeout')
      if (!conn.peerId || conn.fenced) continue
      if (!stalled && silence >= this.heartbeat.hardTimeoutMs) {
        conn.fenced = conn === this.hostConn || this.role === 'host'
        if (conn === this.hostConn) this.onHostLost('timeout')
        // The host keeps the link, fenced: a guest back from a long stall is taken back when it speaks.
        else if (this.role === 'host') this.dropPeer(conn.peerId, 'timeout')
        else {
          this.detach(conn, 'timeout')
          this.forgetPeer(conn.peerId, 'timeout')
        }
        if (!this.isActive()) return
        continue
      }
      if (silence >= this.heartbeat.softTimeoutMs && !conn.stale) {
        conn.stale = true
        this.emit('session-reconnecting', { peerId: conn.peerId })
      }
      this.sendTo(conn, { v: PROTOCOL_VERSION, t: 'ping', n: Math.floor(now) })
      conn.link.getStats?.().then((stats) => (conn.stats = stats), () => {})
    }
    this.updateConnectivity()
  }

  /**
   * Our own event loop stood still (a busy tab, a frozen page): a timer fired far past its
   * time. The silence is ours, not theirs, so every link gets a fresh heartbeat window.
   */
  private noticeStall(now: number): boolean {
    const late = this.lastBeat > 0 ? now - this.lastBeat - this.heartbeat.intervalMs : 0
    if (late <= this.heartbeat.intervalMs) return false
    this.lastBeat = now
    for (const conn of this.conns) conn.lastHeard = now
    // Long enough for the others to have given up on us: a successor's hello may be real.
    if (this.role === 'host' && late >= this.heartbeat.softTimeoutMs) this.isolatedAt = now
    this.diagnostic('stalled', `This page stood still for ${Math.round(late)} ms; links get a fresh heartbeat window before anyone is judged silent.`)
    return true
  }

  /**
   * Host: whether the peers it cannot hear could elect a successor without it: a majority of
   * the session as they last saw it (peers admitted since they went quiet are not in their
   * roster). Then a successor's hello may be real; and if that lasts past the time our links
   * to them are kept, the others carry on without us: we end rather than host a second copy.
   */
  private checkIsolation(now: number): void {
    const members = [...this.conns].filter((c) => c.peerId && (c.fenced || this.peers.has(c.peerId)))
    const silent = members.filter((c) => c.fenced || now - c.lastHeard >= this.heartbeat.softTimeoutMs)
    const since = Math.min(...silent.map((c) => c.lastHeard))
    const electorate = 1 + members.filter((c) => (c.admittedAt ?? 0) <= since).length
    if (!silent.length || electorate < 3 || silent.length < Math.floor(electorate / 2) + 1) {
      this.isolatedSince = null
      return
    }
    this.isolatedAt = now
    this.isolatedSince ??= now
    if (now - this.isolatedSince >= 2 * this.heartbeat.hardTimeoutMs) this.giveUp('cut-off')
  }

  private heard(conn: Conn): void {
    conn.lastHeard = this.clock.now()
    if (!conn.stale) return
    conn.stale = false
    this.updateConnectivity()
  }

  /**
   * `reconnecting` while the links this peer depends on are all stale: a guest's link to
   * its host; for the host, every guest link (one quiet guest is that guest's problem).
   */
  private updateConnectivity(): void {
    const state = this.lifecycle.state
    if ((state !== 'connected' && state !== 'reconnecting') || this.election) return
    const admitted = [...this.conns].filter((c) => c.peerId && !c.fenced)
    const cutOff = this.role === 'guest' ? !!this.hostConn?.stale : admitted.length > 0 && admitted.every((c) => c.stale)
    if (cutOff && state === 'connected') this.lifecycle.to('reconnecting')
    else if (!cutOff && state === 'reconnecting') this.lifecycle.to('connected')
  }

  // ---------------------------------------------------------------- internals: view deltas

  private async onView(conn: Conn, message: MessageOf<'view'>): Promise<void> {
    if (message.origin === this.self.id) return
    const key = `${message.origin}\u0000${message.p}\u0000${String(message.d.viewerId ?? '')}`
    const last = this.viewState.get(key)
    if (last !== undefined && message.n <= last) return
    this.viewState.set(key, message.n)
    if (this.role === 'host') {
      const bytes = encodeMessage(message)
      const direct = this.reported.get(message.origin)
      for (const other of this.conns) {
        if (other.peerId && other !== conn && !direct?.has(other.peerId)) this.sendBytes(other, bytes)
      }
    }
    const provider = this.registry.get(message.p)
    if (!provider) {
      this.diagnostic('unknown-provider', `View delta for provider "${message.p}", which this page does not have; skipped.`, { providerId: message.p })
      return
    }
    const { ok, viewer } = this.resolveViewer(provider, message.d.viewerId, message.origin)
    if (!ok) return
    const meta: SessionDeltaMeta<V> = { remote: true, origin: message.origin, role: this.role ?? 'guest', viewer, view: true }
    await this.callProvider(provider.id, 'applyDelta', () => provider.applyDelta({ ...message.d }, meta as SessionDeltaMeta), {})
  }

  // ---------------------------------------------------------------- internals: misc

  private packSignal(signal: Signal): Uint8Array {
    return this.transport.signalCodec ? this.transport.signalCodec.pack(signal) : new TextEncoder().encode(signal)
  }

  private unpackSignal(bytes: Uint8Array): Signal {
    return this.transport.signalCodec ? this.transport.signalCodec.unpack(bytes) : new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  }

  private diagnostic(code: string, message: string, extra: Partial<SessionEvents['session-diagnostic']> = {}): void {
    this.emit('session-diagnostic', { code, message, ...stripUndefined(extra) })
  }

  private emit<K extends keyof SessionEvents>(type: K, payload: SessionEvents[K]): void {
    this.events.emit(type, payload)
    try {
      this.options.emitter?.emit(type, payload)
    } catch {
      // A faulty mirror must not break the session; the primary event has been delivered.
    }
  }
}

/** Thrown by createInvite when the link would be too long; `invite.code` can be pasted instead. */
export class InviteTooLongError extends InviteError {
  constructor(readonly invite: SessionInvite, readonly maxLength: number) {
    super('invite-too-long', `${invite.url.length} > ${maxLength} characters`)
  }
}

function stripIntent(delta: SessionDelta): Record<string, unknown> {
  const { intentId: _drop, ...rest } = delta
  return rest
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T
}
