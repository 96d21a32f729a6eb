import { DuplicateProviderError, SessionError } from '../errors.js'
import type { RegisterOptions, SessionSyncProvider } from './contract.js'

export const DEFAULT_PRIORITY = 100

/** Providers by id, with their bootstrap order (ascending priority, then registration order). */
export class ProviderRegistry {
  private readonly providers = new Map<string, SessionSyncProvider>()
  /** Providers the app registered as view providers, beside those that declare `view: true`. */
  private readonly viewIds = new Set<string>()

  add(provider: SessionSyncProvider, options: RegisterOptions = {}): void {
    if (!provider || typeof provider.id !== 'string' || provider.id === '') {
      throw new SessionError('invalid-provider', 'A session provider needs a non-empty string id.')
    }
    if (provider.scope !== 'global' && provider.scope !== 'per-viewer') {
      throw new SessionError('invalid-provider', `Provider "${provider.id}" has scope ${JSON.stringify(provider.scope)}; use 'global' or 'per-viewer'.`)
    }
    if (this.providers.has(provider.id)) throw new DuplicateProviderError(provider.id)
    this.providers.set(provider.id, provider)
    if (options.view) this.viewIds.add(provider.id)
  }

  /** Removes this exact provider object (not a later one registered under the same id). */
  remove(provider: SessionSyncProvider): boolean {
    if (this.providers.get(provider.id) !== provider) return false
    this.viewIds.delete(provider.id)
    return this.providers.delete(provider.id)
  }

  /** Every delta of this provider is a view delta: last write wins, no host round trip. */
  isView(id: string): boolean {
    return this.viewIds.has(id) || this.providers.get(id)?.view === true
  }

  get(id: string): SessionSyncProvider | undefined {
    return this.providers.get(id)
  }

  has(id: string): boolean {
    return this.providers.has(id)
  }

  all(): SessionSyncProvider[] {
    return [...this.providers.values()]
  }

  priorityOf(id: string): number {
    return this.providers.get(id)?.priority ?? DEFAULT_PRIORITY
  }

  /** Bootstrap order: ascending priority; ties keep registration order (sort is stable). */
  ordered(): SessionSyncProvider[] {
    return this.all().sort((a, b) => (a.priority ?? DEFAULT_PRIORITY) - (b.priority ?? DEFAULT_PRIORITY))
  }
}
