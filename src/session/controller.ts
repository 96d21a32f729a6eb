/**
 * The session controller: one per page (or several per process in tests and benchmarks).
 * This file is the public façade only — lifecycle, queries, app wiring. The parts that run
 * a session (see ARCHITECTURE.md) are the engine, loaded with the first call that needs one
 * (engine-loader.ts); until then the queries answer for an idle controller. It sees the
 * network only through the Transport seam, and time and randomness only through Clock and
 * Random, so a seed replays exactly.
 */
import { lazySavedSessions, type SavedSessionsApi } from '../journal/saved-facade.js'
import { SessionStateError } from '../errors.js'
import type { RelayListenerState } from '../relay/index.js'
import { NO_RELAY_LISTENER } from '../relay/idle.js'
import type { LinkStats } from '../transport/transport.js'
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
import { makeCore } from './core.js'
import { peersOf } from './peers.js'
import { type CompatibilityReport, DeclaredModules, guardPluginLoad } from './compat.js'
import { NO_ICE_NOTICE, withDefaults } from './defaults.js'
import { loadedEngine, loadEngine } from './engine-loader.js'
import { type CoreEvents, forApp, type SessionEventHandler, SessionEventHub } from './events.js'
import { registerCore } from './internals.js'
import type { ResumeResult } from '../journal/store.js'
import { type SessionStats, sessionStats } from './stats.js'
import type { SessionState } from './lifecycle.js'
import type { SessionSyncOptions } from './options.js'
import type { Parts } from './parts.js'
import type { Core } from './state.js'

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
    const core = makeCore<V>(options, {
      emit: (type, payload) => this.emit(type, payload),
      isActive: () => this.isActive(),
      getSelf: () => this.getSelf(),
    })
    this.core = core
    this.saved = lazySavedSessions({
      journal: async () => (await this.engine()).journaling.journal(),
      current: async () => (await this.engine()).participants.stateNow(),
      open: async (saved) => (await this.engine()).restoring.openSaved(saved.entries, () => this.start()),
      now: () => core.clock.now(),
    })
    // With the engine here already (another controller loaded it, or the testing entry gave it), the parts are made now.
    const engine = loadedEngine()
    if (engine) this.install(engine.installEngine)
    this.ready = !!engine && !core.transport.prepare
    // Not session logic, so not the Clock's: a failure here is left for the call that needs the engine to report.
    if (!this.ready && options.preload !== 'none') whenIdle(() => void this.load().catch(() => undefined))
    registerCore(this, core)
  }

  private get parts(): Parts<V> {
    return this.core.parts
  }

  /** Whether the engine's parts are made: until then no session has run here, and the queries answer for an idle controller. */
  private installed = false
  /** Whether the parts are made and the transport's links are loaded: a session can begin without waiting. */
  private ready = false

  private install(installEngine: (core: Core<V>) => void): void {
    if (this.installed) return
    installEngine(this.core)
    this.installed = true
  }

  private async load(): Promise<Parts<V>> {
    this.install((await loadEngine(this.core.transport)).installEngine)
    this.ready = true
    return this.parts
  }

  /**
   * The engine's parts, loading them (and the transport's links) first when need be. A failed
   * load rejects the call that needed it with `engine-unavailable`, said as a diagnostic too.
   */
  private async engine(): Promise<Parts<V>> {
    if (this.ready) return this.parts
    try {
      return await this.load()
    } catch (error) {
      this.core.diagnostic('engine-unavailable', (error as Error).message, { error })
      throw error
    }
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
    return this.installed && this.parts.bridge.isApplyingRemote()
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
    if (this.installed) this.parts.restoring.providerAdded(p)
    return () => {
      if (!this.core.registry.remove(p) || !this.installed) return
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
    // No await when the engine is here: a test's start() keeps the timing it always had.
    const parts = this.ready ? this.parts : await this.engine()
    await this.checkCompatibility()
    this.assertIdle('start')
    parts.sessions.host()
  }

  /**
   * Open a seat: an offer packed into a link. One invite admits one guest, once; with a
   * relay, `seats` > 1 makes a room link that seats that many (each still admitted by
   * `admit`), for `ttlMs`. `access`: 'editor' (default) may change things; 'viewer' may
   * only look and point. Changes come as `session-invite-changed`.
   */
  createInvite(options: { access?: SessionAccess; seats?: number; ttlMs?: number } = {}): Promise<SessionInvite> {
    return this.engine().then((parts) => parts.invites.createInvite(options))
  }

  /** Host: this session's invites and room links, open or not, with their status in words. */
  listInvites(): SessionInviteInfo[] {
    return this.installed ? this.parts.invites.listInvites() : []
  }

  /** Host: withdraws an invite or room link; its link stops working on the relay. */
  revokeInvite(inviteId: string): Promise<void> {
    return this.engine().then((parts) => parts.invites.revokeInvite(inviteId))
  }

  /** Host: a new link like an expired, burned or lost one (the old one is revoked). */
  reissueInvite(inviteId: string): Promise<SessionInvite> {
    return this.engine().then((parts) => parts.invites.reissueInvite(inviteId))
  }

  /** Host: the relay listener's state (`session-relay-state` reports each change). */
  getRelayState(): RelayListenerState {
    return this.installed ? this.parts.invites.relayState : NO_RELAY_LISTENER
  }

  /** Complete a guest's link from the answer code it sent back. */
  acceptAnswer(answerCode: string): Promise<void> {
    return this.engine().then((parts) => parts.invites.acceptAnswer(answerCode))
  }

  /** Host: removes a guest. It is told, its links go on every peer, and it cannot come back. */
  kick(peerId: string, reason = 'removed'): void {
    if (!this.installed) throw new SessionStateError('not-host', 'Only the host can remove a peer.')
    this.parts.host.kick(peerId, reason)
  }

  // ---------------------------------------------------------------- guest

  /** What an invite says before joining it: who invites, until when, seats left. Joins nothing. */
  previewInvite(urlOrFragment: string): Promise<SessionInvitePreview> {
    return this.engine().then((parts) => parts.invites.preview(urlOrFragment))
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
    const parts = this.ready ? this.parts : await this.engine()
    const opened = await parts.invites.open(urlOrFragment)
    await this.checkCompatibility()
    this.assertIdle('join')
    return parts.invites.answer(opened, () => parts.sessions.guest(opened.invite.sessionId))
  }

  /**
   * After a reload: this tab's session from its journal (null: none). With an invite from its
   * host now, rejoins as the same peer; without, keeps identity and outbox for the next `join()`.
   * A journal the store fails to read rejects with `JournalError` `journal-read-failed` and is kept: try again.
   */
  resume(invite?: string): Promise<ResumeResult | null> {
    return this.engine().then((parts) => parts.journaling.resume(invite, (url) => this.join(url)))
  }

  /** Resolves once everything journaled so far is on disk (e.g. before telling a person a change is safe). */
  flushJournal(): Promise<void> {
    return this.installed ? this.parts.journaling.flush() : Promise.resolve()
  }

  // ---------------------------------------------------------------- leaving

  /** Leave the session. When the host leaves, the others elect a new host and go on. */
  async leave(reason = 'left'): Promise<void> {
    if (this.inSession()) this.parts.sessions.depart(reason)
  }

  /** End the session for everyone (host only). */
  async end(reason = 'ended'): Promise<void> {
    if (!this.inSession()) return
    if (this.getRole() !== 'host') throw new SessionStateError('not-host', 'Only the host can end the session; guests can leave.')
    this.parts.sessions.depart(reason, true)
  }

  /**
   * Host: every provider's state as of now (an interim save, e.g. an export); the session
   * goes on. Guests hold copies, the host owns the document, so only the host may save.
   */
  async save(): Promise<SessionFinalSave> {
    if (this.getRole() !== 'host') throw new SessionStateError('not-host', 'Only the host owns the session state; ask the host to save.')
    return this.parts.sessions.save()
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
    if (this.inSession()) this.parts.sessions.depart('page-closed')
  }

  // ---------------------------------------------------------------- lifecycle

  /** In a session, and not on the way out of it. */
  private inSession(): boolean {
    return this.isActive() && this.core.lifecycle.state !== 'leaving'
  }

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

/** Runs `task` when the page is idle (soon, where there is no `requestIdleCallback`). */
function whenIdle(task: () => void): void {
  if (typeof requestIdleCallback === 'function') requestIdleCallback(task)
  else setTimeout(task, 0)
}
