import { BoundedMap, type Budget, type CacheStats, weighString } from './bounded.js'

/**
 * A guest's intents that the host has not yet confirmed, in the order they were made.
 * An entry leaves only when the host's delta or ack for its intentId arrives, so a lost
 * link or a new host never loses a user's change: the outbox is flushed again as is. An
 * ack that says the host holds it already (`confirm`) does not end it while its delta may
 * still come: that delta must find the entry, or the change is applied here twice.
 */
export interface OutboxEntry {
  intentId: string
  providerId: string
  /** The delta as sent, without its intentId; also used to recognise an unchanged echo. */
  payload: Record<string, unknown>
  /** JSON of the payload, computed once. */
  json: string
  /** A snapshot replaced local state after this change was made: apply its authoritative delta. */
  overwritten?: boolean
}

/** Told of every entry that comes and goes (the journal keeps the outbox across a reload). */
export interface OutboxListener {
  added(entry: OutboxEntry): void
  settled(intentId: string): void
}

/**
 * Within its budget by refusing, never by evicting: an entry taken is a change the user
 * made, and it stays until the host confirms it.
 */
export class Outbox {
  /** Never over budget, so it never evicts: `add` is only called for what `fits`. */
  private readonly entries: BoundedMap<string, OutboxEntry>
  /** Entries our host holds in its history, by the sequence number at or below which it does (a subset of `entries`). */
  private readonly held = new Map<string, number>()
  listener: OutboxListener | undefined

  constructor(readonly budget: Budget) {
    this.entries = new BoundedMap(budget, (_id, entry) => weighString(entry.json), false)
  }

  get size(): number {
    return this.entries.size
  }

  get bytes(): number {
    return this.entries.bytes
  }

  stats(): CacheStats {
    return this.entries.stats()
  }

  /** Whether a change of `json` would fit. */
  fits(json: string): boolean {
    return this.entries.size < this.budget.entries && this.entries.bytes + weighString(json) <= this.budget.bytes
  }

  add(entry: OutboxEntry): void {
    this.entries.set(entry.intentId, entry)
    this.listener?.added(entry)
  }

  get(intentId: string): OutboxEntry | undefined {
    return this.entries.get(intentId)
  }

  /** Removes and returns the entry; undefined when it was not pending. */
  settle(intentId: string): OutboxEntry | undefined {
    const entry = this.entries.get(intentId)
    if (entry) {
      this.entries.delete(intentId)
      this.held.delete(intentId)
      this.listener?.settled(intentId)
    }
    return entry
  }

  /** Our host holds this pending change in its history at or below `seq`: it stays until its delta comes or we are past `seq`. */
  confirm(intentId: string, seq: number): void {
    if (this.entries.has(intentId)) this.held.set(intentId, seq)
  }

  /** Whether our host said it holds this change at or below `seq`. */
  heldBy(intentId: string, seq: number): boolean {
    return (this.held.get(intentId) ?? Infinity) <= seq
  }

  /** Our state is our host's history up to `seq`: a change it holds at or below, not delivered to us as a delta, is in it. */
  passed(seq: number): void {
    if (this.held.size === 0) return
    for (const [intentId, at] of this.held) if (at <= seq) this.settle(intentId)
  }

  /** We follow another host: what our last one said of its history does not hold for that one's. */
  unconfirm(): void {
    this.held.clear()
  }

  /** Whether a pending change is in this page's state (made here, and no snapshot has replaced it since). */
  holdsApplied(): boolean {
    for (const entry of this.entries.values()) if (!entry.overwritten) return true
    return false
  }

  /** Pending entries, oldest first. */
  pending(): OutboxEntry[] {
    return [...this.entries.values()]
  }

  clear(): void {
    for (const intentId of this.entries.keys()) this.listener?.settled(intentId)
    this.entries.clear()
    this.held.clear()
  }
}
