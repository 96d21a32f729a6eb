/**
 * Benchmark page (bench/run.mjs): session-sync controllers and raw RTCPeerConnection pairs
 * side by side in one page, over real DataChannels on loopback. Several controllers share
 * the page, so one `performance.now()` clock times both ends of a one-way trip. Every
 * function returns plain data (sample arrays in ms); statistics are computed in Node.
 * Every wait has a timeout; nothing here loops without a bound.
 */
import {
  createWebRtcTransport,
  installSession,
  SessionSyncController,
  type SessionDelta,
  type SessionDeltaMeta,
  type SessionEvents,
  type SessionLimits,
  type SessionState,
  type SessionSyncOptions,
  type SessionSyncProvider,
  type Link,
} from '../../src/index.js'
import { boundedSizes, linkOf, onIntentSettled, traceStages } from '../../src/testing.js'
import { IdbJournal } from '../../src/journal/idb.js'
import { coreOf } from '../../src/session/internals.js'
import { PROTOCOL_VERSION } from '../../src/wire/messages.js'
import { systemClock } from '../../src/runtime/clock.js'
import { OutboundQueue, Reassembler } from '../../src/transport/framing.js'
import { decodeMessage } from '../../src/wire/codec.js'
import { makeBlob } from '../../test/helpers/blob.js'
import { turn, withTimeout } from './waits.js'

// ------------------------------------------------------------------ peer connection recording

/** While set, every RTCPeerConnection created (by simple-peer too) is kept here, to read its SDP. */
let recording: RTCPeerConnection[] | null = null
const NativePeerConnection = globalThis.RTCPeerConnection
globalThis.RTCPeerConnection = class extends NativePeerConnection {
  constructor(configuration?: RTCConfiguration) {
    super(configuration)
    recording?.push(this)
  }
}

// ------------------------------------------------------------------ helpers

const now = () => performance.now()
const encoder = new TextEncoder()

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Once a session's queue of received messages is empty (a message's last steps run after its handler). */
async function whenIdle(session: { draining: boolean }): Promise<void> {
  do await sleep(0)
  while (session.draining)
}

/** Polls `condition` every `everyMs` until it holds (resolves with the time) or `ms` passes. */
async function until(condition: () => boolean, ms: number, what: string, everyMs = 5): Promise<number> {
  const deadline = now() + ms
  for (;;) {
    if (condition()) return now()
    if (now() > deadline) throw new Error(`timed out after ${ms} ms: ${what}`)
    await sleep(everyMs)
  }
}

/** A JSON payload of exactly `bytes` bytes once stringified (`n` kept at 6 digits). */
function payload(n: number, bytes: number): { n: number; pad: string } {
  const base = JSON.stringify({ n: 100_000 + n, pad: '' }).length
  return { n: 100_000 + n, pad: 'x'.repeat(Math.max(0, bytes - base)) }
}

// ------------------------------------------------------------------ session peers

type ApplyHook = (provider: string, delta: SessionDelta, meta: SessionDeltaMeta) => void

export interface PeerOptions {
  name?: string
  heartbeat?: SessionSyncOptions['heartbeat']
  electionTimeoutMs?: number
  meshLimit?: number
  limits?: Partial<SessionLimits>
  /** installSession: closing the page sends a goodbye (one per page). */
  install?: boolean
  /** false: no session journal (on by default, in IndexedDB). */
  journal?: boolean
}

interface BenchPeer {
  c: SessionSyncController
  options: PeerOptions
  emitters: Map<string, (delta: SessionDelta) => string | void>
  /** Called on every applyDelta; the providers keep nothing else. */
  onApply: ApplyHook | null
  applied: number
  blob: string
  /** performance.now() of the last event of each type. */
  lastEvent: Partial<Record<keyof SessionEvents, number>>
  eventWaiters: Array<() => void>
  /** performance.now() of the last timedJoin. */
  joinedAt: number
}

const peers: Array<BenchPeer | null> = []

function peerAt(index: number): BenchPeer {
  const peer = peers[index]
  if (!peer) throw new Error(`no peer #${index}`)
  return peer
}

function providersFor(peer: BenchPeer): SessionSyncProvider[] {
  const subscribe = (id: string) => (emit: (delta: SessionDelta) => string | void) => {
    peer.emitters.set(id, emit)
    return () => peer.emitters.delete(id)
  }
  const apply = (id: string) => (delta: SessionDelta, meta: SessionDeltaMeta) => {
    peer.applied++
    peer.onApply?.(id, delta, meta)
  }
  return [
    { id: 'kv', scope: 'global', priority: 20, snapshot: () => ({}), applySnapshot: () => {}, subscribe: subscribe('kv'), applyDelta: apply('kv') },
    { id: 'cursor', scope: 'global', view: true, priority: 50, snapshot: () => ({}), applySnapshot: () => {}, subscribe: subscribe('cursor'), applyDelta: apply('cursor') },
    {
      id: 'blob',
      scope: 'global',
      priority: 90,
      snapshot: () => ({ data: peer.blob }),
      applySnapshot: (data) => {
        peer.blob = String((data as { data?: unknown }).data ?? '')
      },
      subscribe: subscribe('blob'),
      applyDelta: apply('blob'),
    },
  ]
}

function create(options: PeerOptions = {}): number {
  const index = peers.length
  const c = new SessionSyncController({
    transport: createWebRtcTransport({ iceServers: [] }),
    baseUrl: location.href.split('#')[0],
    user: { name: options.name ?? `p${index}` },
    ...(options.heartbeat ? { heartbeat: options.heartbeat } : {}),
    ...(options.electionTimeoutMs !== undefined ? { electionTimeoutMs: options.electionTimeoutMs } : {}),
    ...(options.meshLimit !== undefined ? { meshLimit: options.meshLimit } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.journal === false ? { journal: false as const } : {}),
  })
  const peer: BenchPeer = { c, options, emitters: new Map(), onApply: null, applied: 0, blob: '', lastEvent: {}, eventWaiters: [], joinedAt: 0 }
  c.events.on('*', (type) => {
    peer.lastEvent[type] = now()
    for (const wake of peer.eventWaiters.splice(0)) wake()
  })
  for (const provider of providersFor(peer)) c.registerProvider(provider)
  if (options.install) installSession(c)
  peers.push(peer)
  return index
}

/** Resolves (with the time) when the controller reaches `state`; at once if it is there. */
function whenState(peer: BenchPeer, state: SessionState, ms: number): Promise<number> {
  if (peer.c.getState() === state) return Promise.resolve(now())
  return withTimeout(
    new Promise<number>((resolve) => {
      const off = peer.c.on('session-state-changed', (e) => {
        if (e.state !== state) return
        off()
        resolve(now())
      })
    }),
    ms,
    `${peer.c.getSelf().name} to be ${state} (is ${peer.c.getState()})`,
  )
}

/** Resolves at the next `type` event of the controller. */
function whenEvent(peer: BenchPeer, type: keyof SessionEvents, ms: number): Promise<void> {
  const since = now()
  return until(() => (peer.lastEvent[type] ?? 0) >= since, ms, `${type} on ${peer.c.getSelf().name}`, 2).then(() => undefined)
}

/** The whole handshake inside this page: invite, answer, and both ends connected. */
async function link(host: BenchPeer, guest: BenchPeer, ms = 30_000): Promise<void> {
  const invite = await host.c.createInvite()
  const hostConnected = whenState(host, 'connected', ms)
  const guestConnected = whenState(guest, 'connected', ms)
  const { answerCode } = await guest.c.join(invite.url)
  await host.c.acceptAnswer(answerCode)
  await Promise.all([hostConnected, guestConnected])
}

/** Controllers disposed of, held weakly: the memory bench waits until they are collected. */
const disposed: Array<WeakRef<SessionSyncController>> = []

async function dispose(indices: number[]): Promise<void> {
  for (const index of indices) {
    const peer = peers[index]
    if (!peer) continue
    peers[index] = null
    disposed.push(new WeakRef(peer.c))
    peer.onApply = null
    if (peer.c.getRole() === 'host') await peer.c.end()
    else await peer.c.leave()
  }
  await sleep(50)
}

/** Direct links each controller should hold once the topology settled (mesh: all; star: host + standby successors). */
function expectedLinks(peer: BenchPeer): number {
  const all = peer.c.getPeers()
  const meshLimit = peer.options.meshLimit ?? 6
  if (all.length <= meshLimit) return all.length - 1
  const self = all.find((p) => p.self)!
  if (self.rank <= 2) return all.length - 1 // host and the 2 standby successors link to everyone
  return 3
}

function linkedCount(peer: BenchPeer): number {
  return peer.c.getPeers().filter((p) => !p.self && p.linked).length
}

async function waitTopology(indices: number[], expectedPeers: number, ms: number): Promise<{ settled: boolean; ms: number }> {
  const t0 = now()
  const ok = () =>
    indices.every((i) => {
      const peer = peerAt(i)
      return peer.c.getPeers().length === expectedPeers && linkedCount(peer) >= expectedLinks(peer)
    })
  try {
    await until(ok, ms, 'topology', 20)
    await sleep(200) // let the last links' `links` reports reach the host
    return { settled: true, ms: now() - t0 }
  } catch {
    return { settled: false, ms: now() - t0 }
  }
}

// ------------------------------------------------------------------ raw baseline

interface RawPair {
  a: RTCPeerConnection
  b: RTCPeerConnection
  chA: RTCDataChannel
  chB: RTCDataChannel
  close(): void
}

function gathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve()
  return new Promise((resolve) => {
    const check = () => {
      if (pc.iceGatheringState !== 'complete') return
      pc.removeEventListener('icegatheringstatechange', check)
      resolve()
    }
    pc.addEventListener('icegatheringstatechange', check)
  })
}

function opened(channel: RTCDataChannel): Promise<void> {
  if (channel.readyState === 'open') return Promise.resolve()
  return new Promise((resolve, reject) => {
    channel.addEventListener('open', () => resolve(), { once: true })
    channel.addEventListener('close', () => reject(new Error('raw channel closed')), { once: true })
  })
}

/** What a hand-written app would do: non-trickle ICE (one offer, one answer), one ordered reliable channel. */
async function rawPair(ms = 20_000): Promise<RawPair> {
  const a = new NativePeerConnection({ iceServers: [] })
  const b = new NativePeerConnection({ iceServers: [] })
  const close = () => {
    a.close()
    b.close()
  }
  try {
    return await withTimeout(
      (async () => {
        const chA = a.createDataChannel('data')
        const remoteChannel = new Promise<RTCDataChannel>((resolve) => {
          b.ondatachannel = (e) => resolve(e.channel)
        })
        await a.setLocalDescription(await a.createOffer())
        await gathered(a)
        await b.setRemoteDescription(a.localDescription!)
        await b.setLocalDescription(await b.createAnswer())
        await gathered(b)
        await a.setRemoteDescription(b.localDescription!)
        const chB = await remoteChannel
        await Promise.all([opened(chA), opened(chB)])
        chA.binaryType = 'arraybuffer'
        chB.binaryType = 'arraybuffer'
        return { a, b, chA, chB, close }
      })(),
      ms,
      'raw pair set-up',
    )
  } catch (error) {
    close()
    throw error
  }
}

/** Local and remote address of the selected candidate pair. */
async function pairAddresses(pc: RTCPeerConnection): Promise<{ type: string; local: string; remote: string }> {
  const stats = new Map<string, Record<string, unknown>>()
  ;(await pc.getStats()).forEach((entry: Record<string, unknown>, id: string) => stats.set(id, entry))
  const transport = [...stats.values()].find((s) => s.type === 'transport')
  const pair = stats.get(String(transport?.selectedCandidatePairId ?? ''))
  const local = stats.get(String(pair?.localCandidateId ?? ''))
  const remote = stats.get(String(pair?.remoteCandidateId ?? ''))
  return { type: String(local?.candidateType ?? '?'), local: String(local?.address ?? '?'), remote: String(remote?.address ?? '?') }
}

// ------------------------------------------------------------------ benchmarks

/** Session pair (host, guest) for the message benchmarks. */
async function sessionPair(options: PeerOptions = {}): Promise<[BenchPeer, BenchPeer, number[]]> {
  const h = create({ ...options, name: 'host' })
  const g = create({ ...options, name: 'guest' })
  const host = peerAt(h)
  const guest = peerAt(g)
  await host.c.start()
  await link(host, guest)
  return [host, guest, [h, g]]
}

/** Per stage, in the order met, the median µs from the start at which it began. */
function stageMedians(trace: Array<Array<[string, number]>>): Array<[string, number]> {
  const at = new Map<string, number[]>()
  for (const sample of trace) for (const [stage, ms] of sample) at.set(stage, [...(at.get(stage) ?? []), ms * 1000])
  return [...at].map(([stage, us]) => [stage, us.sort((a, b) => a - b)[us.length >> 1]!])
}

/** Runs `session`, `raw` (and `extra`) alternately in blocks, so machine noise hits them alike. */
async function interleaved(
  samples: number,
  warmup: number,
  block: number,
  session: (i: number) => Promise<number>,
  raw: (i: number) => Promise<number>,
  extra?: (i: number) => Promise<number>,
): Promise<{ session: number[]; raw: number[]; extra: number[] }> {
  const arms = [session, raw, ...(extra ? [extra] : [])]
  const out = { session: [] as number[], raw: [] as number[], extra: [] as number[] }
  const sinks = [out.session, out.raw, out.extra]
  for (let i = 0; i < warmup; i++) {
    for (const arm of arms) {
      await arm(-1 - i)
      await turn()
    }
  }
  for (let done = 0; done < samples; done += block) {
    const n = Math.min(block, samples - done)
    for (const [k, arm] of arms.entries()) {
      for (let i = 0; i < n; i++) {
        sinks[k]!.push(await arm(done + i))
        await turn()
      }
    }
  }
  return out
}

/** Absolute time in ms, comparable between the pages of one browser (scale runs span many pages). */
const wall = () => performance.timeOrigin + performance.now()
let scaleSamples: { view: number[]; delta: number[] } = { view: [], delta: [] }
let scaleTimer: ReturnType<typeof setInterval> | undefined

/** Scale runs (bench/scale.mjs): deltas stamped with their emit time, delivery times recorded where they are applied. */
const scale = {
  listen(index: number) {
    scaleSamples = { view: [], delta: [] }
    peerAt(index).onApply = (provider, delta) => {
      const t = (delta as { t?: unknown }).t ?? (delta.value as { t?: unknown } | undefined)?.t
      if (typeof t === 'number') (provider === 'cursor' ? scaleSamples.view : scaleSamples.delta).push(wall() - t)
    }
  },
  /** This page's delivery times since the last call. */
  take() {
    const taken = scaleSamples
    scaleSamples = { view: [], delta: [] }
    return taken
  },
  /** The host: a view delta every `1000 / hz` ms until `stop`. */
  views(index: number, hz: number) {
    const cursor = peerAt(index).emitters.get('cursor')!
    let n = 0
    clearInterval(scaleTimer)
    scaleTimer = setInterval(() => cursor({ x: n++, y: 0, t: wall() }), 1000 / hz)
  },
  stop() {
    clearInterval(scaleTimer)
  },
  /** A guest: one intent, stamped. */
  intent(index: number, n: number) {
    peerAt(index).emitters.get('kv')!({ key: 'k', value: { n, t: wall() } })
  },
  peerCount: (index: number) => peerAt(index).c.getPeers().length,
}

/**
 * Fan-out with each peer in its own page (bench/fanout-pages.mjs), as on separate machines:
 * raw channels between pages, each page's clock offset from the host's measured over one,
 * arrival times recorded where deltas are applied and set beside the emit times afterwards.
 */
const rawEnds = new Map<number, { pc: RTCPeerConnection; channel: Promise<RTCDataChannel> }>()
let spreadArrivals: { session: Record<number, number>; raw: Record<number, number> } = { session: {}, raw: {} }
const spread = {
  /** Offerer end of a raw pair: its id and the complete offer (non-trickle). */
  async rawOffer(id: number) {
    const pc = new NativePeerConnection({ iceServers: [] })
    const channel = pc.createDataChannel('data')
    rawEnds.set(id, { pc, channel: opened(channel).then(() => channel) })
    await pc.setLocalDescription(await pc.createOffer())
    await gathered(pc)
    return pc.localDescription!.sdp
  },
  async rawAnswer(id: number, offer: string) {
    const pc = new NativePeerConnection({ iceServers: [] })
    const channel = new Promise<RTCDataChannel>((resolve) => (pc.ondatachannel = (e) => resolve(opened(e.channel).then(() => e.channel))))
    rawEnds.set(id, { pc, channel })
    await pc.setRemoteDescription({ type: 'offer', sdp: offer })
    await pc.setLocalDescription(await pc.createAnswer())
    await gathered(pc)
    return pc.localDescription!.sdp
  },
  async rawAccept(id: number, answer: string) {
    await rawEnds.get(id)!.pc.setRemoteDescription({ type: 'answer', sdp: answer })
  },
  rawOpen: (id: number) => withTimeout(rawEnds.get(id)!.channel, 20_000, 'raw channel between pages').then(() => undefined),
  /** A guest page: stamps each kv delta and each raw message where it is applied (or parsed); answers clock pings. */
  async listen(index: number, rawId: number) {
    spreadArrivals = { session: {}, raw: {} }
    peerAt(index).onApply = (provider, delta) => {
      if (provider === 'kv') spreadArrivals.session[(delta.value as { n: number }).n] = wall()
    }
    const channel = await rawEnds.get(rawId)!.channel
    channel.onmessage = (e) => {
      const message = JSON.parse(e.data as string) as { n: number; ping?: number }
      if (message.ping !== undefined) channel.send(JSON.stringify({ pong: message.ping, at: wall() }))
      else spreadArrivals.raw[message.n] = wall()
    }
  },
  take: () => spreadArrivals,
  /** The host page: this guest page's clock offset (its wall() − ours), from the round trip that took least time. */
  async clockOffset(rawId: number, rounds: number) {
    const channel = await rawEnds.get(rawId)!.channel
    let best = { rtt: Infinity, offset: 0 }
    for (let i = 0; i < rounds; i++) {
      const reply = new Promise<{ pong: number; at: number }>((resolve) => (channel.onmessage = (e) => resolve(JSON.parse(e.data as string))))
      const t1 = wall()
      channel.send(JSON.stringify({ ping: t1 }))
      const { at } = await withTimeout(reply, 5_000, 'clock pong')
      const t3 = wall()
      if (t3 - t1 < best.rtt) best = { rtt: t3 - t1, offset: at - (t1 + t3) / 2 }
    }
    channel.onmessage = null
    return best
  },
  /**
   * The host page: `samples` kv deltas through the session and as many raw messages to every
   * guest page, alternating in blocks, `gapMs` apart (pacing, so each has arrived everywhere
   * before the next); returns the wall time of each emit by `n`.
   */
  async emit(index: number, rawIds: number[], samples: number, warmup: number, block: number, bytes: number, gapMs: number) {
    const kv = peerAt(index).emitters.get('kv')!
    const channels = await Promise.all(rawIds.map((id) => rawEnds.get(id)!.channel))
    const sent = { session: {} as Record<number, number>, raw: {} as Record<number, number> }
    const session = async (i: number) => {
      const value = payload(i, bytes - 20)
      sent.session[value.n] = wall()
      kv({ key: 'k', value })
      await sleep(gapMs)
    }
    const raw = async (i: number) => {
      const d = payload(i, bytes)
      sent.raw[d.n] = wall()
      const text = JSON.stringify(d)
      for (const channel of channels) channel.send(text)
      await sleep(gapMs)
    }
    for (let i = 0; i < warmup; i++) await session(-1 - i), await raw(-1 - i)
    for (let done = 0; done < samples; done += block) {
      for (let i = done; i < Math.min(samples, done + block); i++) await session(i)
      for (let i = done; i < Math.min(samples, done + block); i++) await raw(i)
    }
    return sent
  },
  linked: (index: number) => linkedCount(peerAt(index)),
  closeRaw() {
    for (const { pc } of rawEnds.values()) pc.close()
    rawEnds.clear()
  },
}

const bench = {
  /**
   * One message's way through the library with cold CPU caches: before each sample the page
   * walks `thrashMiB` of other data. Receiving: a view delta and a host's delta handed to the
   * guest's WebRTC link as its channel would (the link's own entry for a frame), to the
   * provider's applyDelta, vs JSON.parse and a handler. Sending: a view delta's and a host
   * change's emit() until it returns (channel.send included), vs JSON.stringify + channel.send.
   * Returns trimmed means in µs.
   */
  async coldPath(samples: number, thrashMiB: number) {
    const h = create({ name: 'host' })
    const g = create({ name: 'guest' })
    const host = peerAt(h)
    const guest = peerAt(g)
    await host.c.start()
    await link(host, guest)
    const hostId = host.c.getSelf().id
    const frameIn = linkOf(guest.c, hostId) as unknown as { receive(frame: string): void }
    const session = coreOf(guest.c).session!
    const other = new Uint32Array((thrashMiB * 1024 * 1024) / 4)
    const thrash = () => {
      for (let i = 0; i < other.length; i += 16) other[i]!++
    }
    let appliedAt = 0
    guest.onApply = () => void (appliedAt = performance.now())
    const value = payload(0, 80)
    const times = { view: [] as number[], delta: [] as number[], parse: [] as number[], sendView: [] as number[], sendChange: [] as number[], send: [] as number[] }
    const receive = async (text: string, into: number[]) => {
      thrash()
      const t0 = performance.now()
      frameIn.receive(text)
      await whenIdle(session)
      into.push(appliedAt - t0)
    }
    const parse = (text: string) => {
      thrash()
      const t0 = performance.now()
      const message = JSON.parse(text) as { seq?: number }
      if (message.seq === -1) throw new Error('unreachable')
      appliedAt = performance.now()
      times.parse.push(appliedAt - t0)
    }
    for (let i = 0; i < samples; i++) {
      const view = JSON.stringify({ v: PROTOCOL_VERSION, t: 'view', origin: hostId, n: 1_000_000 + i, p: 'cursor', d: { x: i, y: 0, value } })
      const delta = JSON.stringify({ v: PROTOCOL_VERSION, t: 'delta', seq: session.seq + 1, epoch: session.epoch, id: `cold${String(i).padStart(12, '0')}`, origin: hostId, changes: [{ p: 'kv', d: { key: 'k', value } }] })
      await receive(view, times.view)
      await receive(delta, times.delta)
      parse(delta)
    }
    const pair = await rawPair()
    // Until the first channel.send returns, not until emit() does: what follows the send
    // (the host keeping its change) is no longer on the way to the other page.
    let sentAt = 0
    const channelSend = RTCDataChannel.prototype.send
    RTCDataChannel.prototype.send = function (this: RTCDataChannel, data: never) {
      channelSend.call(this, data)
      sentAt ||= performance.now()
    }
    const send = async (into: number[], call: () => void) => {
      thrash()
      sentAt = 0
      const t0 = performance.now()
      call()
      into.push((sentAt || performance.now()) - t0)
      await sleep(0)
    }
    const cursor = host.emitters.get('cursor')!
    const kv = host.emitters.get('kv')!
    for (let i = 0; i < samples; i++) {
      await send(times.sendView, () => cursor({ x: i, y: 0, value }))
      await send(times.sendChange, () => kv({ key: 'k', value }))
      await send(times.send, () => pair.chA.send(JSON.stringify({ x: i, y: 0, value })))
    }
    RTCDataChannel.prototype.send = channelSend
    pair.close()
    await dispose([h, g])
    const trimmedMean = (all: number[]) => {
      const sorted = all.slice().sort((a, b) => a - b)
      const kept = sorted.slice(Math.floor(sorted.length * 0.1), Math.ceil(sorted.length * 0.9))
      return (kept.reduce((sum, x) => sum + x, 0) / kept.length) * 1000
    }
    return Object.fromEntries(Object.entries(times).map(([key, all]) => [key, trimmedMean(all)])) as Record<keyof typeof times, number>
  },

  info() {
    return { userAgent: navigator.userAgent, crossOriginIsolated: globalThis.crossOriginIsolated, hardwareConcurrency: navigator.hardwareConcurrency }
  },

  /** Invite fragment and answer code lengths, with the SDPs they carry (Node gzips those for the raw column). */
  async invite(samples: number) {
    const rows: Array<{ fragment: number; code: number; url: number; answer: number; offerSdp: string; answerSdp: string }> = []
    for (let i = 0; i < samples; i++) {
      const h = create({ name: 'host' })
      const g = create({ name: 'guest' })
      const host = peerAt(h)
      const guest = peerAt(g)
      recording = []
      await host.c.start()
      const invite = await host.c.createInvite()
      const offerPc = recording[0]
      const hostConnected = whenState(host, 'connected', 30_000)
      const guestConnected = whenState(guest, 'connected', 30_000)
      const { answerCode } = await guest.c.join(invite.url)
      const answerPc = recording[1]
      recording = null
      await host.c.acceptAnswer(answerCode)
      await Promise.all([hostConnected, guestConnected])
      rows.push({
        fragment: invite.fragment.length,
        code: invite.code.length,
        url: invite.url.length,
        answer: answerCode.length,
        offerSdp: offerPc?.localDescription?.sdp ?? '',
        answerSdp: answerPc?.localDescription?.sdp ?? '',
      })
      await dispose([h, g])
    }
    return rows
  },

  /** createInvite → both sides connected, vs a raw non-trickle pair up to an open channel on both ends. */
  async connect(samples: number) {
    const session: number[] = []
    const raw: number[] = []
    const phases: Array<{ invite: number; join: number; accept: number; connected: number }> = []
    let addresses: { session?: unknown; raw?: unknown } = {}
    for (let i = 0; i < samples; i++) {
      const h = create({ name: 'host' })
      const g = create({ name: 'guest' })
      const host = peerAt(h)
      const guest = peerAt(g)
      await host.c.start()
      const hostConnected = whenState(host, 'connected', 30_000)
      const guestConnected = whenState(guest, 'connected', 30_000)
      const t0 = now()
      const invite = await host.c.createInvite()
      const t1 = now()
      const { answerCode } = await guest.c.join(invite.url)
      const t2 = now()
      await host.c.acceptAnswer(answerCode)
      const t3 = now()
      const done = Math.max(...(await Promise.all([hostConnected, guestConnected])))
      session.push(done - t0)
      phases.push({ invite: t1 - t0, join: t2 - t1, accept: t3 - t2, connected: done - t3 })
      if (i === 0) {
        const stats = await host.c.getLinkStats(guest.c.getSelf().id)
        addresses.session = { type: stats?.candidateType, local: stats?.localAddress, remote: stats?.remoteAddress }
      }
      await dispose([h, g])
      await turn()
      const r0 = now()
      const pair = await rawPair()
      raw.push(now() - r0)
      if (i === 0) addresses.raw = await pairAddresses(pair.a)
      pair.close()
      await sleep(20)
    }
    return { session, raw, phases, addresses }
  },

  /** View delta host → guest (emit to applyDelta) vs raw send → onmessage, `bytes` of payload. */
  async oneWay(samples: number, bytes: number) {
    const [host, guest, indices] = await sessionPair()
    const pair = await rawPair()
    const emit = host.emitters.get('cursor')!
    // Where the time goes: the sending call, the channel, and the receiving side up to the app.
    // event.timeStamp marks when the browser created the channel's message event, before any handler ran.
    type Split = { send: number[]; wire: number[]; dispatch: number[]; receive: number[] }
    const split: { session: Split; raw: Split } = {
      session: { send: [], wire: [], dispatch: [], receive: [] },
      raw: { send: [], wire: [], dispatch: [], receive: [] },
    }
    let arrived = 0
    let delivered = 0
    const guestLink = linkOf(guest.c, host.c.getSelf().id)!
    // simple-peer listens through `onmessage`; wrap it so the stamps are taken before its handler runs
    // (the link, the serial queue and the handler up to applyDelta come after).
    const channel = channelOf(guestLink)
    const handler = channel?.onmessage
    // Each step's start, µs after emit(): the stages each controller marks, the channel's send call and the arrival.
    // Marked only in a pass of its own, after the measured trips: the marks and their wrappers cost
    // the session's side several µs that the raw side would not pay.
    let marks: Array<[string, number]> | null = null
    const trace: Array<Array<[string, number]>> = []
    const mark = (stage: string) => marks?.push([stage, now()])
    if (channel && handler) {
      channel.onmessage = (e: MessageEvent) => {
        arrived = now()
        delivered = e.timeStamp
        mark('receive: message event')
        handler.call(channel, e)
      }
    }
    const trip = (i: number) =>
      withTimeout(
        new Promise<number>((resolve) => {
          const d = payload(i, bytes)
          guest.onApply = (provider, delta) => {
            if (provider !== 'cursor' || delta.n !== d.n) return
            const t = now()
            if (marks) trace.push([...marks, ['applyDelta', t] as [string, number]].map(([stage, at]) => [stage, at - t0]))
            marks = null
            if (i >= 0) split.session.send.push(sent - t0), split.session.wire.push(delivered - sent), split.session.dispatch.push(arrived - delivered), split.session.receive.push(t - arrived)
            resolve(t - t0)
          }
          const t0 = now()
          emit(d)
          const sent = now()
        }),
        10_000,
        'view delta',
      )
    const result = await interleaved(
      samples,
      30,
      50,
      trip,
      (i) =>
        withTimeout(
          new Promise<number>((resolve) => {
            const d = payload(i, bytes)
            pair.chB.onmessage = (e) => {
              const at = now()
              const got = JSON.parse(e.data as string) as { n: number }
              if (got.n !== d.n) return
              const t = now()
              if (i >= 0) split.raw.send.push(sent - t0), split.raw.wire.push(e.timeStamp - sent), split.raw.dispatch.push(at - e.timeStamp), split.raw.receive.push(t - at)
              resolve(t - t0)
            }
            const t0 = now()
            pair.chA.send(JSON.stringify(d))
            const sent = now()
          }),
          10_000,
          'raw message',
        ),
      // A second baseline: raw sending, as text, a message as long as the library's wire message
      // (header, origin id, sequence number and provider around the same payload).
      (i) =>
        withTimeout(
          new Promise<number>((resolve) => {
            const d = payload(i, bytes)
            pair.chB.onmessage = (e) => {
              const got = JSON.parse(e.data as string) as { d: { n: number } }
              if (got.d.n === d.n) resolve(now() - t0)
            }
            const t0 = now()
            pair.chA.send(JSON.stringify({ v: 1, t: 'view', origin: host.c.getSelf().id, n: 1000 + i, p: 'cursor', d }))
          }),
          10_000,
          'raw message of the wire size',
        ),
    )
    // The trace pass: the same trips, each step marked.
    const untrace = [traceStages(host.c, mark), traceStages(guest.c, mark)]
    const hostChannel = channelOf(linkOf(host.c, guest.c.getSelf().id)!)
    const send = hostChannel?.send
    if (hostChannel && send) {
      hostChannel.send = function (this: RTCDataChannel, data: string) {
        mark('send: channel.send')
        send.call(this, data as never)
        mark('channel')
      } as RTCDataChannel['send']
    }
    for (let i = 0; i < Math.min(samples, 200); i++) {
      marks = []
      await trip(-1_000_000 - i)
      await turn()
    }
    if (hostChannel && send) hostChannel.send = send
    guest.onApply = null
    for (const off of untrace) off()
    pair.close()
    await dispose(indices)
    return { ...result, split, stages: stageMedians(trace) }
  },

  /** Guest intent → host applies → authoritative delta back → guest's outbox settles, vs raw echo. */
  async intent(samples: number, bytes: number) {
    const [host, guest, indices] = await sessionPair()
    const pair = await rawPair()
    const emit = guest.emitters.get('kv')!
    let hostApplied = 0
    host.onApply = () => hostApplied++
    pair.chB.onmessage = (e) => pair.chB.send(e.data as string)
    // The guest's outbox settles an intent when its host delta or ack arrives: that ends the round trip.
    let onSettle: ((intentId: string) => void) | null = null
    const stopWatching = onIntentSettled(guest.c, (intentId) => onSettle?.(intentId))
    const result = await interleaved(
      samples,
      30,
      50,
      (i) =>
        withTimeout(
          new Promise<number>((resolve) => {
            let id: string | void
            onSettle = (settled) => {
              if (settled === id) resolve(now() - t0)
            }
            const t0 = now()
            id = emit({ key: 'k', value: payload(i, bytes - 20) })
            if (!id) throw new Error('the guest emitted no intent')
          }),
          10_000,
          'intent round trip',
        ),
      (i) =>
        withTimeout(
          new Promise<number>((resolve) => {
            const d = payload(i, bytes)
            pair.chA.onmessage = (e) => {
              const got = JSON.parse(e.data as string) as { n: number }
              if (got.n === d.n) resolve(now() - t0)
            }
            const t0 = now()
            pair.chA.send(JSON.stringify(d))
          }),
          10_000,
          'raw round trip',
        ),
    )
    stopWatching()
    pair.close()
    await dispose(indices)
    return { ...result, hostApplied }
  },

  /** `count` small authoritative deltas host → guest, in batches of `batch` per task, until all are applied. */
  async throughput(count: number, reps: number, batch: number) {
    const [host, guest, indices] = await sessionPair()
    const pair = await rawPair()
    const emit = host.emitters.get('kv')!
    const session: number[] = []
    const raw: number[] = []
    /** µs of the sending task per message (emit → on the channel, or stringify + send). */
    const sendCost = { session: [] as number[], raw: [] as number[] }
    for (let rep = 0; rep < reps; rep++) {
      const start = guest.applied
      const allApplied = new Promise<number>((resolve) => {
        guest.onApply = () => {
          if (guest.applied - start === count) resolve(now())
        }
      })
      const t0 = now()
      let busy = 0
      for (let i = 0; i < count; i += batch) {
        const b0 = now()
        for (let j = i; j < Math.min(count, i + batch); j++) emit({ key: 'k', value: j })
        busy += now() - b0
        await turn()
      }
      sendCost.session.push((busy * 1000) / count)
      session.push(count / (((await withTimeout(allApplied, 60_000, `${count} deltas applied (got ${guest.applied - start})`)) - t0) / 1000))
      guest.onApply = null
      await sleep(100)

      let received = 0
      const allReceived = new Promise<number>((resolve) => {
        pair.chB.onmessage = (e) => {
          JSON.parse(e.data as string)
          if (++received === count) resolve(now())
        }
      })
      const r0 = now()
      let rawBusy = 0
      for (let i = 0; i < count; i += batch) {
        const b0 = now()
        for (let j = i; j < Math.min(count, i + batch); j++) pair.chA.send(JSON.stringify({ key: 'k', value: j }))
        rawBusy += now() - b0
        if (pair.chA.bufferedAmount > 1024 * 1024) await withTimeout(new Promise((r) => pair.chA.addEventListener('bufferedamountlow', r, { once: true })), 10_000, 'raw drain')
        await turn()
      }
      sendCost.raw.push((rawBusy * 1000) / count)
      raw.push(count / (((await withTimeout(allReceived, 60_000, `${count} raw messages`)) - r0) / 1000))
      await sleep(100)
    }
    pair.close()
    await dispose(indices)
    return { session, raw, sendCost }
  },

  /**
   * Where a burst's sending time goes: µs per call of each step of the host's send path,
   * beside raw sends, each over `count` calls in bursts of 500 (the channel drained in between).
   */
  async sendPath(count: number) {
    const [host, guest, indices] = await sessionPair()
    const pair = await rawPair()
    pair.chB.onmessage = () => {}
    const hostLink = linkOf(host.c, guest.c.getSelf().id)!
    const hostChannel = channelOf(hostLink)
    const drain = async (channel: RTCDataChannel | undefined) => {
      await until(() => !channel || channel.bufferedAmount === 0, 10_000, 'drain', 2)
      await sleep(20)
    }
    const time = async (channel: RTCDataChannel | undefined, step: (i: number) => void) => {
      let busy = 0
      for (let i = 0; i < count; i += 500) {
        const t0 = now()
        for (let j = i; j < Math.min(count, i + 500); j++) step(j)
        busy += now() - t0
        await drain(channel)
      }
      return (busy * 1000) / count
    }
    const message = { v: 1, t: 'pong', n: 0, pad: 'x'.repeat(100) }
    const bytes = encoder.encode(JSON.stringify(message))
    const kv = host.emitters.get('kv')!
    const result = {
      'raw send(string)': await time(pair.chA, () => pair.chA.send(JSON.stringify(message))),
      'raw send(new Uint8Array)': await time(pair.chA, () => pair.chA.send(encoder.encode(JSON.stringify(message)))),
      'raw send(same Uint8Array)': await time(pair.chA, () => pair.chA.send(bytes)),
      'TextEncoder.encode(JSON)': await time(undefined, () => void encoder.encode(JSON.stringify(message))),
      'crypto.getRandomValues(new Uint8Array(21))': await time(undefined, () => void crypto.getRandomValues(new Uint8Array(21))),
      'link.send(bytes) (framing + channel)': await time(hostChannel, () => hostLink.send(bytes)),
      'emit() of a kv delta (whole host path)': await time(hostChannel, (j) => kv({ key: 'k', value: j })),
    }
    await until(() => guest.applied >= count, 30_000, 'guest applied the kv deltas', 10)
    pair.close()
    await dispose(indices)
    return result
  },

  /**
   * Where a view delta's receiving time goes: µs per message of each step on the guest,
   * beside raw JSON.parse, over `count` messages (each awaited to its applyDelta).
   */
  async receivePath(count: number) {
    const [host, guest, indices] = await sessionPair()
    const guestLink = linkOf(guest.c, host.c.getSelf().id)!
    const channel = channelOf(guestLink)!
    const origin = host.c.getSelf().id
    const text = (n: number) => JSON.stringify({ v: 1, t: 'view', origin, n, p: 'cursor', d: payload(n, 100) })
    const texts = Array.from({ length: count }, (_, i) => text(1_000_000 + i))
    const perCall = (step: (i: number) => void) => {
      const t0 = now()
      for (let i = 0; i < count; i++) step(i)
      return ((now() - t0) * 1000) / count
    }
    let sink = 0
    const result: Record<string, number> = {
      'JSON.parse(text)': perCall((i) => void (sink += (JSON.parse(texts[i]!) as { n: number }).n)),
      'decodeMessage(text) (parse + validation)': perCall((i) => void (sink += decodeMessage(texts[i]!, 1 << 26).t.length)),
    }
    // The whole guest path: a channel message event (as the browser makes it) to applyDelta, one at a time.
    let total = 0
    for (let i = 0; i < count; i++) {
      const n = 2_000_000 + i
      const applied = withTimeout(
        new Promise<void>((resolve) => {
          guest.onApply = (provider, delta) => {
            if (provider === 'cursor' && delta.n === 100_000 + n) resolve()
          }
        }),
        10_000,
        'view delta applied',
      )
      const event = new MessageEvent('message', { data: text(n) })
      const t0 = now()
      channel.onmessage!.call(channel, event)
      await applied
      total += now() - t0
    }
    result['channel message → applyDelta (whole guest path)'] = (total * 1000) / count
    // An authoritative delta on the same guest: the host's first one as it came, then the same with the next seq and a fresh id.
    const guestChannel = channel
    const wrapped = guestChannel.onmessage!
    let first = ''
    guestChannel.onmessage = (e: MessageEvent) => {
      if (typeof e.data === 'string' && e.data.includes('"t":"delta"')) first = e.data
      wrapped.call(guestChannel, e)
    }
    const kvFirst = withTimeout(
      new Promise<void>((resolve) => {
        guest.onApply = (provider) => provider === 'kv' && resolve()
      }),
      10_000,
      'first kv delta',
    )
    host.emitters.get('kv')!({ key: 'k', value: 0 })
    await kvFirst
    guestChannel.onmessage = wrapped
    const delta = JSON.parse(first) as { seq: number; id: string }
    let deltaTotal = 0
    for (let i = 0; i < count; i++) {
      const seq = delta.seq + 1 + i
      const applied = withTimeout(
        new Promise<void>((resolve) => {
          guest.onApply = (provider, d) => {
            if (provider === 'kv' && d.value === seq) resolve()
          }
        }),
        10_000,
        'kv delta applied',
      )
      const text = JSON.stringify({ ...delta, seq, id: `${delta.id.slice(0, 8)}${String(seq).padStart(8, '0')}`, changes: [{ p: 'kv', d: { key: 'k', value: seq } }] })
      const event = new MessageEvent('message', { data: text })
      const t0 = now()
      channel.onmessage!.call(channel, event)
      await applied
      deltaTotal += now() - t0
    }
    result['channel message → applyDelta of an authoritative delta (whole guest path)'] = (deltaTotal * 1000) / count
    // The host's side of the same, without the channel: emit() with the channel's send a no-op.
    const hostChannel = channelOf(linkOf(host.c, guest.c.getSelf().id)!)!
    const send = hostChannel.send
    hostChannel.send = () => {}
    const cursor = host.emitters.get('cursor')!
    const views = Array.from({ length: count }, (_, i) => payload(i, 100))
    result['emit() of a view delta up to the channel (send a no-op)'] = perCall((i) => void cursor(views[i]!))
    result['JSON.stringify(view delta)'] = perCall((i) => void (sink += JSON.stringify(views[i]!).length))
    const kv = host.emitters.get('kv')!
    result['emit() of a kv delta up to the channel (send a no-op)'] = perCall((i) => void kv({ key: 'k', value: i }))
    hostChannel.send = send
    guest.onApply = null
    await dispose(indices)
    return { ...result, sink: sink > 0 ? 0 : 1 }
  },

  /**
   * Where a late join's CPU goes beyond the raw transfer's: ms of each step the session adds
   * to a snapshot of `bytes` of provider state (the raw baseline encodes and decodes UTF-8 only).
   */
  bootstrapPath(bytes: number) {
    const blob = makeBlob(bytes)
    const message = { v: 1, t: 'snapshot', seq: 1, ids: Array.from({ length: 1_000 }, (_, i) => `id${String(i).padStart(14, '0')}`), entries: [{ p: 'blob', w: null, d: { data: blob } }] }
    const time = <T>(step: () => T): [T, number] => {
      const t0 = now()
      const out = step()
      return [out, now() - t0]
    }
    const [text, stringify] = time(() => JSON.stringify(message))
    // Raw: the whole text to UTF-8 before the first send, joined and decoded after the last frame.
    const [encoded, encode] = time(() => encoder.encode(text))
    const chunks = Array.from({ length: Math.ceil(encoded.byteLength / 16_000) }, (_, i) => encoded.slice(i * 16_000, (i + 1) * 16_000))
    const [joined, join] = time(() => {
      const out = new Uint8Array(encoded.byteLength)
      let at = 0
      for (const chunk of chunks) out.set(chunk, (at += chunk.byteLength) - chunk.byteLength)
      return out
    })
    const [, decode] = time(() => new TextDecoder().decode(joined))
    // The session: the text encoded straight into its frames when queued, each decoded as it comes; the last brings the text.
    const queue = new OutboundQueue()
    const [, queueing] = time(() => queue.enqueue(text, 'bulk'))
    const [frames, framing] = time(() => {
      const out: Array<Uint8Array | string> = []
      for (let next = queue.next(); next; next = queue.next()) out.push(next.frame)
      return out
    })
    const reassembler = new Reassembler(systemClock, () => undefined, { maxMessageBytes: 1 << 30 })
    const [arrived, reassembling] = time(() => frames.map((frame) => reassembler.accept(frame)).at(-1)!.messages[0]!)
    const [, parse] = time(() => JSON.parse(arrived as string) as unknown)
    const [, whole] = time(() => decodeMessage(arrived, 1 << 30))
    return {
      'JSON.stringify (host)': stringify,
      'raw: TextEncoder of the whole text (host)': encode,
      'raw: joining the frames (guest)': join,
      'raw: TextDecoder (guest)': decode,
      'queueing the text: encoded into its frames (host)': queueing,
      'taking the frames (host)': framing,
      'the frames, each decoded as it comes (guest)': reassembling,
      'JSON.parse (guest)': parse,
      'decodeMessage: parse + validation (guest)': whole,
    }
  },

  async bootstrap(bytes: number, samples: number) {
    const h = create({ name: 'host' })
    const host = peerAt(h)
    host.blob = makeBlob(bytes)
    await host.c.start()
    const session: number[] = []
    const raw: number[] = []
    for (let i = 0; i < samples; i++) {
      const g = create({ name: `guest${i}` })
      const guest = peerAt(g)
      const complete = withTimeout(
        new Promise<number>((resolve) => {
          const off = guest.c.on('session-bootstrap-complete', () => {
            off()
            resolve(now())
          })
        }),
        120_000,
        'bootstrap complete',
      )
      await link(host, guest, 120_000)
      const t1 = await complete
      const t0 = host.lastEvent['session-peer-joined']!
      if (guest.blob.length !== bytes || guest.blob !== host.blob) throw new Error(`bootstrap delivered ${guest.blob.length} of ${bytes} characters`)
      session.push(t1 - t0)
      guest.blob = ''
      await dispose([g])
      await sleep(100)

      // Raw: the same text, UTF-8 encoded, in 16 KiB chunks with bufferedAmount back-pressure; decoded at
      // the end. On a fresh pair, as a late joiner's link is fresh (set-up not timed).
      const pair = await rawPair()
      pair.chA.bufferedAmountLowThreshold = 256 * 1024
      const CHUNK = 16 * 1024
      let buffer: Uint8Array | null = null
      let offset = 0
      let text = ''
      const received = withTimeout(
        new Promise<number>((resolve) => {
          pair.chB.onmessage = (e) => {
            if (typeof e.data === 'string') {
              buffer = new Uint8Array(Number(e.data))
              offset = 0
              return
            }
            const chunk = new Uint8Array(e.data as ArrayBuffer)
            buffer!.set(chunk, offset)
            offset += chunk.byteLength
            if (offset === buffer!.byteLength) {
              text = new TextDecoder().decode(buffer!)
              resolve(now())
            }
          }
        }),
        120_000,
        'raw transfer',
      )
      const r0 = now()
      const data = new TextEncoder().encode(host.blob)
      pair.chA.send(String(data.byteLength))
      for (let at = 0; at < data.byteLength; at += CHUNK) {
        if (pair.chA.bufferedAmount > 1024 * 1024) {
          await withTimeout(new Promise((r) => pair.chA.addEventListener('bufferedamountlow', r, { once: true })), 30_000, 'raw drain')
        }
        pair.chA.send(data.subarray(at, Math.min(at + CHUNK, data.byteLength)))
      }
      raw.push((await received) - r0)
      if (text.length !== bytes) throw new Error('raw transfer incomplete')
      text = ''
      buffer = null
      pair.close()
      await sleep(100)
    }
    host.blob = ''
    await dispose([h])
    return { session, raw }
  },

  /** One authoritative delta host → every guest (all applied), vs raw: the same bytes to every peer of a raw hub. */
  async fanout(total: number, samples: number, meshLimit: number | undefined, bytes: number, journal = true) {
    const options: PeerOptions = { ...(meshLimit !== undefined ? { meshLimit } : {}), journal }
    const h = create({ ...options, name: 'host' })
    const host = peerAt(h)
    await host.c.start()
    const indices = [h]
    const t0 = now()
    for (let i = 1; i < total; i++) {
      const g = create({ ...options, name: `g${i}` })
      indices.push(g)
      await link(host, peerAt(g))
    }
    const joined = now() - t0
    const topology = await waitTopology(indices, total, 30_000)
    const guests = indices.slice(1).map(peerAt)
    const pairs: RawPair[] = []
    for (let i = 1; i < total; i++) pairs.push(await rawPair())
    const emit = host.emitters.get('kv')!
    const result = await interleaved(
      samples,
      5,
      20,
      (i) =>
        withTimeout(
          new Promise<number>((resolve) => {
            const value = payload(i, bytes - 20)
            let left = guests.length
            for (const guest of guests) {
              guest.onApply = (provider, delta) => {
                if (provider === 'kv' && (delta.value as { n: number }).n === value.n && --left === 0) resolve(now() - s0)
              }
            }
            const s0 = now()
            emit({ key: 'k', value })
          }),
          10_000,
          'fan-out delta',
        ),
      (i) =>
        withTimeout(
          new Promise<number>((resolve) => {
            const d = payload(i, bytes)
            let left = pairs.length
            for (const pair of pairs) {
              pair.chB.onmessage = (e) => {
                if ((JSON.parse(e.data as string) as { n: number }).n === d.n && --left === 0) resolve(now() - s0)
              }
            }
            const s0 = now()
            const text = JSON.stringify(d)
            for (const pair of pairs) pair.chA.send(text)
          }),
          10_000,
          'raw fan-out',
        ),
    )
    const links = indices.map((i) => linkedCount(peerAt(i)))
    for (const pair of pairs) pair.close()
    await dispose(indices)
    return { ...result, joined, topology, links }
  },

  // ---------------------------------------------------------------- the session journal (issue #18)

  /**
   * `count` kv deltas host → guest (`batch` per task, as an app makes them) until the guest
   * applied all and both journals are on disk; with the journal on (IndexedDB) or off. Returns
   * µs per delta (all of it, and the emitting calls alone) and, when on, each journal's size.
   */
  async journalRun(count: number, batch: number, journal: boolean) {
    const [host, guest, indices] = await sessionPair({ journal })
    const emit = host.emitters.get('kv')!
    const start = guest.applied
    const usage0 = (await navigator.storage.estimate()).usage ?? 0
    const t0 = now()
    let busy = 0
    for (let i = 0; i < count; i += batch) {
      const b0 = now()
      for (let j = i; j < Math.min(count, i + batch); j++) emit({ key: `k${j % 100}`, value: { j, note: 'n'.repeat(60) } })
      busy += now() - b0
      await turn()
    }
    await until(() => guest.applied - start >= count, 60_000, `${count} deltas applied`, 1)
    await Promise.all([host.c.flushJournal(), guest.c.flushJournal()])
    const ms = now() - t0
    const keys = [host, guest].map((p) => `${p.c.sessionId}/${p.c.getSelf().id}`)
    const sizes = journal ? await new IdbJournal().sessions() : []
    const bytes = keys.map((key) => sizes.find((s) => s.key === key)?.bytes ?? 0)
    const usage = ((await navigator.storage.estimate()).usage ?? 0) - usage0
    await dispose(indices)
    return { usPerDelta: (ms * 1000) / count, emitUs: (busy * 1000) / count, bytes: { host: bytes[0]!, guest: bytes[1]! }, usage }
  },

  /** Joins or resumes (after a reload: this tab's journal) through `url`; returns the answer code. The clock starts here. */
  async timedJoin(index: number, url: string, resume: boolean) {
    const peer = peerAt(index)
    peer.joinedAt = now()
    if (!resume) return (await peer.c.join(url)).answerCode
    const resumed = await peer.c.resume(url)
    if (!resumed?.join) throw new Error(`nothing to resume: ${JSON.stringify(resumed)}`)
    return resumed.join.answerCode
  },
  /** ms from timedJoin to this peer's session-bootstrap-complete (waits for it), and its state. */
  async joinedIn(index: number, ms: number) {
    const peer = peerAt(index)
    await until(() => (peer.lastEvent['session-bootstrap-complete'] ?? 0) > peer.joinedAt, ms, 'bootstrap complete', 2)
    return { ms: peer.lastEvent['session-bootstrap-complete']! - peer.joinedAt, blob: peer.blob.length, applied: peer.applied }
  },
  /** Resolves when the host saw `peerId` go. */
  waitDropped: (index: number, ms: number) => whenEvent(peerAt(index), 'session-peer-dropped', ms),
  emitKv(index: number, count: number, prefix: string) {
    const kv = peerAt(index).emitters.get('kv')!
    for (let i = 0; i < count; i++) kv({ key: `${prefix}${i}`, value: i })
  },
  flushJournal: (index: number) => peerAt(index).c.flushJournal(),

  // ---------------------------------------------------------------- building blocks for multi-page runs (failover, memory, scale)

  scale,
  spread,

  create,
  start: (index: number) => peerAt(index).c.start(),
  id: (index: number) => peerAt(index).c.getSelf().id,
  inviteUrl: async (index: number) => (await peerAt(index).c.createInvite()).url,
  join: async (index: number, url: string) => (await peerAt(index).c.join(url)).answerCode,
  accept: (index: number, answerCode: string) => peerAt(index).c.acceptAnswer(answerCode),
  waitState: (index: number, state: SessionState, ms: number) => whenState(peerAt(index), state, ms).then(() => undefined),
  waitTopology,
  dispose,
  /** Adds `count` guests in this page to a host in this page. */
  async addGuests(host: number, count: number, options: PeerOptions = {}) {
    const indices: number[] = []
    for (let i = 0; i < count; i++) {
      const g = create({ ...options, name: `g${i + 1}` })
      indices.push(g)
      await link(peerAt(host), peerAt(g))
    }
    return indices
  },

  /** Watches `survivors` until all are connected under one new host (not `oldHost`); `failoverDone` returns when. */
  armFailover(survivors: number[], oldHost: string) {
    const watched = survivors.map(peerAt)
    const state = { t0: now(), t1: 0, newHost: '', error: '' }
    const check = () => {
      if (state.t1) return
      const hosts = watched.filter((p) => p.c.getRole() === 'host')
      if (hosts.length !== 1) return
      const hostId = hosts[0]!.c.getSelf().id
      if (hostId === oldHost) return
      const whole = watched.every((p) => {
        const roster = p.c.getPeers()
        return p.c.getState() === 'connected' && roster[0]?.id === hostId && roster.length === watched.length && !roster.some((r) => r.id === oldHost)
      })
      if (!whole) return
      state.t1 = now()
      state.newHost = hostId
    }
    for (const p of watched) p.c.events.on('*', check)
    const timer = setInterval(check, 10)
    const stop = () => {
      clearInterval(timer)
      for (const p of watched) p.c.events.off('*', check)
    }
    failover = { state, stop }
    return state.t0
  },

  async failoverDone(ms: number) {
    const run = failover
    if (!run) throw new Error('armFailover first')
    try {
      await until(() => run.state.t1 > 0, ms, 'failover: all survivors connected under a new host', 10)
    } finally {
      run.stop()
    }
    const roles = peers.filter((p): p is BenchPeer => !!p).map((p) => ({ name: p.c.getSelf().name, state: p.c.getState(), role: p.c.getRole() }))
    return { ms: run.state.t1 - run.state.t0, newHost: run.state.newHost, roles }
  },

  /** Memory, raw side: `count` raw pairs with an open channel, kept until `closeRaw`. */
  async openRaw(count: number) {
    for (let i = 0; i < count; i++) rawPairs.push(await rawPair())
  },
  closeRaw() {
    for (const pair of rawPairs.splice(0)) pair.close()
  },
  /** How many disposed controllers the page still holds (call after a GC). */
  disposedAlive() {
    for (let i = disposed.length - 1; i >= 0; i--) if (!disposed[i]!.deref()) disposed.splice(i, 1)
    return disposed.length
  },

  /**
   * Long run for cache bounds: the host emits `count` authoritative deltas (unique intent
   * ids) and the guest `count` view deltas (`count` distinct viewer keys); waits until all are applied.
   */
  async longRun(host: number, guest: number, count: number, from: number) {
    const h = peerAt(host)
    const g = peerAt(guest)
    const kv = h.emitters.get('kv')!
    const cursor = g.emitters.get('cursor')!
    const [hStart, gStart] = [h.applied, g.applied]
    for (let i = 0; i < count; i += 500) {
      for (let j = i; j < Math.min(count, i + 500); j++) {
        kv({ key: `k${(from + j) % 100}`, value: from + j })
        cursor({ viewerId: `v${from + j}`, x: j, y: j })
      }
      await turn()
    }
    await until(() => g.applied - gStart >= count && h.applied - hStart >= count, 120_000, `long run: ${count} deltas each way applied`, 20)
    return { host: boundedSizes(h.c), guest: boundedSizes(g.c), bytes: { host: h.c.getStats().bytes, guest: g.c.getStats().bytes } }
  },

  // ---------------------------------------------------------------- budgets and long tasks (issue #15)

  /** Records this page's long tasks (PerformanceObserver 'longtask') from now on. */
  watchLongTasks() {
    if (longTasks) return
    longTasks = []
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) longTasks!.push({ start: entry.startTime, duration: entry.duration })
    }).observe({ type: 'longtask' })
  },
  /** A deliberate 80 ms task: the observer must report it, or the long-task figures mean nothing. */
  async calibrateLongTasks() {
    const since = now()
    await new Promise<void>((resolve) =>
      setTimeout(() => {
        const end = now() + 80
        while (now() < end);
        resolve()
      }, 0),
    )
    await until(() => (longTasks ?? []).some((t) => t.start >= since), 2_000, 'the long-task observer to report a deliberate 80 ms task', 10)
  },
  /** Durations of the long tasks that started at or after `since` (performance.now()). */
  longTasksSince: (since: number) => (longTasks ?? []).filter((t) => t.start >= since).map((t) => t.duration),
  now,
  setBlob(index: number, bytes: number) {
    peerAt(index).blob = makeBlob(bytes)
  },
  /** The host's app makes `count` changes in one loop (its own task, on its own page). */
  emitBurst(index: number, count: number) {
    const kv = peerAt(index).emitters.get('kv')!
    for (let i = 0; i < count; i++) kv({ key: `k${i}`, value: i, note: 'n'.repeat(200) })
  },
  waitApplied: (index: number, count: number, ms: number) => until(() => peerAt(index).applied >= count, ms, `${count} deltas applied`, 2),
  /** What JSON.parse of `bytes` of blob text costs here: the floor of any decode of it. */
  parseCost(bytes: number) {
    const text = JSON.stringify({ data: makeBlob(bytes) })
    const t0 = now()
    JSON.parse(text)
    return now() - t0
  },
  /**
   * `guest` (modified code, on its own link) writes the messages that cost a host most to
   * keep or answer, `rounds` times 100, yielding between rounds; returns the host's tracked bytes.
   */
  async soak(host: number, guest: number, rounds: number) {
    const h = peerAt(host)
    const g = peerAt(guest)
    const hostId = h.c.getSelf().id
    const link = linkOf(g.c, hostId)!
    const self = g.c.getSelf().id
    const send = (message: object) => link.send(encoder.encode(JSON.stringify({ v: 1, ...message })))
    let n = 1e9
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < 25; i++) {
        send({ t: 'view', origin: self, n: ++n, p: 'cursor', d: { viewerId: `w${n}`, x: n } })
        send({ t: 'resend', from: 0 })
        send({ t: 'signal', to: hostId, kind: 'offer', signal: 'x'.repeat(1000) })
        send({ t: 'intent', id: `junk${n}`, p: 'nope', d: { pad: 'p'.repeat(200) } })
      }
      await turn()
    }
    await sleep(200)
    return { host: h.c.getStats(), connected: h.c.getState() === 'connected' && g.c.getState() === 'connected' }
  },
}

let longTasks: Array<{ start: number; duration: number }> | null = null

let failover: { state: { t0: number; t1: number; newHost: string; error: string }; stop: () => void } | null = null
const rawPairs: RawPair[] = []

/**
 * The RTCDataChannel under a WebRTC link: a detail of the WebRTC transport (not of the
 * controller), read to time deliveries and to wait for its buffer to drain.
 */
function channelOf(link: Link): RTCDataChannel | undefined {
  return (link as Link & { channel?: RTCDataChannel }).channel
}

export type Bench = typeof bench

declare global {
  interface Window {
    bench: Bench
  }
}

window.bench = bench
