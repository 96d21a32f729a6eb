/**
 * The browser Transport's links: one ordered, reliable DataChannel per link, opened by
 * simple-peer with non-trickle ICE, so an offer and an answer are each one SDP string.
 * Messages are framed (framing.ts) into frames below 16 KiB, written with bufferedAmount
 * back-pressure, control lane first. A page gets it through `createWebRtcTransport`
 * (webrtc-lazy.ts), which loads this module, simple-peer and the framer on first use.
 */
import type { Instance as Peer, SignalData } from 'simple-peer'
// The prebuilt browser bundle carries its own Buffer, stream and process shims, so neither
// this library's build nor an app that bundles it needs Node polyfills (the source entry does).
import SimplePeer from 'simple-peer/simplepeer.min.js'
import { TransportError } from '../errors.js'
import { systemClock } from '../runtime/clock.js'
import { ICE_FAILURES, iceFailureError, isIceFailure } from './ice-failure.js'
import { atEndOfTask } from './end-of-task.js'
import { Listeners } from './listeners.js'
import {
  DEFAULT_FRAME_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_REASSEMBLY_TIMEOUT_MS,
  type Delivery,
  OutboundQueue,
  Reassembler,
} from './framing.js'
import type {
  Lane,
  Link,
  LinkMessage,
  LinkEvents,
  LinkStats,
  PendingAnswer,
  PendingOffer,
  Signal,
  Transport,
} from './transport.js'
import type { WebRtcTransportOptions } from './webrtc-lazy.js'

/** Stop writing above this many bytes buffered in the channel; resume below the low mark. */
const HIGH_WATER_BYTES = 256 * 1024
const LOW_WATER_BYTES = 64 * 1024
const DEFAULT_GATHER_TIMEOUT_MS = 5_000
/** A live offerer on this network replies to our checks within milliseconds; this is ample. */
const OFFERER_SILENT_MS = 5_000
const CANDIDATE_LINE = /^a=candidate:/m
/** A candidate learnt from a STUN or TURN server. */
const SERVER_CANDIDATE = /^a=candidate:.* typ (srflx|relay)\b/m
/** simple-peer marks trickle support in SDP it sends itself; do the same for SDP taken early. */
const TRICKLE_OPTION = /a=ice-options:trickle\s\n/g

/** simple-peer fields this module reads or replaces; they are stable across simple-peer 9. */
interface PeerInternals {
  _pc: RTCPeerConnection | null
  _channel: RTCDataChannel | null
  /** Called by the channel's onmessage for every frame. */
  _onChannelMessage: (event: MessageEvent) => void
  /** Called when the channel closes (its close event, or stuck in 'closing'); destroys the peer without an error. */
  _onChannelClose: () => void
  /** simple-peer's own gather timeout, which it never clears: it would hold the peer (and a closed link) for its whole length. */
  _iceCompleteTimer: ReturnType<typeof setTimeout> | null
}

interface LinkSettings {
  chunkBytes: number
  maxMessageBytes: number
  reassemblyTimeoutMs: number
  reassemblyBudgetBytes: number | undefined
}

/** One RTCPeerConnection and DataChannel per link; its options were checked when the page's transport was made. */
export class WebRtcTransport implements Transport {
  readonly hasIceServers: boolean
  private readonly iceServers: RTCIceServer[]
  private readonly gatherTimeoutMs: number
  private readonly linkSettings: LinkSettings
  private linkCount = 0

  constructor(options: WebRtcTransportOptions) {
    this.iceServers = options.iceServers ?? []
    this.hasIceServers = this.iceServers.length > 0
    this.gatherTimeoutMs = options.gatherTimeoutMs ?? DEFAULT_GATHER_TIMEOUT_MS
    this.linkSettings = {
      chunkBytes: options.chunkBytes ?? DEFAULT_FRAME_BYTES,
      maxMessageBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
      reassemblyTimeoutMs: options.reassemblyTimeoutMs ?? DEFAULT_REASSEMBLY_TIMEOUT_MS,
      reassemblyBudgetBytes: options.reassemblyBudgetBytes,
    }
  }

  async createOffer(): Promise<PendingOffer> {
    const peer = this.newPeer(true)
    const link = this.whenOpen(peer)
    const offer = await this.gather(peer)
    let answered = false
    return {
      offer,
      complete: async (answer) => {
        if (answered) throw new TransportError('offer-answered', 'This offer has already been answered.')
        if (peer.destroyed) throw new TransportError('offer-cancelled', 'This offer was cancelled or has failed.')
        if (!isSdp(answer)) throw new TransportError('answer-invalid', 'This is not a WebRTC answer.')
        answered = true
        peer.signal({ type: 'answer', sdp: answer })
        return link
      },
      cancel: () => cancel(peer),
    }
  }

  async acceptOffer(offer: Signal): Promise<PendingAnswer> {
    if (!isSdp(offer)) throw new TransportError('offer-invalid', 'This is not a WebRTC offer.')
    const peer = this.newPeer(false)
    const link = this.whenOpen(peer)
    const answering = this.gather(peer)
    peer.signal({ type: 'offer', sdp: offer })
    const answer = await answering
    // Neither side knows a public address: every candidate is on this network.
    if (!this.hasIceServers && !SERVER_CANDIDATE.test(offer)) expectOfferer(peer)
    return { answer, link, cancel: () => cancel(peer) }
  }

  private newPeer(initiator: boolean): Peer {
    return new SimplePeer({
      initiator,
      trickle: false,
      iceCompleteTimeout: this.gatherTimeoutMs,
      // Always explicit: simple-peer's default sends every peer to public STUN servers.
      config: { iceServers: this.iceServers },
    })
  }

  /** Settles with the link when the channel opens. Listening from the start also keeps peer errors handled. */
  private whenOpen(peer: Peer): Promise<Link> {
    const inbox = new FrameInbox(peer)
    // Kept for the failure's diagnosis: simple-peer lets go of the connection before it reports the error.
    const connection = internals(peer)._pc
    const opened = new Promise<Link>((resolve, reject) => {
      const fail = (cause?: Error) => {
        if (isIceFailure(cause)) return reject(cause) // told early (expectOfferer)
        const sdps = { local: connection?.localDescription?.sdp, remote: connection?.remoteDescription?.sdp }
        reject(iceFailureError(cause, sdps, this.hasIceServers) ?? new TransportError('connect-failed', 'The connection to the peer could not be opened.', { cause }))
      }
      peer.once('error', fail)
      peer.once('close', fail)
      peer.once('connect', () => {
        peer.off('error', fail)
        peer.off('close', fail)
        resolve(new WebRtcLink(`rtc${++this.linkCount}`, peer, inbox, this.linkSettings))
      })
    })
    opened.catch(() => {}) // an offer may be abandoned before anyone asks for its link
    return opened
  }

  /**
   * Resolves with the local SDP once ICE gathering completes, or when the gather timeout
   * expires with at least one candidate; otherwise destroys the peer and rejects.
   */
  private gather(peer: Peer): Promise<Signal> {
    return new Promise((resolve, reject) => {
      const finish = (outcome: () => void) => {
        clearTimeout(timer)
        clearTimeout(internals(peer)._iceCompleteTimer ?? undefined)
        peer.off('signal', onSignal)
        peer.off('error', onError)
        outcome()
      }
      const useSdp = (sdp: string) => {
        if (CANDIDATE_LINE.test(sdp)) return finish(() => resolve(sdp.replace(TRICKLE_OPTION, '')))
        finish(() => reject(noCandidatesError(this.gatherTimeoutMs, this.hasIceServers)))
        peer.destroy()
      }
      const onSignal = (data: SignalData) => useSdp(('sdp' in data && data.sdp) || '')
      const onError = (cause: Error) =>
        finish(() => reject(new TransportError('signal-failed', `Could not prepare the connection: ${cause.message}`, { cause })))
      const timer = setTimeout(() => useSdp(internals(peer)._pc?.localDescription?.sdp ?? ''), this.gatherTimeoutMs)
      peer.once('signal', onSignal)
      peer.once('error', onError)
    })
  }
}

/**
 * Frames straight from the channel, past simple-peer's stream (which copies each into a
 * Buffer and delivers it a tick later). The channel can open, and frames arrive, before
 * simple-peer says 'connect' and the link exists: those wait here, in order.
 */
class FrameInbox {
  private early: Array<Uint8Array | string> = []
  private sink: ((frame: Uint8Array | string) => void) | null = null

  constructor(peer: Peer) {
    internals(peer)._onChannelMessage = (event) => {
      if (peer.destroyed) return
      // Read once: each read of a text message's `data` makes the browser build the string again.
      const data: unknown = event.data
      // binaryType is 'arraybuffer'; text frames carry lone small messages (framing.ts).
      const frame = typeof data === 'string' ? data : data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(0)
      if (this.sink) this.sink(frame)
      else this.early.push(frame)
    }
  }

  attach(sink: (frame: Uint8Array | string) => void): void {
    this.sink = sink
    for (const frame of this.early.splice(0)) sink(frame)
  }
}

/**
 * With only host candidates on both sides, a page that still holds the offer answers our
 * connectivity checks within milliseconds, before it has our answer (ICE 'connected' here,
 * measured on loopback: ~10 ms). Silence means ICE will fail: nobody holds the offer any more
 * (its session ended, its tab closed), or the offerer is on another network. Say so now, as
 * the ICE failure it will be (`ice-no-servers`), rather than 20 s on.
 */
function expectOfferer(peer: Peer): void {
  const pc = internals(peer)._pc
  if (!pc) return
  const replied = () => pc.iceConnectionState === 'connected' || pc.iceConnectionState === 'completed'
  const settle = () => {
    if (!replied()) return
    clearTimeout(timer)
    pc.removeEventListener('iceconnectionstatechange', settle)
  }
  const timer = setTimeout(() => {
    pc.removeEventListener('iceconnectionstatechange', settle)
    if (replied() || peer.destroyed) return
    const silence = new TransportError('offerer-silent', `No reply from the offer's addresses within ${OFFERER_SILENT_MS / 1000} s: nobody holds that offer any more, or its page is on another network.`)
    peer.destroy(new TransportError('ice-no-servers', ICE_FAILURES['ice-no-servers'], { cause: silence }))
  }, OFFERER_SILENT_MS)
  pc.addEventListener('iceconnectionstatechange', settle)
  settle()
}

/** Frees an attempt that has not opened; an open link is closed through the link instead. */
function cancel(peer: Peer): void {
  if (!peer.connected) peer.destroy()
}

class WebRtcLink implements Link {
  private readonly events = new Listeners()
  private readonly outbound: OutboundQueue
  private readonly inbound: Reassembler
  private readonly channel: RTCDataChannel
  private readonly connection: RTCPeerConnection
  private closed = false

  constructor(readonly id: string, private readonly peer: Peer, private inbox: FrameInbox | null, settings: LinkSettings) {
    const { _pc, _channel } = internals(peer)
    if (!_pc || !_channel) throw new TransportError('connect-failed', 'The peer connected without a data channel.')
    this.connection = _pc
    this.channel = _channel
    this.outbound = new OutboundQueue(settings.chunkBytes, settings.maxMessageBytes)
    this.inbound = new Reassembler(systemClock, (error) => this.events.emit('error', error), {
      maxMessageBytes: settings.maxMessageBytes,
      timeoutMs: settings.reassemblyTimeoutMs,
      maxBytesInFlight: settings.reassemblyBudgetBytes,
    })
    this.channel.bufferedAmountLowThreshold = LOW_WATER_BYTES
    this.channel.addEventListener('bufferedamountlow', this.flush)
    peer.on('error', (cause: Error) =>
      this.destroy(`failed: ${peerErrorCode(cause)}`, new TransportError('link-failed', `The connection failed: ${cause.message}`, { cause })),
    )
    // The connection's states as the channel closed, read before simple-peer closes the connection
    // too: they tell the other side closing it (ICE still connected) from a connection failing under it.
    let ended: string | null = null
    const peerInternals = internals(peer)
    const onChannelClose = peerInternals._onChannelClose
    peerInternals._onChannelClose = () => {
      ended ??= `channel closed (ICE ${this.connection.iceConnectionState}, connection ${this.connection.connectionState})`
      onChannelClose.call(peer)
    }
    peer.on('close', () => this.destroy(ended ?? 'connection closed'))
  }

  get open(): boolean {
    return !this.closed
  }

  inFlight(): { bytes: number; budgetBytes: number } {
    return { bytes: this.inbound.bytesInFlight, budgetBytes: this.inbound.budgetBytes }
  }

  /**
   * A text frame for an idle channel (nothing queued here, nothing in the channel's buffer:
   * most messages) is written at once. Anything else waits for the end of the task, and a
   * burst of deltas shares frames instead of paying a send each: the channel counts what
   * its first message left in its buffer at once, so the rest of the burst queues here.
   */
  send(message: LinkMessage, lane: Lane = 'control'): void {
    if (this.closed) throw new TransportError('link-closed', 'Cannot send on a closed link.')
    if (this.outbound.loneTextFrame(message, lane) && this.channel.bufferedAmount === 0 && this.channel.readyState === 'open') {
      return void this.write(message)
    }
    this.outbound.enqueue(message, lane)
    if (this.flushQueued) return
    this.flushQueued = true
    atEndOfTask(this)
  }

  /** Whatever is queued (a goodbye, say) is handed to the channel first, which delivers it before closing. */
  close(reason = 'closed'): void {
    this.flush()
    this.destroy(reason)
  }

  on<K extends keyof LinkEvents>(type: K, handler: (event: LinkEvents[K]) => void): () => void {
    this.events.on(type, handler)
    // Frames wait in the inbox until someone listens, and until they have set up all their handlers.
    const inbox = type === 'message' ? this.inbox : null
    if (inbox) {
      this.inbox = null
      queueMicrotask(() => inbox.attach(this.receive))
    }
    return () => this.events.off(type, handler)
  }

  async getStats(): Promise<LinkStats> {
    const report = statsById(await this.connection.getStats())
    const pair = selectedCandidatePair(report)
    const local = pair && report.get(String(pair.localCandidateId))
    const remote = pair && report.get(String(pair.remoteCandidateId))
    const types = [text(local?.candidateType), text(remote?.candidateType)]
    // Bytes from the transport entry, which counts the whole connection: the selected pair's
    // counters were seen to stay at 0 while data flowed (issue #19).
    const transport = [...report.values()].find((stats) => stats.type === 'transport')
    const counts = transport ?? pair
    return {
      candidateType: types[0],
      remoteCandidateType: types[1],
      ...(pair ? { path: types.includes('relay') ? ('relayed' as const) : ('direct' as const) } : {}),
      localAddress: text(local?.address),
      remoteAddress: text(remote?.address),
      bytesSent: Number(counts?.bytesSent ?? 0),
      bytesReceived: Number(counts?.bytesReceived ?? 0),
    }
  }

  private flushQueued = false
  /** The end of a task in which this link queued: what waited goes, batched. */
  endOfTask(): void {
    this.flushQueued = false
    this.flush()
  }

  /** Writes frames until the channel buffer reaches the high-water mark; 'bufferedamountlow' resumes. */
  private readonly flush = (): void => {
    if (this.closed) return
    const state = this.channel.readyState
    // Told apart from the peer's own close: the channel stopped being open under a write.
    if (state !== 'open') return this.destroy(`channel ${state}`)
    while (this.outbound.pending && this.channel.bufferedAmount < HIGH_WATER_BYTES) {
      const next = this.outbound.next()!
      if (!this.write(next.frame)) return
      if (next.progress) this.events.emit('progress', next.progress)
      if (this.closed) return // a progress handler closed the link
    }
  }

  /** One frame to the channel; false (and the link ended) when the channel refuses it. */
  private write(frame: Uint8Array<ArrayBuffer> | string): boolean {
    try {
      if (typeof frame === 'string') this.channel.send(frame)
      else this.channel.send(frame)
      return true
    } catch (cause) {
      this.destroy('send failed', new TransportError('link-failed', 'The data channel refused a frame.', { cause }))
      return false
    }
  }

  private readonly receive = (frame: Uint8Array | string): void => {
    if (this.closed) return
    let delivery: Delivery | string | undefined
    try {
      // Most messages: a text frame, which is one whole message.
      delivery = typeof frame === 'string' ? this.inbound.acceptText(frame) : this.inbound.accept(frame)
    } catch (error) {
      this.events.emit('error', error as Error)
      return
    }
    if (typeof delivery === 'string') return this.events.emit('message', delivery)
    if (!delivery) return
    if (delivery.progress) this.events.emit('progress', delivery.progress)
    for (const message of delivery.messages) {
      if (this.closed) return // a message handler closed the link
      this.events.emit('message', message)
    }
  }

  /** The one way a link ends, whatever the cause: reports `error` (if any), then `close` once. */
  private destroy(reason: string, error?: Error): void {
    if (this.closed) return
    this.closed = true
    this.outbound.clear()
    this.inbound.clear()
    this.channel.removeEventListener('bufferedamountlow', this.flush)
    this.peer.destroy()
    if (error) this.events.emit('error', error)
    this.events.emit('close', { reason })
    this.events.clear()
  }
}

function internals(peer: Peer): PeerInternals {
  return peer as unknown as PeerInternals
}

function isSdp(signal: Signal): boolean {
  return /^v=0\r?\n/.test(signal)
}

function noCandidatesError(gatherTimeoutMs: number, hasIceServers: boolean): TransportError {
  const hint = hasIceServers
    ? 'Check the network connection and the STUN/TURN servers.'
    : 'Without STUN/TURN servers only peers on the same network can connect; the browser may also hide local addresses.'
  return new TransportError('ice-no-candidates', `No network address was found for the connection within ${gatherTimeoutMs} ms. ${hint}`)
}

function peerErrorCode(error: Error): string {
  return (error as Error & { code?: string }).code ?? 'unknown'
}

type StatsEntry = Record<string, string | number | boolean | undefined>

const text = (value: StatsEntry[string]) => (value === undefined ? undefined : String(value))

function statsById(report: RTCStatsReport): Map<string, StatsEntry> {
  const byId = new Map<string, StatsEntry>()
  report.forEach((stats: StatsEntry, id: string) => byId.set(id, stats))
  return byId
}

function selectedCandidatePair(report: Map<string, StatsEntry>): StatsEntry | undefined {
  let nominated: StatsEntry | undefined
  for (const stats of report.values()) {
    if (stats.type === 'transport' && stats.selectedCandidatePairId) return report.get(String(stats.selectedCandidatePairId))
    if (stats.type === 'candidate-pair' && stats.nominated && stats.state === 'succeeded') nominated = stats
  }
  return nominated
}
