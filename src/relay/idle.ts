import type { RelayListenerState } from './listener.js'

/** The relay listener's state while nothing waits on the relay (no listener yet, or none needed). */
export const NO_RELAY_LISTENER: RelayListenerState = { state: 'idle', watching: 0, message: 'No invite is waiting on the relay.' }
