/**
 * Putting kept state back into the providers: a saved session opened, a journal resumed,
 * and state held for providers this page does not have yet, handed over when one registers.
 */
import { SessionStateError } from '../errors.js'
import type { JournalEntry } from '../journal/store.js'
import type { SessionSyncProvider, SessionViewer } from '../types.js'
import type { MessageOf } from '../wire/messages.js'
import { type Held, Quarantine } from './quarantine.js'
import { Part } from './state.js'

export class Restoring<V extends SessionViewer = SessionViewer> extends Part<V> {
  /** State for providers this page does not have (yet): handed over when one registers. */
  private readonly quarantined = new Quarantine()

  /** Hosts a new live session from a saved state, put into the providers first so its first snapshot holds it. */
  async openSaved(entries: JournalEntry[], start: () => Promise<void>): Promise<void> {
    if (this.core.isActive()) throw new SessionStateError('session-active', 'Cannot open a saved session: a session is already active. Leave it first.')
    await this.restoreEntries(entries)
    await start()
  }

  /** Puts saved provider states into this page's providers; those it lacks wait for them. */
  async restoreEntries(entries: JournalEntry[]): Promise<void> {
    for (const entry of entries) {
      const provider = this.core.registry.get(entry.p)
      if (provider) await this.applyEntry(provider, entry)
      else this.hold(entry.p, { entry })
    }
  }

  /** Applies a kept delta's changes; those for providers this page lacks wait for them. */
  async applyKept(delta: MessageOf<'delta'>): Promise<void> {
    for (const change of delta.changes) {
      if (this.core.registry.has(change.p)) await this.parts.bridge.applyChange(change, delta.origin, delta.id, delta.seq)
      else this.hold(change.p, { change, delta })
    }
  }

  /** A provider registered: state kept for it meanwhile is handed over now, in order. */
  providerAdded(provider: SessionSyncProvider): void {
    const held = this.quarantined.take(provider.id)
    if (!held) return
    const handOver = async () => {
      for (const item of held) {
        if ('entry' in item) await this.applyEntry(provider, item.entry)
        else await this.parts.bridge.applyChange(item.change, item.delta.origin, item.delta.id, item.delta.seq)
      }
    }
    if (this.core.session) this.parts.links.serial(handOver)
    else void handOver()
  }

  /** Provider states kept for providers this page lacks: a save holds them too. */
  heldEntries(): JournalEntry[] {
    return this.quarantined.entries()
  }

  /** Deltas kept for providers this page lacks: a compacted journal keeps them beside its snapshot. */
  heldDeltas(): MessageOf<'delta'>[] {
    return this.quarantined.deltas()
  }

  /** The session ended: what was kept belonged to its document, not the next one's. */
  forget(): void {
    this.quarantined.clear()
  }

  private hold(providerId: string, item: Held): void {
    if (this.quarantined.hold(providerId, item)) this.core.diagnostic('journal-quarantined', `Kept state for provider "${providerId}", which this page does not have; it is handed over if it registers.`, { providerId })
  }

  private async applyEntry(provider: SessionSyncProvider, entry: JournalEntry): Promise<void> {
    const { ok, viewer } = this.parts.bridge.resolveViewer(provider, entry.w)
    if (ok) await this.parts.bridge.callProvider(provider.id, 'applySnapshot', () => provider.applySnapshot(entry.d, viewer), {})
  }
}
