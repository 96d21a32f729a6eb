/**
 * A small, honest provider for tests: a key-value store (global, or one per viewer) that
 * emits a delta for every local change and records every call the controller makes.
 */
import type { SessionDelta, SessionDeltaMeta, SessionScope, SessionSyncProvider, SessionViewer } from '../../src/index.js'

export interface SetDelta extends SessionDelta {
  key: string
  value: unknown
}

export class KvProvider implements SessionSyncProvider<SessionViewer, Record<string, unknown>, SetDelta> {
  readonly stores = new Map<string, Record<string, unknown>>()
  readonly applied: Array<{ delta: SetDelta; meta: SessionDeltaMeta }> = []
  readonly snapshotsApplied: string[] = []
  /** Intent ids applied twice with no snapshot in between: a dedupe failure. */
  readonly duplicates: string[] = []
  protected sinceSnapshot = new Set<string>()
  protected emitter: ((delta: SetDelta) => string | void) | null = null
  /** Host-side behaviour knobs. */
  refuse = false
  transform: ((delta: SetDelta) => SetDelta) | null = null

  constructor(
    readonly id: string,
    readonly scope: SessionScope = 'global',
    readonly priority = 100,
    readonly log: string[] = [],
  ) {}

  store(viewerId: string | null = null): Record<string, unknown> {
    const key = viewerId ?? '*'
    let store = this.stores.get(key)
    if (!store) this.stores.set(key, (store = {}))
    return store
  }

  /** A local user change. Returns the intent id the controller gave it. */
  set(key: string, value: unknown, viewerId: string | null = null): string | void {
    this.store(viewerId)[key] = value
    return this.emitter?.({ key, value, ...(viewerId ? { viewerId } : {}) })
  }

  snapshot(viewer: SessionViewer | null): Record<string, unknown> {
    return { ...this.store(viewer?.uniqueId ?? null) }
  }

  applySnapshot(data: Record<string, unknown>, viewer: SessionViewer | null): void {
    this.log.push(`snapshot:${this.id}:${viewer?.uniqueId ?? '*'}`)
    this.snapshotsApplied.push(viewer?.uniqueId ?? '*')
    this.sinceSnapshot = new Set()
    this.stores.set(viewer?.uniqueId ?? '*', { ...data })
  }

  subscribe(emit: (delta: SetDelta) => void): () => void {
    this.emitter = emit as (delta: SetDelta) => string | void
    return () => {
      this.emitter = null
    }
  }

  applyDelta(delta: SetDelta, meta: SessionDeltaMeta): boolean | void {
    this.applied.push({ delta, meta })
    if (delta.intentId && !meta.view) {
      if (this.sinceSnapshot.has(delta.intentId)) this.duplicates.push(delta.intentId)
      this.sinceSnapshot.add(delta.intentId)
    }
    if (this.refuse && meta.role === 'host') return false
    const final = this.transform && meta.role === 'host' ? this.transform(delta) : delta
    this.store(final.viewerId ?? null)[final.key] = final.value
    // An honest provider's change listener fires on every change, remote ones included:
    // the controller must tell an echo from a user action.
    if (this.transform && meta.role === 'host') this.emitter?.(final)
  }

  get subscribed(): boolean {
    return this.emitter !== null
  }
}
