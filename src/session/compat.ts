import { IncompatibleModulesError, SessionLockedError, UndeclaredModulesRefusedError } from '../errors.js'
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

/** The app modules a page declared, and the check `start()` and `join()` make of them. */
export class DeclaredModules {
  private readonly modules = new Map<string, SessionModule>()

  /** Adds (or replaces) a module's declaration; the returned function withdraws it. */
  declare(module: SessionModule): () => void {
    this.modules.set(module.id, module)
    return () => {
      if (this.modules.get(module.id) === module) this.modules.delete(module.id)
    }
  }

  scan(): CompatibilityReport {
    return scanModules(this.modules.values())
  }

  /**
   * Refuses a session while a module says `false`; for undeclared ones, reports them and
   * asks the person (`confirm`) when the app gave a way to.
   */
  async check(report: (message: string) => void, confirm?: (modules: string[]) => boolean | Promise<boolean>): Promise<void> {
    const { incompatible, undeclared } = this.scan()
    if (incompatible.length) throw new IncompatibleModulesError(incompatible)
    if (!undeclared.length) return
    report(`These modules declare no session support and may not sync: ${undeclared.join(', ')}.`)
    if (confirm && !(await confirm(undeclared))) throw new UndeclaredModulesRefusedError(undeclared)
  }
}
