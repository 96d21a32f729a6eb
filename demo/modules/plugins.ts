/**
 * Modules that only declare what they think of sessions, and the plugin loader.
 * - ruler: purely local, safe in a session (`true`).
 * - legacy-editor: rewrites the image behind the session's back (`false`): no session can
 *   start while it is loaded, which is why it can be unloaded.
 * - mystery-plugin: says nothing (undeclared): starting asks the user first.
 * - heatmap: loaded on demand, refused while a session is active (the plugin lock).
 */
import type { SessionCompatibility } from '../../src/index.js'

export interface PluginEntry {
  id: string
  label: string
  sessionCompatible: SessionCompatibility
  loaded: boolean
  /** A button to unload it (only where unloading is the way forward). */
  unloadable: boolean
}

export function createPluginsModule() {
  const entries: PluginEntry[] = [
    { id: 'ruler', label: 'Ruler', sessionCompatible: true, loaded: true, unloadable: false },
    { id: 'legacy-editor', label: 'Legacy editor', sessionCompatible: false, loaded: true, unloadable: true },
    { id: 'mystery-plugin', label: 'Mystery plugin', sessionCompatible: undefined, loaded: true, unloadable: false },
  ]
  const undeclare = new Map<string, () => void>()
  const listeners = new Set<() => void>()
  const changed = () => listeners.forEach((fn) => fn())

  function declare(entry: PluginEntry): void {
    const session = window.SESSION
    if (!session || !entry.loaded) return
    // Omitting sessionCompatible is how a module stays undeclared.
    const off = session.declareModule(entry.sessionCompatible === undefined ? { id: entry.id } : { id: entry.id, sessionCompatible: entry.sessionCompatible })
    undeclare.set(entry.id, off)
  }

  return {
    entries: () => entries.map((e) => ({ ...e })),
    onChange(fn: () => void) {
      listeners.add(fn)
      return () => listeners.delete(fn)
    },
    connect() {
      for (const entry of entries) declare(entry)
    },
    unload(id: string): void {
      const entry = entries.find((e) => e.id === id)
      if (!entry?.loaded) return
      entry.loaded = false
      undeclare.get(id)?.()
      undeclare.delete(id)
      changed()
    },
    /**
     * Loads a plugin; throws SessionLockedError while a session is active, because every
     * peer must run the same set of plugins.
     */
    load(id: string, label: string): 'loaded' | 'already-loaded' {
      window.SESSION?.guardPluginLoad(id)
      const existing = entries.find((e) => e.id === id)
      if (existing?.loaded) return 'already-loaded'
      const entry: PluginEntry = existing ?? { id, label, sessionCompatible: true, loaded: true, unloadable: false }
      entry.loaded = true
      if (!existing) entries.push(entry)
      declare(entry)
      changed()
      return 'loaded'
    },
  }
}
