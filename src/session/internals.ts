/**
 * Each controller's core, for the testing entry (src/testing.ts) only: a test or benchmark
 * that must see a link or a cache does so through a named helper there, never by reading
 * the controller's private fields. Kept in a WeakMap, not on the controller, so nothing
 * shows on the instance and nothing is kept alive by it. Nothing in the session reads it.
 */
import type { SessionViewer } from '../types.js'
import type { Core } from './state.js'

const cores = new WeakMap<object, Core<any>>()

export function registerCore<V extends SessionViewer>(controller: object, core: Core<V>): void {
  cores.set(controller, core)
}

/** The core of a controller; throws for anything that is not a SessionSyncController. */
export function coreOf(controller: object): Core {
  const core = cores.get(controller)
  if (!core) throw new TypeError('Not a SessionSyncController')
  return core
}
