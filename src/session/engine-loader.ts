/**
 * Where the controller finds its engine (engine.ts). A page loads it with a dynamic
 * import() on the first call that needs a session, or earlier in idle time (the `preload`
 * option); the testing entry provides it up front, so a test or a simulation never waits on
 * an import and a seed replays exactly. Once a session runs, all of the engine is here:
 * nothing a running session does (a failover, a returning peer) waits on a fetch.
 */
import { SessionError } from '../errors.js'
import type { Transport } from '../transport/transport.js'
import type * as Engine from './engine.js'

export type SessionEngine = typeof Engine

let engine: SessionEngine | undefined
let loading: Promise<SessionEngine> | undefined

/** Makes the engine available at once, with no import(): the testing entry calls it. */
export function provideEngine(given: SessionEngine): void {
  engine = given
}

/** The engine, if it is here already. */
export function loadedEngine(): SessionEngine | undefined {
  return engine
}

/**
 * Loads the engine, and what the transport's links need, once per page. A failure (offline,
 * or a deploy replaced the chunk) is a `SessionError` `engine-unavailable`; the next call tries again.
 */
export async function loadEngine(transport: Transport): Promise<SessionEngine> {
  try {
    loading ??= engine ? Promise.resolve(engine) : import('./engine.js')
    const [loaded] = await Promise.all([loading, transport.prepare?.()])
    return (engine = loaded)
  } catch (cause) {
    loading = undefined
    throw new SessionError('engine-unavailable', 'The code that runs a session could not be loaded. Check the connection and try again, or reload the page.', { cause })
  }
}
