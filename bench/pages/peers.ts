/**
 * Beside the peers (bench/run.mjs `peers`): session-sync, a raw RTCPeerConnection, PeerJS
 * and y-webrtc through the same operations, between two pages in separate browser
 * contexts (y-webrtc allows one document per room per page, and pages of one context would
 * talk over BroadcastChannel instead of WebRTC). Page `a` sends, page `b` receives; times
 * are `performance.timeOrigin + performance.now()`, one monotonic clock for both pages of
 * the browser, so Node subtracts a send time in `a` from an arrival time in `b`.
 * Every wait has a timeout; nothing loops without a bound.
 */
import { Peer, type DataConnection } from 'peerjs'
import { WebrtcProvider } from 'y-webrtc'
import * as Y from 'yjs'
import {
  createWebRtcTransport,
  SessionSyncController,
  type SessionDelta,
  type SessionSyncProvider,
} from '../../src/index.js'
import { makeBlob } from '../../test/helpers/blob.js'
import { turn, withTimeout } from './waits.js'

export type Lib = 'session' | 'raw' | 'peerjs' | 'ywebrtc'

/** Absolute time in ms, comparable between pages of one browser. */
const at = () => performance.timeOrigin + performance.now()

/** A small update of about `bytes` bytes as JSON. */
const update = (n: number, bytes: number) => ({ n, pad: 'x'.repeat(Math.max(0, bytes - 24)) })

// ------------------------------------------------------------------ what every library does on each page

/**
 * One library's end in this page. Updates carry a number `n`; `onUpdate` hears each on the
 * receiving page, `onAck` hears the receiver's acknowledgement on the sending page.
 */
interface End {
  send(n: number, bytes: number): void
  ack(n: number): void
  /** `count` updates, `batch` per task, respecting the library's own back-pressure where it has one. */
  burst(count: number, batch: number): Promise<void>
  onUpdate: ((n: number) => void) | null
  onAck: ((n: number) => void) | null
  close(): void
}

const ends = new Map<Lib, End>()
const endOf = (lib: Lib) => {
  const end = ends.get(lib)
  if (!end) throw new Error(`${lib} is not connected in this page`)
  return end
}

// ------------------------------------------------------------------ session-sync

function sessionEnd(c: SessionSyncController, emitters: Map<string, (d: SessionDelta) => unknown>, role: 'a' | 'b'): End {
  const end: End = {
    // View deltas both ways: a → b the update, b → a the ack (each a last-write-wins cursor).
    send: (n, bytes) => void emitters.get('cursor')!({ ...update(n, bytes), from: 'a' }),
    ack: (n) => void emitters.get('cursor')!({ n, from: 'b' }),
    async burst(count, batch) {
      const kv = emitters.get('kv')!
      for (let i = 0; i < count; i += batch) {
        for (let j = i; j < Math.min(count, i + batch); j++) kv({ key: 'k', n: j })
        await turn()
      }
    },
    onUpdate: null,
    onAck: null,
    close: () => void (role === 'a' ? c.end() : c.leave()),
  }
  return end
}

function sessionProviders(emitters: Map<string, (d: SessionDelta) => unknown>, onApply: (id: string, d: SessionDelta) => void, state: { blob: string }): SessionSyncProvider[] {
  const subscribe = (id: string) => (emit: (d: SessionDelta) => unknown) => {
    emitters.set(id, emit)
    return () => emitters.delete(id)
  }
  const apply = (id: string) => (delta: SessionDelta) => onApply(id, delta)
  return [
    { id: 'kv', scope: 'global', snapshot: () => ({}), applySnapshot: () => {}, subscribe: subscribe('kv'), applyDelta: apply('kv') },
    { id: 'cursor', scope: 'global', view: true, snapshot: () => ({}), applySnapshot: () => {}, subscribe: subscribe('cursor'), applyDelta: apply('cursor') },
    {
      id: 'blob',
      scope: 'global',
      priority: 90,
      snapshot: () => ({ data: state.blob }),
      applySnapshot: (data) => {
        state.blob = String((data as { data?: unknown }).data ?? '')
      },
      subscribe: subscribe('blob'),
      applyDelta: () => {},
    },
  ]
}

let sessionHost: { c: SessionSyncController; state: { blob: string }; joinedAt: number[] } | null = null

function newController(name: string, onApply: (id: string, d: SessionDelta) => void, state: { blob: string }, emitters = new Map<string, (d: SessionDelta) => unknown>()) {
  const c = new SessionSyncController({ transport: createWebRtcTransport({ iceServers: [] }), baseUrl: location.href.split('#')[0], user: { name } })
  for (const provider of sessionProviders(emitters, onApply, state)) c.registerProvider(provider)
  return { c, emitters }
}

function connected(c: SessionSyncController, ms = 30_000): Promise<number> {
  if (c.getState() === 'connected') return Promise.resolve(at())
  return withTimeout(
    new Promise<number>((resolve) => {
      const off = c.on('session-state-changed', (e) => {
        if (e.state !== 'connected') return
        off()
        resolve(at())
      })
    }),
    ms,
    `${c.getSelf().name} connected`,
  )
}

const session = {
  /** Page a: a started host; resolves with the invite URL and the time the invite was asked for. */
  async host(): Promise<{ url: string; t0: number }> {
    const state = { blob: '' }
    let end: End | null = null
    const { c, emitters } = newController('a', (id, d) => {
      if (id === 'cursor' && d.from === 'b') end?.onAck?.(d.n as number)
    }, state)
    await c.start()
    sessionHost = { c, state, joinedAt: [] }
    c.on('session-peer-joined', () => sessionHost?.joinedAt.push(at()))
    end = sessionEnd(c, emitters, 'a')
    ends.set('session', end)
    const t0 = at()
    return { url: (await c.createInvite()).url, t0 }
  },
  async invite(): Promise<string> {
    return (await sessionHost!.c.createInvite()).url
  },
  /** Page b: joins; `connected` settles when this guest is connected. */
  async join(url: string): Promise<string> {
    let end: End | null = null
    const { c, emitters } = newController('b', (id, d) => {
      if (id === 'cursor' && d.from === 'a') end?.onUpdate?.(d.n as number)
      else if (id === 'kv') end?.onUpdate?.(d.n as number)
    }, { blob: '' })
    end = sessionEnd(c, emitters, 'b')
    ends.set('session', end)
    const { answerCode } = await c.join(url)
    pendingConnected = connected(c)
    return answerCode
  },
  /** Page a: takes the answer; resolves when the host sees the guest connected. */
  async accept(code: string): Promise<number> {
    const done = connected(sessionHost!.c)
    await sessionHost!.c.acceptAnswer(code)
    return done
  },
  guestConnected: () => pendingConnected!,
  /** Page a: the host's state for late joiners. */
  setState(bytes: number) {
    sessionHost!.state.blob = makeBlob(bytes)
  },
  /** Page b: a fresh guest joins and bootstraps; resolves with the time its bootstrap completed. */
  async lateJoin(url: string): Promise<{ code: string }> {
    const state = { blob: '' }
    const { c } = newController('late', () => {}, state)
    lateDone = withTimeout(
      new Promise<number>((resolve) => {
        const off = c.on('session-bootstrap-complete', () => {
          off()
          resolve(at())
        })
      }),
      60_000,
      'late joiner bootstrapped',
    ).then(async (t) => {
      const length = state.blob.length
      await c.leave()
      return { t, length }
    })
    return { code: (await c.join(url)).answerCode }
  },
  lateJoinedAt: () => sessionHost!.joinedAt.at(-1)!,
}
let pendingConnected: Promise<number> | null = null
let lateDone: Promise<{ t: number; length: number }> | null = null

// ------------------------------------------------------------------ raw RTCPeerConnection

function gathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve()
  return new Promise((resolve) => {
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') resolve()
    })
  })
}

function channelOpen(channel: RTCDataChannel): Promise<number> {
  if (channel.readyState === 'open') return Promise.resolve(at())
  return withTimeout(new Promise((resolve) => channel.addEventListener('open', () => resolve(at()), { once: true })), 20_000, 'raw channel open')
}

function rawEnd(pc: RTCPeerConnection, channel: RTCDataChannel): End {
  channel.binaryType = 'arraybuffer'
  const end: End = {
    send: (n, bytes) => channel.send(JSON.stringify(update(n, bytes))),
    ack: (n) => channel.send(JSON.stringify({ ack: n })),
    async burst(count, batch) {
      for (let i = 0; i < count; i += batch) {
        for (let j = i; j < Math.min(count, i + batch); j++) channel.send(JSON.stringify({ key: 'k', n: j }))
        if (channel.bufferedAmount > 1024 * 1024) await withTimeout(new Promise((r) => channel.addEventListener('bufferedamountlow', r, { once: true })), 10_000, 'raw drain')
        await turn()
      }
    },
    onUpdate: null,
    onAck: null,
    close: () => pc.close(),
  }
  channel.onmessage = (e) => {
    if (typeof e.data !== 'string') return
    const message = JSON.parse(e.data) as { n?: number; ack?: number }
    if (message.ack !== undefined) end.onAck?.(message.ack)
    else end.onUpdate?.(message.n!)
  }
  return end
}

let rawOffering: { pc: RTCPeerConnection; channel: RTCDataChannel } | null = null
const raw = {
  /** Page a: a non-trickle offer; `t0` when it was asked for. */
  async offer(): Promise<{ sdp: string; t0: number }> {
    const t0 = at()
    const pc = new RTCPeerConnection({ iceServers: [] })
    const channel = pc.createDataChannel('data')
    await pc.setLocalDescription(await pc.createOffer())
    await gathered(pc)
    rawOffering = { pc, channel }
    return { sdp: pc.localDescription!.sdp, t0 }
  },
  /** Page b: the answer; `opened()` then settles when its channel opens. */
  async answer(sdp: string, as: Lib | 'late' = 'raw'): Promise<string> {
    const pc = new RTCPeerConnection({ iceServers: [] })
    const channel = new Promise<RTCDataChannel>((resolve) => (pc.ondatachannel = (e) => resolve(e.channel)))
    await pc.setRemoteDescription({ type: 'offer', sdp })
    await pc.setLocalDescription(await pc.createAnswer())
    await gathered(pc)
    rawOpened = channel.then(async (ch) => {
      const t = await channelOpen(ch)
      if (as === 'late') rawLateState = receiveState(ch)
      else ends.set('raw', rawEnd(pc, ch))
      return t
    })
    return pc.localDescription!.sdp
  },
  /** Page a: applies the answer; resolves when its channel opens. */
  async complete(sdp: string, as: Lib | 'late' = 'raw'): Promise<number> {
    const { pc, channel } = rawOffering!
    await pc.setRemoteDescription({ type: 'answer', sdp })
    const t = await channelOpen(channel)
    if (as === 'late') rawLateSender = { pc, channel }
    else ends.set('raw', rawEnd(pc, channel))
    return t
  },
  opened: () => rawOpened!,
  /** Page a: the state as UTF-8 in 16 KiB chunks with back-pressure, after a length; resolves with the start time. */
  async sendState(bytes: number): Promise<number> {
    const { channel, pc } = rawLateSender!
    const data = new TextEncoder().encode(makeBlob(bytes))
    channel.bufferedAmountLowThreshold = 256 * 1024
    const t0 = at()
    channel.send(String(data.byteLength))
    for (let i = 0; i < data.byteLength; i += 16 * 1024) {
      if (channel.bufferedAmount > 1024 * 1024) await withTimeout(new Promise((r) => channel.addEventListener('bufferedamountlow', r, { once: true })), 30_000, 'raw drain')
      channel.send(data.subarray(i, Math.min(i + 16 * 1024, data.byteLength)))
    }
    await withTimeout(
      (async () => {
        while (channel.bufferedAmount > 0) await new Promise((r) => setTimeout(r, 5))
      })(),
      30_000,
      'raw state sent',
    )
    setTimeout(() => pc.close(), 2_000)
    return t0
  },
  /** Page b: resolves with the time the late state was decoded whole, and its length. */
  receivedState: () => rawLateState!,
}

/** Receives a length, then that many bytes in chunks; resolves with the time it was decoded whole, and its length. */
function receiveState(channel: RTCDataChannel): Promise<{ t: number; length: number }> {
  channel.binaryType = 'arraybuffer'
  return withTimeout(
    new Promise((resolve) => {
      let buffer: Uint8Array | null = null
      let offset = 0
      channel.onmessage = (e) => {
        if (typeof e.data === 'string') {
          buffer = new Uint8Array(Number(e.data))
          return
        }
        const chunk = new Uint8Array(e.data as ArrayBuffer)
        buffer!.set(chunk, offset)
        offset += chunk.byteLength
        if (offset === buffer!.byteLength) resolve({ t: at(), length: new TextDecoder().decode(buffer!).length })
      }
    }),
    60_000,
    'raw state received',
  )
}
let rawOpened: Promise<number> | null = null
let rawLateState: Promise<{ t: number; length: number }> | null = null
let rawLateSender: { pc: RTCPeerConnection; channel: RTCDataChannel } | null = null

// ------------------------------------------------------------------ PeerJS

let peerjsPeer: Peer | null = null
let peerjsLateState = ''

function peerjsEnd(conn: DataConnection): End {
  const end: End = {
    send: (n, bytes) => void conn.send(update(n, bytes)),
    ack: (n) => void conn.send({ ack: n }),
    async burst(count, batch) {
      for (let i = 0; i < count; i += batch) {
        for (let j = i; j < Math.min(count, i + batch); j++) conn.send({ key: 'k', n: j })
        await turn()
      }
    },
    onUpdate: null,
    onAck: null,
    close: () => conn.close(),
  }
  conn.on('data', (data) => {
    const message = data as { n?: number; ack?: number }
    if (message.ack !== undefined) end.onAck?.(message.ack)
    else end.onUpdate?.(message.n!)
  })
  return end
}

function connOpen(conn: DataConnection): Promise<number> {
  if (conn.open) return Promise.resolve(at())
  return withTimeout(new Promise((resolve) => conn.once('open', () => resolve(at()))), 20_000, 'PeerJS connection open')
}

const peerjs = {
  /** Either page: a Peer registered with the local PeerServer, no STUN/TURN. */
  async open(id: string, port: number): Promise<void> {
    peerjsAccepted = 0
    const peer = new Peer(id, { host: '127.0.0.1', port, path: '/', secure: false, config: { iceServers: [] }, debug: 0 })
    peerjsPeer = peer
    await withTimeout(new Promise<void>((resolve, reject) => {
      peer.once('open', () => resolve())
      peer.once('error', reject)
    }), 20_000, 'PeerJS server registration')
    // Page a: incoming connections; the first is the pair under test, later ones are late joiners.
    peer.on('connection', (conn) => {
      if (conn.label === 'late') {
        void connOpen(conn).then((t) => {
          peerjsLateOpened.push(t)
          conn.send({ state: peerjsLateState })
        })
        return
      }
      void connOpen(conn).then((t) => {
        ends.set('peerjs', peerjsEnd(conn))
        peerjsAccepted = t
      })
    })
  },
  /** Page b: connects to `id`; resolves with the time both the call was made and its end opened. */
  async connect(id: string): Promise<{ t0: number; t1: number }> {
    const t0 = at()
    const conn = peerjsPeer!.connect(id, { reliable: true })
    const t1 = await connOpen(conn)
    ends.set('peerjs', peerjsEnd(conn))
    return { t0, t1 }
  },
  accepted: () => withTimeout((async () => {
    while (!peerjsAccepted) await new Promise((r) => setTimeout(r, 2))
    return peerjsAccepted
  })(), 20_000, 'PeerJS accepted'),
  setState(bytes: number) {
    peerjsLateState = makeBlob(bytes)
  },
  /** Page b: a second connection labelled late; resolves with the time the state arrived and its length. */
  lateJoin(id: string): Promise<{ t: number; length: number }> {
    const conn = peerjsPeer!.connect(id, { reliable: true, label: 'late' })
    return withTimeout(
      new Promise((resolve) => {
        conn.on('data', (data) => {
          const state = (data as { state?: string }).state
          if (state === undefined) return
          const t = at()
          conn.close()
          resolve({ t, length: state.length })
        })
      }),
      60_000,
      'PeerJS state received',
    )
  },
  lateOpenedAt: () => peerjsLateOpened.at(-1)!,
}
let peerjsAccepted = 0
const peerjsLateOpened: number[] = []

// ------------------------------------------------------------------ y-webrtc

/** Resolves at the provider's first WebRTC peer connected (y-webrtc's 'peers' event, `added`). */
function firstPeer(provider: WebrtcProvider, ms: number): Promise<number> {
  return withTimeout(
    new Promise((resolve) => {
      const on = (e: { added: string[]; webrtcPeers: string[] }) => {
        if (e.added.length && e.webrtcPeers.length) {
          provider.off('peers', on)
          resolve(at())
        }
      }
      provider.on('peers', on)
    }),
    ms,
    'y-webrtc peer connected',
  )
}

/** Resolves once every signalling connection of the provider is open. */
function signalled(provider: WebrtcProvider): Promise<void> {
  return withTimeout(
    (async () => {
      while (!provider.signalingConns.every((conn) => conn.connected)) await new Promise((r) => setTimeout(r, 5))
    })(),
    10_000,
    'y-webrtc signalling connected',
  )
}

function yProvider(room: string, doc: Y.Doc, port: number): WebrtcProvider {
  return new WebrtcProvider(room, doc, { signaling: [`ws://127.0.0.1:${port}`], peerOpts: { config: { iceServers: [] } }, filterBcConns: false })
}

function yEnd(doc: Y.Doc, provider: WebrtcProvider, role: 'a' | 'b'): End {
  const map = doc.getMap('m')
  const end: End = {
    send: (n, bytes) => map.set('cursor', update(n, bytes)),
    ack: (n) => map.set('ack', n),
    async burst(count, batch) {
      for (let i = 0; i < count; i += batch) {
        for (let j = i; j < Math.min(count, i + batch); j++) map.set('k', j)
        await turn()
      }
    },
    onUpdate: null,
    onAck: null,
    close: () => {
      provider.destroy()
      doc.destroy()
    },
  }
  map.observe((event) => {
    if (!event.transaction.origin) return // our own change
    for (const key of event.keysChanged) {
      if (role === 'a' && key === 'ack') end.onAck?.(map.get('ack') as number)
      if (role === 'b' && key === 'cursor') end.onUpdate?.((map.get('cursor') as { n: number }).n)
      if (role === 'b' && key === 'k') end.onUpdate?.(map.get('k') as number)
    }
  })
  return end
}

let yPending: Promise<number> | null = null
const ywebrtc = {
  /** Page a, then page b: both in `room`; page b's call starts the timed connect. */
  async open(room: string, port: number, role: 'a' | 'b'): Promise<{ t0: number }> {
    const doc = new Y.Doc()
    const t0 = at()
    const provider = yProvider(room, doc, port)
    ends.set('ywebrtc', yEnd(doc, provider, role))
    yPending = firstPeer(provider, 30_000)
    // Page a waits until the signalling server has it, so page b's timed connect starts from a room with a peer in it.
    if (role === 'a') await signalled(provider)
    return { t0 }
  },
  connected: () => yPending!,
  /** Page a: a document holding `bytes` of text, in its own room, for a late joiner. */
  offerState(room: string, port: number, bytes: number): Promise<void> {
    const doc = new Y.Doc()
    doc.getMap('m').set('blob', makeBlob(bytes))
    const provider = yProvider(room, doc, port)
    yLate.push({ doc, provider })
    return signalled(provider)
  },
  /** Page b: joins `room`; resolves with when its link connected, when the state arrived (or a failure), and its length. */
  async lateJoin(room: string, port: number, bytes: number, ms: number): Promise<{ opened: number; t: number; length: number; error?: string }> {
    const doc = new Y.Doc()
    const map = doc.getMap('m')
    const arrived = new Promise<number>((resolve) => map.observe(() => map.has('blob') && resolve(at())))
    const provider = yProvider(room, doc, port)
    try {
      const opened = await firstPeer(provider, 30_000)
      const t = await withTimeout(arrived, ms, `y-webrtc late join of ${bytes} bytes`)
      return { opened, t, length: String(map.get('blob')).length }
    } catch (error) {
      return { opened: 0, t: 0, length: 0, error: (error as Error).message }
    } finally {
      provider.destroy()
      doc.destroy()
    }
  },
  closeStates() {
    for (const { doc, provider } of yLate.splice(0)) {
      provider.destroy()
      doc.destroy()
    }
  },
}
const yLate: Array<{ doc: Y.Doc; provider: WebrtcProvider }> = []

// ------------------------------------------------------------------ the operations, per library

const sent = new Map<Lib, number[]>()
const received = new Map<Lib, number[]>()

const peers = {
  session,
  raw,
  peerjs,
  ywebrtc,

  /** Page b: records each update's arrival time and acknowledges it. */
  listen(lib: Lib) {
    const end = endOf(lib)
    const times: number[] = []
    received.set(lib, times)
    end.onUpdate = (n) => {
      times[n] = at()
      // After the handler: session-sync takes what a provider emits while applying a change as its echo.
      void turn().then(() => end.ack(n))
    }
  },
  /** Page a: updates `from`…`from + count - 1`, each sent once the previous one was acknowledged. */
  async oneWay(lib: Lib, from: number, count: number, bytes: number) {
    const end = endOf(lib)
    const times = sent.get(lib) ?? []
    sent.set(lib, times)
    for (let n = from; n < from + count; n++) {
      const acked = new Promise<void>((resolve) => {
        end.onAck = (k) => k === n && resolve()
      })
      times[n] = at()
      end.send(n, bytes)
      await withTimeout(acked, 10_000, `${lib} update ${n} acknowledged`)
      await turn()
    }
  },
  sentTimes: (lib: Lib) => sent.get(lib) ?? [],
  receivedTimes: (lib: Lib) => received.get(lib) ?? [],

  /** Page b: resolves with the time the update numbered `count - 1` arrived, and how many arrived. */
  awaitBurst(lib: Lib, count: number, ms: number): Promise<{ t: number; got: number }> {
    const end = endOf(lib)
    let got = 0
    return withTimeout(
      new Promise((resolve) => {
        end.onUpdate = (n) => {
          got++
          if (n === count - 1) resolve({ t: at(), got })
        }
      }),
      ms,
      `${lib} burst of ${count}`,
    )
  },
  /** Page a: resolves with the start time. */
  async burst(lib: Lib, count: number, batch: number): Promise<number> {
    const t0 = at()
    await endOf(lib).burst(count, batch)
    return t0
  },

  late: () => lateDone!,
  close() {
    for (const end of ends.values()) end.close()
    ends.clear()
    peerjsPeer?.destroy()
    ywebrtc.closeStates()
  },
}

export type Peers = typeof peers

declare global {
  interface Window {
    peers: Peers
  }
}

window.peers = peers
