/**
 * A journal in memory, for tests and the simulator: it outlives a controller (a "reload"
 * makes a new controller over the same journal) and keeps only whole batches, as
 * IndexedDB does. `quotaBytes` makes it refuse writes past a size, as a full disk would.
 */
import { JournalError } from '../errors.js'
import {
  EMPTY_SNAPSHOT, headOf, type Journal, type JournalBatch, type JournalDelta, type JournalIntent, type JournalSnapshot, type JournalSummary,
  type RawJournal, type SavedSession, type SavedSummary, savedRecord,
} from './store.js'

interface Stored {
  head: Record<string, unknown> & { snapshot: JournalSnapshot; updatedAt: number; bytes: number }
  deltas: Map<number, JournalDelta>
  outbox: Map<string, JournalIntent>
}

export class MemoryJournal implements Journal {
  private readonly stored = new Map<string, Stored>()
  private readonly saved = new Map<string, Record<string, unknown> & SavedSession>()

  constructor(private readonly options: { quotaBytes?: number } = {}) {}

  async write(key: string, batch: JournalBatch): Promise<void> {
    const before = this.stored.get(key)
    const next: Stored = {
      head: { ...headOf(batch), snapshot: batch.snapshot ?? before?.head.snapshot ?? EMPTY_SNAPSHOT } as Stored['head'],
      deltas: new Map(before?.deltas),
      outbox: new Map(before?.outbox),
    }
    if (batch.snapshot) for (const seq of next.deltas.keys()) if (seq <= batch.snapshot.seq || batch.replacesLog) next.deltas.delete(seq)
    for (const delta of batch.deltas) next.deltas.set(delta.seq, { seq: delta.seq, bytes: delta.bytes.slice() })
    for (const intent of batch.queued) next.outbox.set(intent.intentId, structuredClone(intent))
    for (const id of batch.settled) next.outbox.delete(id)
    const others = [...this.stored].filter(([id]) => id !== key).reduce((sum, [, s]) => sum + s.head.bytes, 0)
    if (this.options.quotaBytes !== undefined && others + batch.bytes > this.options.quotaBytes) {
      throw new JournalError('journal-quota', `The journal is full (${others + batch.bytes} of ${this.options.quotaBytes} bytes).`)
    }
    next.head = structuredClone(next.head)
    this.stored.set(key, next)
  }

  async read(key: string): Promise<RawJournal | undefined> {
    const stored = this.stored.get(key)
    if (!stored) return undefined
    return structuredClone({ head: stored.head, deltas: [...stored.deltas.values()], outbox: [...stored.outbox.values()] })
  }

  async sessions(): Promise<JournalSummary[]> {
    return [...this.stored].map(([key, s]) => ({ key, updatedAt: s.head.updatedAt, bytes: s.head.bytes }))
  }

  async drop(key: string): Promise<void> {
    this.stored.delete(key)
  }

  async listSaved(): Promise<SavedSummary[]> {
    return [...this.saved.values()].map(({ entries: _entries, v: _v, ...summary }) => summary as SavedSummary)
  }

  async getSaved(name: string): Promise<unknown> {
    const saved = this.saved.get(name)
    return saved && structuredClone(saved)
  }

  async addSaved(saved: SavedSession): Promise<void> {
    if (this.saved.has(saved.name)) throw new JournalError('saved-duplicate', `A saved session named "${saved.name}" exists already.`)
    this.saved.set(saved.name, structuredClone(savedRecord(saved)) as Record<string, unknown> & SavedSession)
  }

  async removeSaved(name: string): Promise<boolean> {
    return this.saved.delete(name)
  }

  async clearSaved(): Promise<void> {
    this.saved.clear()
  }

  /** Test hook: change a saved record as another page version (or a damaged disk) would have left it. */
  tamperSaved(name: string, change: (record: Record<string, unknown>) => void): void {
    const saved = this.saved.get(name)
    if (saved) change(saved)
  }

  /** Test hook: overwrite a record as another page version (or a damaged disk) would have left it. */
  tamper(key: string, change: (raw: RawJournal) => void): void {
    const stored = this.stored.get(key)
    if (!stored) return
    const raw = { head: stored.head, deltas: [...stored.deltas.values()], outbox: [...stored.outbox.values()] }
    change(raw)
    this.stored.set(key, {
      head: raw.head as Stored['head'],
      deltas: new Map((raw.deltas as JournalDelta[]).map((d, i) => [d?.seq ?? -i, d])),
      outbox: new Map((raw.outbox as JournalIntent[]).map((o, i) => [o?.intentId ?? String(i), o])),
    })
  }
}
