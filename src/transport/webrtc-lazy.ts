/**
 * The WebRTC transport as a page gets it (`createWebRtcTransport`): its options are checked
 * at once, and the code of its links (webrtc.ts, the framer and simple-peer) loads with the
 * first offer or answer, or as a session begins (`prepare`), not with the page.
 */
import { TransportError } from '../errors.js'
import { loadOnce } from '../runtime/load-once.js'
import { checkFrameBytes, checkMessageLimit } from './frame-limits.js'
import type { SignalCodec, Transport } from './transport.js'

/** How WebRTC links are made; everything has a default. */
export interface WebRtcTransportOptions {
  /** STUN/TURN servers. Default: none, so only peers on the same network can connect. */
  iceServers?: RTCIceServer[]
  /** How long to gather ICE candidates before sending what was found. Default 5 s. */
  gatherTimeoutMs?: number
  /** Larger messages are refused on send and dropped on receipt. Default 64 MiB. */
  maxMessageBytes?: number
  /** DataChannel frame size, header included; below 16 KiB. */
  chunkBytes?: number
  /** A partly received message with no new frame for this long is dropped. Default 30 s. */
  reassemblyTimeoutMs?: number
  /** Bytes held per link for partly received messages; past it the stalest is dropped. Default: maxMessageBytes + 1 MiB. */
  reassemblyBudgetBytes?: number
  /** How signals are packed into invites. Default: the compact SDP codec. */
  signalCodec?: SignalCodec
}

/**
 * The compact SDP codec, loaded with the first invite rather than with the page: it is the
 * largest module of the transport and only invites and answers use it.
 */
const loadSdpCodec = async () => (await import('./sdp-codec.js')).sdpCodec
const lazySdpCodec: SignalCodec = {
  pack: async (signal) => (await loadSdpCodec()).pack(signal),
  unpack: async (bytes) => (await loadSdpCodec()).unpack(bytes),
}

/** The browser transport: one RTCPeerConnection and DataChannel per link (simple-peer), non-trickle signalling, framing with back-pressure. Without `iceServers`, only peers on the same network connect. */
export function createWebRtcTransport(options: WebRtcTransportOptions = {}): Transport {
  if (options.chunkBytes !== undefined) checkFrameBytes(options.chunkBytes)
  if (options.maxMessageBytes !== undefined) checkMessageLimit(options.maxMessageBytes)
  if (options.reassemblyBudgetBytes !== undefined) checkMessageLimit(options.reassemblyBudgetBytes)
  // Once per transport; a failed load (offline, a replaced chunk) is tried again by the next call.
  const load = loadOnce(
    () => import('./webrtc.js'),
    ({ WebRtcTransport }) => new WebRtcTransport(options),
    (cause) => new TransportError('transport-unavailable', 'The code for WebRTC links could not be loaded. Check the connection and try again, or reload the page.', { cause }),
  )
  return {
    hasIceServers: (options.iceServers ?? []).length > 0,
    signalCodec: options.signalCodec ?? lazySdpCodec,
    prepare: async () => void (await load()),
    createOffer: async () => (await load()).createOffer(),
    acceptOffer: async (offer) => (await load()).acceptOffer(offer),
  }
}
