/**
 * State kept for providers this page does not have (yet): saved or journaled snapshot
 * entries, and the changes of authoritative deltas, per provider, in the order they came.
 * Handed over when the provider registers; kept through every compaction of the journal
 * (the entries in its snapshot, the deltas beside it), so a later page can still hand them over.
 */
import type { JournalEntry } from '../journal/store.js'
import type { MessageOf } from '../wire/messages.js'
import type { Change } from './state.js'

export type Held = { entry: JournalEntry } | { change: Change; delta: MessageOf<'delta'> }

export class Quarantine {
  private readonly held = new Map<string, Held[]>()

  /** Keeps `item` for `providerId`; true when it is the first thing kept for that provider. */
  hold(providerId: string, item: Held): boolean {
    const items = this.held.get(providerId)
    if (items) items.push(item)
    else this.held.set(providerId, [item])
    return !items
  }

  /** What was kept for `providerId`, now handed over (and no longer kept). */
  take(providerId: string): Held[] | undefined {
    const items = this.held.get(providerId)
    this.held.delete(providerId)
    return items
  }

  entries(): JournalEntry[] {
    return [...this.held.values()].flat().flatMap((item) => ('entry' in item ? [item.entry] : []))
  }

  /** The deltas with a change kept here, each once, in sequence order, with only the changes kept (the rest were applied). */
  deltas(): MessageOf<'delta'>[] {
    const bySeq = new Map<number, MessageOf<'delta'>>()
    for (const items of this.held.values()) {
      for (const item of items) {
        if (!('delta' in item)) continue
        const earlier = bySeq.get(item.delta.seq)?.changes ?? []
        bySeq.set(item.delta.seq, { ...item.delta, changes: [...earlier, item.change] })
      }
    }
    return [...bySeq.values()].sort((a, b) => a.seq - b.seq)
  }

  clear(): void {
    this.held.clear()
  }
}
