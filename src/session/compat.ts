import { SessionLockedError } from '../errors.js'
import type { SessionModule } from '../types.js'

/** What the declared modules say about a session, from `scanCompatibility()`. */
export interface CompatibilityReport {
  /** Modules that declared `sessionCompatible: false`: starting is refused. */
  incompatible: string[]
  /** Modules that declared nothing: the app may ask the user to confirm. */
  undeclared: string[]
}

/** Sorts modules by what they declare: `false` is incompatible, nothing is undeclared; `true` and `'provider'` pass. */
export function scanModules(modules: Iterable<SessionModule>): CompatibilityReport {
  const report: CompatibilityReport = { incompatible: [], undeclared: [] }
  for (const module of modules) {
    if (module.sessionCompatible === false) report.incompatible.push(module.id)
    else if (module.sessionCompatible === undefined) report.undeclared.push(module.id)
  }
  return report
}

/** Throws SessionLockedError while `locked`: plugins must not change under a live session. */
export function guardPluginLoad(pluginId: string, locked: boolean): void {
  if (locked) throw new SessionLockedError(pluginId)
}
