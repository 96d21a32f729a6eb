/**
 * `session-sync`: live multi-user sessions for browser viewer apps over WebRTC, peer to
 * peer. Start with `SessionSyncController` and the provider contract,
 * `SessionSyncProvider`; the guide is in `docs/`.
 *
 * @module session-sync
 */
export { SessionSyncController } from './session/controller.js'
export { DEFAULT_LIMITS, DEFAULT_HEARTBEAT, DEFAULT_TIMERS, DEFAULT_JOURNAL_LIMITS, DEFAULT_BACKLOG } from './session/options.js'
export type { SessionSyncOptions, SessionLimits, HeartbeatOptions, JournalOptions, JournalLimits } from './session/options.js'
export type { SavedSessionsApi } from './journal/saved-facade.js'
export type { Journal, JournalBatch, JournalIdentity, RawJournal, ResumeResult, SavedPeer, SavedSummary, SavedSession, TabStorage } from './journal/store.js'
export type { SessionStats, SessionCaches } from './session/stats.js'
export type { CacheStats, Budget } from './session/bounded.js'
export type { BacklogBounds } from './session/backlog.js'
export { MAX_PAYLOAD_DEPTH } from './wire/shape.js'
export { installSession } from './install.js'
export { pickColour } from './session/colours.js'
export type { AppEventBus, SessionEventHandler } from './session/events.js'
export {
  SessionError,
  SessionLockedError,
  DuplicateProviderError,
  IncompatibleModulesError,
  UndeclaredModulesRefusedError,
  IllegalTransitionError,
  SessionStateError,
  InviteError,
  InviteTooLongError,
  WireError,
  TransportError,
  PayloadLimitError,
  JournalError,
} from './errors.js'
export type { InviteErrorCode, WireErrorCode, PayloadLimitCode, JournalErrorCode } from './errors.js'
export { TRANSITIONS } from './session/lifecycle.js'
export { scanModules } from './session/compat.js'
export type { CompatibilityReport } from './session/compat.js'
export { createWebRtcTransport } from './transport/webrtc-lazy.js'
export { ICE_FAILURES } from './transport/ice-failure.js'
export type { IceFailureCode } from './transport/ice-failure.js'
export type { WebRtcTransportOptions } from './transport/webrtc-lazy.js'
export { createRelayClient, relayFragment, relayInviteUrl, parseRelayFragment, RelayError } from './relay/index.js'
export type { RelayClient, RelayClientOptions, RelayErrorCode, RelayInviteMeta, RelayInviteRef, RelayOffer, RelayPublished, RelayWatchResult } from './relay/index.js'
export type { Transport, Link, LinkEvents, LinkMessage, LinkStats, Lane, PendingOffer, PendingAnswer, Signal, SignalCodec } from './transport/transport.js'
export { systemClock } from './runtime/clock.js'
export type { Clock, TimerHandle } from './runtime/clock.js'
export { systemRandom } from './runtime/random.js'
export type { Random } from './runtime/random.js'
export { PROTOCOL_VERSION } from './wire/version.js'
export type * from './types.js'
