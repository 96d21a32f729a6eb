/**
 * The session controller: one per page (or several per process in tests and benchmarks).
 * This file is the public façade only — lifecycle, queries, app wiring — over the parts
 * in this folder (see ARCHITECTURE.md). It sees the network only through the Transport
 * seam, and time and randomness only through Clock and Random, so a seed replays exactly.
 */
import { lazySavedSessions, type SavedSessionsApi } from '../journal/saved-facade.js'
import { SessionStateError } from '../errors.js'
import { ProviderRegistry } from '../providers/registry.js'
import { createRelayClient, type RelayListenerState } from '../relay/index.js'
import { systemClock } from '../runtime/clock.js'
import { systemRandom } from '../runtime/random.js'
import type { LinkStats } from '../transport/transport.js'
import { wire } from '../wire/build.js'
import type {
  SessionAccess,
  SessionEvents,
  SessionFinalSave,
  SessionInvite,
  SessionInviteInfo,
  SessionInvitePreview,
  SessionModule,
  RegisterOptions,
  SessionPeer,
  SessionRole,
  SessionSyncProvider,
  SessionViewer,
} from '../types.js'
import type { PeerInfo } from '../wire/messages.js'
import { pickColour } from './colours.js'
import { peersOf } from './peers.js'
import { type CompatibilityReport, DeclaredModules, guardPluginLoad } from './compat.js'
import { NO_ICE_NOTICE, withDefaults } from './defaults.js'
import { digestOf } from './digest.js'
import { Failover } from './failover.js'
import { type CoreEvents, forApp, type SessionEventHandler, SessionEventHub } from './events.js'
import { Follower } from './follower.js'
import { HostSide } from './host.js'
import { registerCore } from './internals.js'
import { Invites } from './invites.js'
import type { ResumeResult } from '../journal/store.js'
import { Journaling } from './journaling.js'
import { Participants } from './participants.js'
import { Readmission } from './readmission.js'
import { type SessionStats, sessionStats } from './stats.js'
import { Lifecycle, type SessionState } from './lifecycle.js'
import { Links } from './links.js'
import { Liveness } from './liveness.js'
import { LocalChanges } from './local-changes.js'
import { LruMap, LruSet } from './bounded.js'
import { Mesh } from './mesh.js'
import { resolveSettings, type SessionSyncOptions } from './options.js'
import type { Parts } from './parts.js'
import { ProviderBridge } from './provider-bridge.js'
import { Resync } from './resync.js'
import { Router } from './router.js'
import { Sessions } from './sessions.js'
import type { Core } from './state.js'
import { Takeover } from './takeover.js'
import { Views } from './views.js'

/**
 * One page's part in a live session: it keeps the registered providers of every peer in step, as host or guest, and survives the host's loss.
 *
 * Make one per page (`installSession` makes it `window.SESSION`); `start()` hosts, `join()` joins.
 *
 * @typeParam V The app's viewer type, handed back to per-viewer providers.
 */
export class SessionSyncController<V extends SessionViewer = SessionViewer> {
  private readonly hub: SessionEventHub
  private readonly core: Core<V>
  private readonly options: SessionSyncOptions
  private readonly modules = new DeclaredModules()
  /** Sessions saved by name in this profile (list, saveAs, open, importFile, clone, remove, clear): a ledger beside the live session. */
  readonly saved: SavedSessionsApi

  constructor(given: SessionSyncOptions = {}) {
    const options = withDefaults(given)
    this.options = options
    this.hub = new SessionEventHub(options.emitter)
    const random = options.random ?? systemRandom
    const { limits, heartbeat, timers } = resolveSettings(options)
    const parts = {} as Parts<V>
    const core: Core<V> = {
      transport: options.transport,
      clock: options.clock ?? systemClock,
      random,
      options,
      limits,
      heartbeat,
      timers,
      registry: new ProviderRegistry(),
      relay: options.relay ?? (options.signalingEndpoint ? createRelayClient({ endpoint: options.signalingEndpoint }) : undefined),
      viewers: new Map(),
      lifecycle: new Lifecycle((state, previous) => this.emit('session-state-changed', { state, previous })),
      formerNames: new LruMap(256),
      removed: new LruSet(1024),
      usedInvites: new LruSet(1024),
      received: new WeakMap(),
      self: { id: options.user?.id ?? random.id(timers.idSize), name: options.user?.name ?? 'Guest', role: 'guest' },
      session: null,
      ended: null,
      parts,
      emit: (type, payload) => {
        parts.participants.heard(type, payload)
        this.emit(type, payload)
      },
      diagnostic: (code, message, extra = {}) => this.emit('session-diagnostic', { code, message, ...stripUndefined(extra) }),
      setRole: (role) => parts.sessions.setRole(role),
      finish: (reason) => parts.sessions.finish(reason),
      isActive: () => this.isActive(),
      getSelf: () => this.getSelf(),
    }
    Object.assign(parts, {
      links: new Links(core),
      bridge: new ProviderBridge(core),
      local: new LocalChanges(core),
      router: new Router(core),
      host: new HostSide(core),
      follower: new Follower(core),
      mesh: new Mesh(core),
      failover: new Failover(core),
      takeover: new Takeover(core),
      liveness: new Liveness(core),
      views: new Views(core),
      invites: new Invites(core),
      resync: new Resync(core),
      journaling: new Journaling(core),
      readmission: new Readmission(core),
      participants: new Participants(core),
      sessions: new Sessions(core),
    } satisfies Parts<V>)
    this.core = core
    this.saved = lazySavedSessions({
      journal: () => parts.journaling.journal(),
      current: () => parts.participants.stateNow(),
      open: (saved) => parts.journaling.openSaved(saved.entries, () => this.start()),
      now: () => core.clock.now(),
    })
    registerCore(this, core)
  }

  private get parts(): Parts<V> {
    return this.core.parts
  }

  // ---------------------------------------------------------------- queries

  /** The current session's id, or null when idle. */
  get sessionId(): string | null {
    return this.core.session?.sessionId ?? null
  }

  /** Where the controller is in a session's life (see `TRANSITIONS`). */
  getState(): SessionState {
    return this.core.lifecycle.state
  }

  /** `host` or `guest` in a session; `none` when idle. */
  getRole(): SessionRole {
    return this.core.session?.role ?? 'none'
  }

  /** True from `hosting`/`joining` until back to `idle`: the plugin lock is engaged. */
  isActive(): boolean {
    return this.core.lifecycle.state !== 'idle'
  }

  /** This user as the others see it. */
  getSelf(): PeerInfo {
    return { ...this.core.self }
  }

  /** Sets this user's display name (and id) while no session is active. */
  setUser(user: { id?: string; name?: string }): void {
    if (this.isActive()) throw new SessionStateError('session-active', 'The user can only be changed between sessions.')
    this.core.self = { ...this.core.self, ...(user.id ? { id: user.id } : {}), ...(user.name ? { name: user.name } : {}) }
  }

  /** What this peer holds, cache by cache, in entries and bytes, beside each budget (see `limits`). */
  getStats(): SessionStats {
    return sessionStats(this.core)
  }

  /** Statistics of the direct link to a peer (candidate type, addresses, bytes), when linked. */
  async getLinkStats(peerId: string): Promise<LinkStats | undefined> {
    return this.core.session?.connOf(peerId)?.link.getStats?.()
  }

  /** Everyone in the session, this user included, in succession order (the host first); empty when idle. */
  getPeers(): SessionPeer[] {
    return peersOf(this.core)
  }

  /** Whether the transport has ICE servers; without them only same-network peers can join. */
  get hasIceServers(): boolean {
    return this.core.transport.hasIceServers ?? false
  }

  /** What to tell the user about reaching peers, when there is something to tell: no ICE servers configured. */
  get connectivityNotice(): string | null {
    return this.hasIceServers ? null : NO_ICE_NOTICE
  }

  /** Pending (unconfirmed) intents of this guest. */
  get pendingIntents(): number {
    return this.core.session?.outbox.size ?? 0
  }

  /** True while the controller applies a remote delta or snapshot: a provider's subscribe can skip those changes. */
  isApplyingRemote(): boolean {
    return this.parts.bridge.isApplyingRemote()
  }

  /** The typed emitter behind `on`/`off` (mitt). */
  get events() {
    return this.hub.emitter
  }

  /** Listens to one event; the returned function stops listening. */
  on<K extends keyof SessionEvents>(type: K, handler: SessionEventHandler<K>): () => void {
    return this.hub.on(type, handler)
  }

  /** Stops a handler `on` added. */
  off<K extends keyof SessionEvents>(type: K, handler: SessionEventHandler<K>): void {
    this.hub.off(type, handler)
  }

  /** `on`, under OpenSeadragon's EventSource name. */
  addHandler<K extends keyof SessionEvents>(type: K, handler: SessionEventHandler<K>): void {
    this.hub.on(type, handler)
  }

  /** `off`, under OpenSeadragon's EventSource name. */
  removeHandler<K extends keyof SessionEvents>(type: K, handler: SessionEventHandler<K>): void {
    this.hub.off(type, handler)
  }

  /** Calls this page's handlers of `type` (and the app's bus) with `payload`, as the controller does. */
  raiseEvent<K extends keyof SessionEvents>(type: K, payload: SessionEvents[K]): void {
    this.hub.emit(type, payload)
  }

  // ---------------------------------------------------------------- app wiring

  /**
   * Adds a provider; it takes part from the next session on, or at once if one is active. The returned function removes it.
   * `options.view`: every delta of this provider is a view delta, though it does not say so itself.
   *
   * @throws DuplicateProviderError when its id is taken.
   */
  registerProvider(provider: SessionSyncProvider<V, any, any>, options: RegisterOptions = {}): () => void {
    const p = provider as unknown as SessionSyncProvider
    this.core.registry.add(p, options)
    if (this.isActive()) this.parts.bridge.subscribeProvider(p)
    this.parts.journaling.providerAdded(p)
    return () => {
      if (!this.core.registry.remove(p)) return
      this.parts.bridge.unsubscribeProvider(p.id)
    }
  }

  /** The viewers per-viewer providers are called for, replacing any set before; each is known by its `uniqueId`, the same on every peer. */
  setViewers(viewers: Iterable<V>): void {
    this.core.viewers.clear()
    for (const viewer of viewers) this.core.viewers.set(viewer.uniqueId, viewer)
  }

  /** Adds (or replaces) one viewer by its `uniqueId`. */
  addViewer(viewer: V): void {
    this.core.viewers.set(viewer.uniqueId, viewer)
  }

  /** Forgets a viewer; a change for it is then skipped with an `unknown-viewer` diagnostic (the host declines it). */
  removeViewer(uniqueId: string): void {
    this.core.viewers.delete(uniqueId)
  }

  /** Tells the controller about an app module and its `sessionCompatible` declaration. */
  declareModule(module: SessionModule): () => void {
    return this.modules.declare(module)
  }

  /** The declared modules that would refuse a start (`false`) or ask first (undeclared). */
  scanCompatibility(): CompatibilityReport {
    return this.modules.scan()
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
    const session = this.parts.sessions.begin(this.core.random.id(this.core.timers.idSize), 'host')
    session.hostId = this.core.self.id
    session.epoch = 1
    session.rank = [this.core.self.id]
    session.succession = [this.core.self.id]
    this.core.self = { ...this.core.self, color: pickColour(this.core.self.id, []) }
    this.core.lifecycle.to('hosting')
    this.parts.bridge.subscribeAll()
    this.parts.liveness.scheduleHeartbeat()
    this.parts.invites.preload()
    this.core.emit('session-started', { sessionId: session.sessionId, role: 'host', self: this.getSelf() })
  }

  /**
   * Open a seat: an offer packed into a link. One invite admits one guest, once; with a
   * relay, `seats` > 1 makes a room link that seats that many (each still admitted by
   * `admit`), for `ttlMs`. `access`: 'editor' (default) may change things; 'viewer' may
   * only look and point. Changes come as `session-invite-changed`.
   */
  createInvite(options: { access?: SessionAccess; seats?: number; ttlMs?: number } = {}): Promise<SessionInvite> {
    return this.parts.invites.createInvite(options)
  }

  /** Host: this session's invites and room links, open or not, with their status in words. */
  listInvites(): SessionInviteInfo[] {
    return this.parts.invites.listInvites()
  }

  /** Host: withdraws an invite or room link; its link stops working on the relay. */
  revokeInvite(inviteId: string): Promise<void> {
    return this.parts.invites.revokeInvite(inviteId)
  }

  /** Host: a new link like an expired, burned or lost one (the old one is revoked). */
  reissueInvite(inviteId: string): Promise<SessionInvite> {
    return this.parts.invites.reissueInvite(inviteId)
  }

  /** Host: the relay listener's state (`session-relay-state` reports each change). */
  getRelayState(): RelayListenerState {
    return this.parts.invites.relayState
  }

  /** Complete a guest's link from the answer code it sent back. */
  acceptAnswer(answerCode: string): Promise<void> {
    return this.parts.invites.acceptAnswer(answerCode)
  }

  /** Host: removes a guest. It is told, its links go on every peer, and it cannot come back. */
  kick(peerId: string, reason = 'removed'): void {
    this.parts.host.kick(peerId, reason)
  }

  // ---------------------------------------------------------------- guest

  /** What an invite says before joining it: who invites, until when, seats left. Joins nothing. */
  previewInvite(urlOrFragment: string): Promise<SessionInvitePreview> {
    return this.parts.invites.preview(urlOrFragment)
  }

  /**
   * Open an invite. Returns the answer code for the guest to send back to the host — or,
   * for a relayed invite, posts it to the relay itself (`relayed: true`): nothing to paste.
   */
  async join(urlOrFragment: string): Promise<{
    /** The code for the guest to send back to the host; already delivered when `relayed`. */
    answerCode: string
    /** The host's `provision()`, carried in the invite (e.g. its plugin set). */
    provision?: unknown
    /** The answer went back through the relay: nothing to paste. */
    relayed: boolean
  }> {
    this.assertIdle('join')
    const opened = await this.parts.invites.open(urlOrFragment)
    await this.checkCompatibility()
    this.assertIdle('join')
    return this.parts.invites.answer(opened, () => {
      this.parts.sessions.begin(opened.invite.sessionId, 'guest')
      this.core.lifecycle.to('joining')
      this.parts.bridge.subscribeAll()
      this.parts.liveness.scheduleHeartbeat()
    })
  }

  /**
   * After a reload: this tab's session from its journal (null: none). With an invite from its
   * host now, rejoins as the same peer; without, keeps identity and outbox for the next `join()`.
   */
  resume(invite?: string): Promise<ResumeResult | null> {
    return this.parts.journaling.resume(invite, (url) => this.join(url))
  }

  /** Resolves once everything journaled so far is on disk (e.g. before telling a person a change is safe). */
  flushJournal(): Promise<void> {
    return this.parts.journaling.flush()
  }

  // ---------------------------------------------------------------- leaving

  /** Leave the session. When the host leaves, the others elect a new host and go on. */
  async leave(reason = 'left'): Promise<void> {
    if (!this.isActive() || this.core.lifecycle.state === 'leaving') return
    this.parts.links.broadcast(this.parts.sessions.farewell(reason))
    this.parts.sessions.finish(reason)
  }

  /** End the session for everyone (host only). */
  async end(reason = 'ended'): Promise<void> {
    if (!this.isActive() || this.core.lifecycle.state === 'leaving') return
    if (this.getRole() !== 'host') throw new SessionStateError('not-host', 'Only the host can end the session; guests can leave.')
    this.parts.links.broadcast(wire.end({ reason }))
    this.parts.sessions.finish(reason)
  }

  /**
   * Host: every provider's state as of now (an interim save, e.g. an export); the session
   * goes on. Guests hold copies, the host owns the document, so only the host may save.
   */
  async save(): Promise<SessionFinalSave> {
    const session = this.core.session
    if (session?.role !== 'host') throw new SessionStateError('not-host', 'Only the host owns the session state; ask the host to save.')
    const entries = await this.parts.bridge.collectSnapshot()
    return { sessionId: session.sessionId, seq: session.seq, digest: digestOf(entries), entries, peers: this.parts.participants.list() }
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
    if (!this.isActive() || this.core.lifecycle.state === 'leaving') return
    this.parts.links.broadcast(this.parts.sessions.farewell('page-closed'))
    this.parts.sessions.finish('page-closed')
  }

  // ---------------------------------------------------------------- lifecycle

  private assertIdle(action: string): void {
    if (this.isActive()) throw new SessionStateError('session-active', `Cannot ${action}: a session is already active. Leave it first.`)
  }

  private checkCompatibility(): Promise<void> {
    return this.modules.check((message) => this.core.diagnostic('undeclared-modules', message), this.options.confirmUndeclared)
  }

  private emit<K extends keyof CoreEvents>(type: K, payload: CoreEvents[K]): void {
    this.hub.emit(type, forApp<K>(payload))
  }
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T
}
