/**
 * Test page for whole sessions over real WebRTC (e2e/session*.spec.ts). A page holds one
 * or more SessionSyncControllers, each with its own WebRTC transport and a set of test
 * providers; the first one is installed as `window.SESSION`, so closing the page sends a
 * goodbye. Everything a test reads comes back as plain, structured-cloneable data.
 */
import {
  createWebRtcTransport,
  installSession,
  SessionError,
  SessionSyncController,
  type PeerInfo,
  type SessionAccess,
  type SessionDelta,
  type SessionDeltaMeta,
  type SessionEvents,
  type SessionInvite,
  type SessionPeer,
  type SessionRole,
  type SessionState,
  type SessionSyncOptions,
  type SessionSyncProvider,
  type SessionViewer,
  type Lane,
  type Link,
  type LinkMessage,
  type ResumeResult,
  type Transport,
} from '../../src/index.js'
import { makeBlob } from '../../test/helpers/blob.js'

export const VIEWERS: SessionViewer[] = [{ uniqueId: 'left' }, { uniqueId: 'right' }]

export interface PeerOptions {
  name?: string
  /** The transport's STUN/TURN servers. Default: none. */
  iceServers?: RTCIceServer[]
  heartbeat?: SessionSyncOptions['heartbeat']
  meshLimit?: number
  joinTimeoutMs?: number
  linkTimeoutMs?: number
  electionTimeoutMs?: number
  /** Passed through: invites go through this relay (one click), falling back to the paste flow. */
  signalingEndpoint?: string
  /** Passed through: a relayed answer not picked up within this is `session-answer-unclaimed`. */
  relayPickupMs?: number
  /**
   * Host's `admit` hook: 'accept' or 'refuse' everyone, or 'ask': each knock waits in the
   * page until the test decides (`knocks`, `decide`). Default: no hook.
   */
  admit?: 'accept' | 'refuse' | 'ask'
  /**
   * Wraps the peer's WebRTC transport so the test sees every link it opens (`links`) and can
   * write raw bytes on one (`sendRaw`), as a hostile or buggy peer would. The controller
   * still gets the transport's own Link objects; the tap only listens and remembers them.
   */
  tap?: boolean
  /**
   * With `tap`: every link after the first (the invite's, to the host) stays in the making,
   * as guest↔guest links do for seconds on a slow network: their offers are never answered.
   */
  holdPeerLinks?: boolean
  /**
   * Two failing providers beside the good ones (see `failingProviders`): 'throwing' throws in
   * snapshot, applySnapshot, applyDelta and its unsubscribe; 'rejecting' rejects in the first three.
   */
  failing?: boolean
}

/** A link a tapped peer opened (see PeerOptions.tap), as the test sees it. */
export interface TappedLink {
  /** Order in which the links opened in this peer, from 0. */
  n: number
  /** Which side of the signalling this peer was: it made the offer, or answered one. */
  via: 'offer' | 'answer'
  /** Date.now() in this page when the link opened, and when it closed (null while open). */
  openedAt: number
  closedAt: number | null
  closeReason: string | null
  /** Host ids named by the HELLOs that arrived on this link: who greeted us on it as host. */
  helloFrom: string[]
  /** The epochs those HELLOs named, in the same order. */
  helloEpochs: number[]
}

/** A guest knocking at a host whose `admit` is 'ask', as the hook saw it. */
export interface Knock {
  peer: PeerInfo
  invite: { inviteId: string; access: SessionAccess }
}

/** What `join` resolved with, beyond the answer code. */
export interface Joined {
  answerCode: string
  relayed: boolean
}

/** An applyDelta call, as the provider saw it (the viewer by id). */
export interface Applied {
  provider: string
  delta: SessionDelta
  meta: Omit<SessionDeltaMeta, 'viewer'> & { viewer: string | null }
  /** performance.now() in this page. */
  at: number
}

export interface RecordedEvent {
  type: keyof SessionEvents
  payload: any
  at: number
  /** Date.now() in this page: comparable across pages and with the test's own clock. */
  wall: number
}

export interface BlobInfo {
  length: number
  /** FNV-1a 32 over the UTF-16 code units, hex. */
  hash: string
  head: string
  tail: string
}

export interface PeerView {
  self: PeerInfo
  state: SessionState
  role: SessionRole
  sessionId: string | null
  peers: SessionPeer[]
  pendingIntents: number
  kv: Record<string, unknown>
  layers: Record<string, Record<string, unknown>>
  /** Last cursor position applied per origin. */
  cursors: Record<string, unknown>
  blob: BlobInfo
}

/** A rejection, kept apart from a crash so tests can assert on its code and message. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; name: string; code: string; message: string }

type Emit = (delta: SessionDelta) => string | void

interface Peer {
  controller: SessionSyncController
  kv: Record<string, unknown>
  layers: Record<string, Record<string, unknown>>
  cursors: Record<string, unknown>
  blob: string
  /** Computed when the blob changes: hashing MBs on every poll would slow the page. */
  blobInfo: BlobInfo
  emitters: Map<string, Emit>
  applied: Applied[]
  events: RecordedEvent[]
  /** Paced bursts of kv sets (see `burst`), by key prefix. */
  bursts: Map<string, BurstState>
  /** Knocks waiting for the test's decision (admit: 'ask'). */
  knocks: Array<Knock & { decide: (ok: boolean) => void }>
  /** Links of a tapped transport (PeerOptions.tap), in opening order; null when not tapped. */
  tapped: Array<TappedLink & { link: Link }> | null
}

/** A burst of kv sets: the intent ids made so far, and whether all were made. */
export interface BurstState {
  ids: string[]
  done: boolean
}

const peers: Peer[] = []

function plain<T>(value: T): T {
  return JSON.parse(
    JSON.stringify(value, (_key, v: unknown) =>
      v instanceof Error ? { name: v.name, message: v.message, code: (v as Error & { code?: string }).code } : v,
    ),
  ) as T
}

function peerAt(index: number): Peer {
  const peer = peers[index]
  if (!peer) throw new Error(`No peer #${index} in this page`)
  return peer
}

function record(peer: Peer, provider: string, delta: SessionDelta, meta: SessionDeltaMeta): void {
  peer.applied.push({ provider, delta: plain(delta), meta: plain({ ...meta, viewer: meta.viewer?.uniqueId ?? null }), at: performance.now() })
}

function providersFor(peer: Peer): SessionSyncProvider[] {
  const subscribe = (id: string) => (emit: Emit) => {
    peer.emitters.set(id, emit)
    return () => peer.emitters.delete(id)
  }
  const kv: SessionSyncProvider = {
    id: 'kv',
    scope: 'global',
    priority: 20,
    snapshot: () => ({ ...peer.kv }),
    applySnapshot: (data) => {
      peer.kv = { ...(data as Record<string, unknown>) }
    },
    subscribe: subscribe('kv'),
    applyDelta: (delta, meta) => {
      record(peer, 'kv', delta, meta)
      peer.kv[String(delta.key)] = delta.value
    },
  }
  const layers: SessionSyncProvider = {
    id: 'layers',
    scope: 'per-viewer',
    priority: 10,
    snapshot: (viewer) => ({ ...peer.layers[viewer!.uniqueId] }),
    applySnapshot: (data, viewer) => {
      peer.layers[viewer!.uniqueId] = { ...(data as Record<string, unknown>) }
    },
    subscribe: subscribe('layers'),
    applyDelta: (delta, meta) => {
      record(peer, 'layers', delta, meta)
      const store = (peer.layers[String(delta.viewerId)] ??= {})
      store[String(delta.key)] = delta.value
    },
  }
  const cursor: SessionSyncProvider = {
    id: 'cursor',
    scope: 'global',
    view: true,
    priority: 50,
    snapshot: () => ({}),
    applySnapshot: () => {},
    subscribe: subscribe('cursor'),
    applyDelta: (delta, meta) => {
      record(peer, 'cursor', delta, meta)
      peer.cursors[meta.origin] = { x: delta.x, y: delta.y }
    },
  }
  const blob: SessionSyncProvider = {
    id: 'blob',
    scope: 'global',
    priority: 90,
    snapshot: () => ({ data: peer.blob }),
    applySnapshot: (data) => {
      peer.blob = String((data as { data?: unknown }).data ?? '')
      peer.blobInfo = blobInfo(peer.blob)
    },
    subscribe: subscribe('blob'),
    applyDelta: (delta, meta) => {
      record(peer, 'blob', delta, meta)
    },
  }
  return [kv, layers, cursor, blob]
}

/** Providers that fail in every method they can, as a buggy module would; a change to one is made with `change`. */
function failingProviders(peer: Peer): SessionSyncProvider[] {
  const fail = (id: string, method: string) => new Error(`${id} fails in ${method}`)
  const throwing: SessionSyncProvider = {
    id: 'throwing',
    scope: 'global',
    priority: 5,
    snapshot: () => {
      throw fail('throwing', 'snapshot')
    },
    applySnapshot: () => {
      throw fail('throwing', 'applySnapshot')
    },
    subscribe: (emit) => {
      peer.emitters.set('throwing', emit)
      return () => {
        peer.emitters.delete('throwing')
        throw fail('throwing', 'unsubscribe')
      }
    },
    applyDelta: (delta, meta) => {
      record(peer, 'throwing', delta, meta)
      throw fail('throwing', 'applyDelta')
    },
  }
  const rejecting: SessionSyncProvider = {
    id: 'rejecting',
    scope: 'global',
    priority: 30,
    snapshot: () => Promise.reject(fail('rejecting', 'snapshot')),
    applySnapshot: () => Promise.reject(fail('rejecting', 'applySnapshot')),
    subscribe: (emit) => {
      peer.emitters.set('rejecting', emit)
      return () => peer.emitters.delete('rejecting')
    },
    applyDelta: (delta, meta) => {
      record(peer, 'rejecting', delta, meta)
      return Promise.reject(fail('rejecting', 'applyDelta'))
    },
  }
  return [throwing, rejecting]
}

function admitHook(mode: PeerOptions['admit'], index: number): SessionSyncOptions['admit'] {
  if (mode === undefined) return undefined
  if (mode === 'accept') return () => true
  if (mode === 'refuse') return () => false
  return (peer, invite) =>
    new Promise<boolean>((resolve) => peerAt(index).knocks.push({ peer: plain(peer), invite: plain(invite), decide: resolve }))
}

const utf8 = new TextDecoder()

/**
 * A Transport that hands out the inner one's links, recording each when it opens (and what
 * HELLOs arrive on it) into `into`, so the test can inspect them and write on them. It adds
 * no listener of its own to a link's messages: it sees them through the controller's, so
 * frames that arrive before the controller listens go to the controller, as without the tap.
 */
function tapTransport(inner: Transport, into: Array<TappedLink & { link: Link }>, holdPeerLinks = false): Transport {
  let accepted = 0
  const recordLink = (link: Link, via: TappedLink['via']): Link => {
    const entry: TappedLink & { link: Link } = { n: into.length, via, openedAt: Date.now(), closedAt: null, closeReason: null, helloFrom: [], helloEpochs: [], link }
    into.push(entry)
    const observe = (bytes: LinkMessage) => {
      // Only HELLOs are of interest; everything on the wire is JSON, as text or UTF-8 (src/wire/codec.ts).
      if (typeof bytes === 'string' ? bytes.length > 64 * 1024 : bytes.byteLength > 64 * 1024) return
      try {
        const message = JSON.parse(typeof bytes === 'string' ? bytes : utf8.decode(bytes)) as { t?: unknown; hostId?: unknown; epoch?: unknown }
        if (message.t === 'hello' && typeof message.hostId === 'string' && typeof message.epoch === 'number') {
          entry.helloFrom.push(message.hostId)
          entry.helloEpochs.push(message.epoch)
        }
      } catch {
        // Not for the tap to judge.
      }
    }
    link.on('close', ({ reason }) => {
      entry.closedAt ??= Date.now()
      entry.closeReason ??= reason
    })
    const seen: Link = {
      get id() {
        return link.id
      },
      get open() {
        return link.open
      },
      send: (message, lane) => link.send(message, lane),
      close: (reason) => link.close(reason),
      on: (type, handler) => {
        if (type !== 'message') return link.on(type, handler)
        const deliver = handler as (message: LinkMessage) => void
        return link.on('message', (message) => {
          observe(message)
          deliver(message)
        })
      },
      ...(link.getStats ? { getStats: () => link.getStats!() } : {}),
      ...(link.inFlight ? { inFlight: () => link.inFlight!() } : {}),
    }
    return seen
  }
  return {
    get signalCodec() {
      return inner.signalCodec
    },
    get hasIceServers() {
      return inner.hasIceServers
    },
    ...(inner.prepare ? { prepare: () => inner.prepare!() } : {}),
    async createOffer() {
      const pending = await inner.createOffer()
      return {
        offer: pending.offer,
        complete: async (answer) => recordLink(await pending.complete(answer), 'offer'),
        cancel: () => pending.cancel(),
      }
    },
    async acceptOffer(offer) {
      // The newest guest answers its peers' offers; a held one never answers them.
      if (holdPeerLinks && accepted++ > 0) return new Promise<never>(() => {})
      const pending = await inner.acceptOffer(offer)
      const link = pending.link.then((l) => recordLink(l, 'answer'))
      // The controller may drop the answer without waiting for its link: no unhandled rejection here.
      link.catch(() => {})
      return { answer: pending.answer, link, cancel: () => pending.cancel() }
    },
  }
}

function create(options: PeerOptions = {}): number {
  const index = peers.length
  const admit = admitHook(options.admit, index)
  const tapped: Peer['tapped'] = options.tap ? [] : null
  const transport = createWebRtcTransport({ iceServers: options.iceServers ?? [] })
  const controller = new SessionSyncController({
    transport: tapped ? tapTransport(transport, tapped, options.holdPeerLinks) : transport,
    baseUrl: location.href.split('#')[0],
    user: { name: options.name ?? `peer${index}` },
    ...(options.heartbeat ? { heartbeat: options.heartbeat } : {}),
    ...(options.meshLimit !== undefined ? { meshLimit: options.meshLimit } : {}),
    ...(options.joinTimeoutMs !== undefined ? { joinTimeoutMs: options.joinTimeoutMs } : {}),
    ...(options.linkTimeoutMs !== undefined ? { linkTimeoutMs: options.linkTimeoutMs } : {}),
    ...(options.electionTimeoutMs !== undefined ? { electionTimeoutMs: options.electionTimeoutMs } : {}),
    ...(options.signalingEndpoint !== undefined ? { signalingEndpoint: options.signalingEndpoint } : {}),
    ...(options.relayPickupMs !== undefined ? { relayPickupMs: options.relayPickupMs } : {}),
    ...(admit ? { admit } : {}),
  })
  const peer: Peer = { controller, kv: {}, layers: { left: {}, right: {} }, cursors: {}, blob: '', blobInfo: blobInfo(''), emitters: new Map(), applied: [], events: [], bursts: new Map(), knocks: [], tapped }
  controller.events.on('*', (type, payload) => peer.events.push({ type, payload: plain(payload), at: performance.now(), wall: Date.now() }))
  controller.setViewers(VIEWERS)
  for (const provider of providersFor(peer)) controller.registerProvider(provider)
  if (options.failing) for (const provider of failingProviders(peer)) controller.registerProvider(provider)
  peers.push(peer)
  if (index === 0) installSession(controller)
  return index
}

async function outcome<T>(run: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await run() }
  } catch (error) {
    const e = error as Error & { code?: string }
    return { ok: false, name: e?.name ?? 'Error', code: e instanceof SessionError ? e.code : 'not-a-session-error', message: e?.message ?? String(error) }
  }
}

/** A local user change through a provider; returns the intent id the controller gave it. */
function emit(index: number, provider: string, delta: SessionDelta): string | null {
  const send = peerAt(index).emitters.get(provider)
  if (!send) throw new Error(`Provider "${provider}" of peer #${index} is not subscribed (no session?)`)
  return send(delta) ?? null
}

function blobInfo(text: string): BlobInfo {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0
  return { length: text.length, hash: hash.toString(16).padStart(8, '0'), head: text.slice(0, 32), tail: text.slice(-32) }
}

/** A call of the invite list and relay API (see `invites`). */
export type InvitesCall = { list: true } | { revoke: string } | { reissue: string } | { preview: string }

/** What a test waits for, checked in the page (see `check`). */
export type Condition =
  | { state: SessionState }
  /** An event of this type was recorded (for peer events: about this peer). */
  | { event: keyof SessionEvents; peerId?: string }
  /** The provider's applyDelta ran for a delta matching all given fields. */
  | { applied: string; intentId?: string; origin?: string; x?: number }
  /** getPeers() shows a direct link to each of `linked` and to none of `unlinked`. */
  | { linked: string[]; unlinked?: string[] }
  /** No intent waits for the host's confirmation. */
  | { settled: true }
  /** The kv store holds every one of these keys. */
  | { kvKeys: string[] }
  /** Connected, with `following` at rank 0 (this peer hosting if it is `following`, a guest otherwise). */
  | { following: string }
  /** The burst with this key prefix has made all its changes. */
  | { burstDone: string }
  /** A `session-diagnostic` with this code was recorded (about this peer, when given). */
  | { diagnostic: string; peerId?: string }
  /** At least this many knocks wait for a decision (admit: 'ask'). */
  | { knocks: number }

function check(index: number, condition: Condition): boolean {
  const peer = peerAt(index)
  const c = peer.controller
  if ('state' in condition) return c.getState() === condition.state
  if ('event' in condition) {
    return peer.events.some((e) => e.type === condition.event && (condition.peerId === undefined || e.payload?.peer?.id === condition.peerId))
  }
  if ('applied' in condition) {
    return peer.applied.some(
      (a) =>
        a.provider === condition.applied &&
        (condition.intentId === undefined || a.delta.intentId === condition.intentId) &&
        (condition.origin === undefined || a.meta.origin === condition.origin) &&
        (condition.x === undefined || a.delta.x === condition.x),
    )
  }
  if ('kvKeys' in condition) return condition.kvKeys.every((key) => key in peer.kv)
  if ('following' in condition) {
    const top = c.getPeers()[0]
    return c.getState() === 'connected' && top?.id === condition.following && c.getRole() === (top.self ? 'host' : 'guest')
  }
  if ('burstDone' in condition) return peer.bursts.get(condition.burstDone)?.done ?? false
  if ('diagnostic' in condition) {
    return peer.events.some(
      (e) => e.type === 'session-diagnostic' && e.payload?.code === condition.diagnostic && (condition.peerId === undefined || e.payload?.peerId === condition.peerId),
    )
  }
  if ('knocks' in condition) return peer.knocks.length >= condition.knocks
  if ('linked' in condition) {
    const linked = new Set(c.getPeers().filter((p) => p.linked).map((p) => p.id))
    return condition.linked.every((id) => linked.has(id)) && !(condition.unlinked ?? []).some((id) => linked.has(id))
  }
  return c.pendingIntents === 0
}

/** Tapped link `n` of the peer (the transport's own Link), or null once it is closed. */
function openTapped(index: number, n: number): Link | null {
  const entry = peerAt(index).tapped?.[n]
  if (!entry) throw new Error(`Peer #${index} has no tapped link #${n}`)
  return entry.link.open ? entry.link : null
}

export interface SessionHarness {
  check(index: number, condition: Condition): boolean
  /** A new controller in this page; the first is `window.SESSION`. Returns its index. */
  create(options?: PeerOptions): number
  count(): number
  start(index: number): Promise<void>
  invite(index: number): Promise<SessionInvite>
  join(index: number, url: string): Promise<Outcome<string>>
  accept(index: number, answerCode: string): Promise<Outcome<null>>
  end(index: number): Promise<void>
  leave(index: number): Promise<void>
  setKv(index: number, key: string, value: unknown): string | null
  setLayer(index: number, viewerId: string, key: string, value: unknown): string | null
  moveCursor(index: number, x: number, y: number): void
  /** A local change `{ key, value }` through any provider (the failing ones keep no state); returns its intent id. */
  change(index: number, provider: string, key: string, value: unknown): string | null
  /** Sets the blob provider's state (no delta) and returns what a receiver must end up with. */
  setBlob(index: number, megabytes: number, seed?: number): BlobInfo
  view(index: number): PeerView
  /** Ends or leaves every active session in the page (between tests that share it). */
  closeAll(): Promise<void>
  applied(index: number, provider?: string): Applied[]
  events(index: number, type?: keyof SessionEvents): RecordedEvent[]
  /**
   * Starts `count` kv sets `<prefix><n>` = n, one every `everyMs` ms (so a test can act
   * mid-burst), and returns at once; `burstState` tells how far it got.
   */
  burst(index: number, prefix: string, count: number, everyMs: number): void
  burstState(index: number, prefix: string): BurstState | null
  /** `createInvite(options)` (e.g. `{ access: 'viewer' }`). */
  inviteWith(index: number, options: { access?: SessionAccess; seats?: number; ttlMs?: number }): Promise<SessionInvite>
  /** Invites and relay (e2e/relay-*.spec.ts): `listInvites`, `revokeInvite`, `previewInvite`; a throw comes back as an outcome. */
  invites(index: number, call: InvitesCall): Promise<Outcome<unknown>>
  /** `join(url)` with everything it resolved with (`relayed` too), or the rejection. */
  joinFull(index: number, url: string): Promise<Outcome<Joined>>
  /** Host: `kick(peerId)`; a throw comes back as an outcome. */
  kick(index: number, peerId: string): Promise<Outcome<null>>
  /** Knocks waiting for a decision (admit: 'ask'), oldest first. */
  knocks(index: number): Knock[]
  /** Lets the knocking peer in (or not); false when it was not knocking. */
  decide(index: number, peerId: string, ok: boolean): boolean
  /** `getLinkStats(peerId)`: undefined when there is no direct link. */
  linkStats(index: number, peerId: string): Promise<unknown>
  /** The links a tapped peer opened (PeerOptions.tap), in opening order. */
  links(index: number): TappedLink[]
  /**
   * Writes `text` as UTF-8 straight onto tapped link `n` of the peer, past its controller (the
   * transport frames it like any message). False when that link is not open.
   */
  sendRaw(index: number, n: number, text: string, lane?: Lane): boolean
  /**
   * Writes one DataChannel frame on tapped link `n` of the peer, past its framer: text as a text
   * frame, bytes as a binary frame with no header added, as modified code could. False when the
   * link is not open.
   */
  sendFrame(index: number, n: number, frame: string | number[]): boolean
  /**
   * Keeps this page's main thread busy for `ms` ms (by its own clock) with a synchronous
   * loop, as a long task in a busy tab does: no timer, message or event runs meanwhile.
   * Returns when the loop ended, by the page's clock.
   */
  busy(ms: number): { startedAt: number; endedAt: number }
  /**
   * Resolves as soon as `condition` holds: checked now and right after each event of the
   * controller (and every 50 ms besides), so a test can act the moment a state is reached.
   * False when it still does not hold after `timeoutMs`.
   */
  until(index: number, condition: Condition, timeoutMs: number): Promise<boolean>
  /** `resume(url)` after a reload of this tab; `null` when it had nothing to resume. */
  resume(index: number, url?: string): Promise<Outcome<ResumeResult | null>>
  /** Writes what the controller's journal has gathered; resolves once it is on disk. */
  flushJournal(index: number): Promise<void>
  /** From now on every IndexedDB write in this page fails as on a full disk (QuotaExceededError). */
  fillDisk(): void
}

const harness: SessionHarness = {
  check,
  create,
  count: () => peers.length,
  start: (index) => peerAt(index).controller.start(),
  invite: (index) => peerAt(index).controller.createInvite(),
  join: (index, url) => outcome(async () => (await peerAt(index).controller.join(url)).answerCode),
  accept: (index, answerCode) => outcome(async () => (await peerAt(index).controller.acceptAnswer(answerCode), null)),
  end: (index) => peerAt(index).controller.end(),
  leave: (index) => peerAt(index).controller.leave(),
  setKv(index, key, value) {
    peerAt(index).kv[key] = value
    return emit(index, 'kv', { key, value })
  },
  setLayer(index, viewerId, key, value) {
    const store = (peerAt(index).layers[viewerId] ??= {})
    store[key] = value
    return emit(index, 'layers', { viewerId, key, value })
  },
  moveCursor(index, x, y) {
    emit(index, 'cursor', { x, y })
  },
  change: (index, provider, key, value) => emit(index, provider, { key, value }),
  setBlob(index, megabytes, seed = 1) {
    const peer = peerAt(index)
    peer.blob = makeBlob(Math.round(megabytes * 1024 * 1024), seed)
    peer.blobInfo = blobInfo(peer.blob)
    return peer.blobInfo
  },
  view(index) {
    const peer = peerAt(index)
    const c = peer.controller
    return plain({
      self: c.getSelf(),
      state: c.getState(),
      role: c.getRole(),
      sessionId: c.sessionId,
      peers: c.getPeers(),
      pendingIntents: c.pendingIntents,
      kv: peer.kv,
      layers: peer.layers,
      cursors: peer.cursors,
      blob: peer.blobInfo,
    })
  },
  async closeAll() {
    for (const { controller } of peers) {
      if (controller.getRole() === 'host') await controller.end()
      else await controller.leave()
    }
  },
  applied: (index, provider) => peerAt(index).applied.filter((a) => provider === undefined || a.provider === provider),
  events: (index, type) => peerAt(index).events.filter((e) => type === undefined || e.type === type),
  burst(index, prefix, count, everyMs) {
    const peer = peerAt(index)
    if (peer.bursts.has(prefix)) throw new Error(`Peer #${index} already ran a burst "${prefix}"`)
    const state: BurstState = { ids: [], done: false }
    peer.bursts.set(prefix, state)
    const timer = setInterval(() => {
      const n = state.ids.length
      const id = harness.setKv(index, `${prefix}${String(n).padStart(2, '0')}`, n)
      if (!id) {
        clearInterval(timer)
        throw new Error(`Burst "${prefix}" of peer #${index}: set #${n} made no intent`)
      }
      state.ids.push(id)
      if (state.ids.length >= count) {
        clearInterval(timer)
        state.done = true
      }
    }, everyMs)
  },
  burstState: (index, prefix) => {
    const state = peerAt(index).bursts.get(prefix)
    return state ? { ids: [...state.ids], done: state.done } : null
  },
  inviteWith: (index, options) => peerAt(index).controller.createInvite(options),
  invites: (index, call) => {
    const c = peerAt(index).controller
    return outcome(async () => {
      if ('list' in call) return plain(c.listInvites())
      if ('revoke' in call) return (await c.revokeInvite(call.revoke)) ?? null
      if ('reissue' in call) return plain(await c.reissueInvite(call.reissue))
      return plain(await c.previewInvite(call.preview))
    })
  },
  joinFull: (index, url) =>
    outcome(async () => {
      const { answerCode, relayed } = await peerAt(index).controller.join(url)
      return { answerCode, relayed }
    }),
  kick: (index, peerId) => outcome(async () => (peerAt(index).controller.kick(peerId), null)),
  knocks: (index) => peerAt(index).knocks.map(({ peer, invite }) => ({ peer, invite })),
  decide(index, peerId, ok) {
    const knocks = peerAt(index).knocks
    const at = knocks.findIndex((k) => k.peer.id === peerId)
    if (at < 0) return false
    const [knock] = knocks.splice(at, 1)
    knock!.decide(ok)
    return true
  },
  async linkStats(index, peerId) {
    const stats = await peerAt(index).controller.getLinkStats(peerId)
    return stats === undefined ? undefined : plain(stats)
  },
  links(index) {
    const tapped = peerAt(index).tapped
    if (!tapped) throw new Error(`Peer #${index} was created without \`tap\``)
    return tapped.map(({ link: _link, ...entry }) => plain(entry))
  },
  sendRaw(index, n, text, lane = 'control') {
    const link = openTapped(index, n)
    link?.send(new TextEncoder().encode(text), lane)
    return link !== null
  },
  sendFrame(index, n, frame) {
    const link = openTapped(index, n)
    if (!link) return false
    // The WebRTC link keeps its channel to itself; a hostile page's own code reaches it all the same.
    const channel = (link as unknown as { channel?: unknown }).channel
    if (!(channel instanceof RTCDataChannel)) throw new Error(`Tapped link #${n} of peer #${index} has no RTCDataChannel at .channel`)
    if (typeof frame === 'string') channel.send(frame)
    else channel.send(new Uint8Array(frame))
    return true
  },
  until(index, condition, timeoutMs) {
    const { controller } = peerAt(index)
    return new Promise<boolean>((resolve) => {
      let done = false
      const finish = (result: boolean) => {
        if (done) return
        done = true
        controller.events.off('*', onEvent)
        clearInterval(poll)
        clearTimeout(expiry)
        resolve(result)
      }
      const test = () => {
        if (check(index, condition)) finish(true)
      }
      // After the emitting code has finished its step, not in the middle of it.
      const onEvent = () => queueMicrotask(test)
      controller.events.on('*', onEvent)
      const poll = setInterval(test, 50)
      const expiry = setTimeout(() => finish(check(index, condition)), timeoutMs)
      test()
    })
  },
  resume: (index, url) => outcome(async () => plain(await peerAt(index).controller.resume(url))),
  flushJournal: (index) => peerAt(index).controller.flushJournal(),
  fillDisk() {
    const full = () => {
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError')
    }
    IDBObjectStore.prototype.put = full
    IDBObjectStore.prototype.add = full
  },
  busy(ms) {
    const startedAt = Date.now()
    let now = startedAt
    while (now - startedAt < ms) now = Date.now()
    return { startedAt, endedAt: now }
  },
}

declare global {
  interface Window {
    sessionHarness: SessionHarness
  }
}

window.sessionHarness = harness
