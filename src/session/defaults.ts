/**
 * What `new SessionSyncController()` means with nothing given: WebRTC with no ICE servers
 * (peers on the same network only; nothing goes to a public STUN server unasked).
 */
import { createWebRtcTransport } from '../transport/webrtc-lazy.js'
import type { Transport } from '../transport/transport.js'
import type { SessionSyncOptions } from './options.js'

/** For the UI to show when `hasIceServers` is false. */
export const NO_ICE_NOTICE =
  'No ICE servers are configured: only people on the same network can join. To reach people elsewhere, configure a STUN server (and a TURN server for strict networks).'

export function withDefaults(options: SessionSyncOptions): SessionSyncOptions & { transport: Transport } {
  return {
    ...options,
    transport: options.transport ?? createWebRtcTransport({ iceServers: [] }),
  }
}
