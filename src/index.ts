export { SessionSyncController, InviteTooLongError, DEFAULT_LIMITS } from './session/controller.js'
export type { SessionSyncOptions, SessionLimits } from './session/controller.js'
export { installSession } from './install.js'
export {
  SessionError,
  SessionLockedError,
  DuplicateProviderError,
  IncompatibleModulesError,
  UndeclaredModulesRefusedError,
  IllegalTransitionError,
  SessionStateError,
  InviteError,
  WireError,
  TransportError,
} from './errors.js'
export type { InviteErrorCode, WireErrorCode } from './errors.js'
export { TRANSITIONS } from './session/lifecycle.js'
export { scanModules } from './session/compat.js'
export type { CompatibilityReport } from './session/compat.js'
export { MemoryNetwork } from './transport/memory.js'
export { createWebRtcTransport } from './transport/webrtc.js'
export type { WebRtcTransportOptions } from './transport/webrtc.js'
export { sdpCodec } from './invite/sdp-codec.js'
export { createRelayClient, relayFragment, relayInviteUrl, parseRelayFragment, RelayError } from './relay/index.js'
export type { RelayClient, RelayClientOptions, RelayErrorCode } from './relay/index.js'
export type { LinkFault, MemoryNetworkOptions } from './transport/memory.js'
export type { Transport, Link, LinkEvents, LinkStats, Lane, PendingOffer, PendingAnswer, Signal, SignalCodec } from './transport/transport.js'
export { systemClock } from './runtime/clock.js'
export type { Clock, TimerHandle } from './runtime/clock.js'
export { systemRandom, seededRandom } from './runtime/random.js'
export type { Random } from './runtime/random.js'
export { VirtualClock } from './runtime/virtual-clock.js'
export { PROTOCOL_VERSION } from './wire/messages.js'
export type * from './types.js'
