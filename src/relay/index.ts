export { createRelayClient } from './client.js'
export type { RelayClient, RelayClientOptions, RelayInviteMeta, RelayOffer, RelayPublished, RelayWatchResult } from './client.js'
// The listener (listener.ts) is loaded on first use by the session's invites; only its types are here.
export type { RelayListener, RelayListenerState, RetryPolicy, WatchedInvite } from './listener.js'
export { relayFragment, relayInviteUrl, parseRelayFragment, RELAY_FRAGMENT_PREFIX } from './fragment.js'
export type { RelayInviteRef } from './fragment.js'
export { RelayError } from './errors.js'
export type { RelayErrorCode } from './errors.js'
