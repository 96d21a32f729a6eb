import { byteSize } from '../encoding/bytes.js'
import type { LinkMessage } from '../transport/transport.js'
import { type Budget, type CacheStats, ENTRY_OVERHEAD } from './bounded.js'

/** Dropped slots at the front of the array before it is compacted (and at least half of it). */
const COMPACT_AFTER = 256

/**
 * The last authoritative deltas, encoded once, by sequence number, oldest out first when
 * either budget is reached (the entry budget with an eighth's slack, as BoundedMap). A guest
 * that missed some asks for them; when the gap is older than the log, it gets a snapshot. Each
 * is kept as it travelled (text, or bytes from a journal): sending it again costs no encoding.
 *
 * Sequence numbers come one after another, so the log is a window of an array, not a map: a
 * delta is kept without hashing, on the path of every change. One that does not follow the
 * newest starts the log again: nothing before it could be served as a whole range anyway.
 */
export class ReplayLog {
  /** `slots[dropped + i]` holds sequence number `first + i`; slots before `dropped` are let go. */
  private slots: Array<LinkMessage | undefined> = []
  private weights: number[] = []
  private dropped = 0
  private first = 0
  private weight = 0

  constructor(readonly budget: Budget) {
    if (!(budget.entries >= 1)) throw new RangeError('A replay log holds at least one entry')
  }

  /** Deltas kept. */
  get size(): number {
    return this.slots.length - this.dropped
  }

  stats(): CacheStats {
    return { entries: this.size, bytes: this.weight, budget: this.budget }
  }

  /** Keeps the delta; returns its size as UTF-8, which the journal counts too. */
  add(seq: number, encoded: LinkMessage): number {
    if (this.size > 0 && seq !== this.first + this.size) this.clear()
    if (this.size === 0) this.first = seq
    const bytes = byteSize(encoded)
    const weight = ENTRY_OVERHEAD + bytes
    this.slots.push(encoded)
    this.weights.push(weight)
    this.weight += weight
    this.trim()
    return bytes
  }

  /** Deltas `from`..`to` inclusive, or undefined when any of them has been forgotten. */
  range(from: number, to: number): LinkMessage[] | undefined {
    if (from > to) return []
    if (from < this.first || to >= this.first + this.size) return undefined
    return this.slots.slice(this.dropped + from - this.first, this.dropped + to - this.first + 1) as LinkMessage[]
  }

  /** Every delta still kept, oldest first. */
  all(): LinkMessage[] {
    return this.slots.slice(this.dropped) as LinkMessage[]
  }

  clear(): void {
    this.slots = []
    this.weights = []
    this.dropped = 0
    this.weight = 0
  }

  private trim(): void {
    const { entries: most, bytes } = this.budget
    let excess = this.size > most + (most >> 3) ? this.size - most : 0
    while (this.size > 0 && (excess > 0 || this.weight > bytes)) {
      this.weight -= this.weights[this.dropped]!
      this.slots[this.dropped] = undefined
      this.dropped++
      this.first++
      excess--
    }
    if (this.dropped >= COMPACT_AFTER && this.dropped * 2 >= this.slots.length) {
      this.slots.splice(0, this.dropped)
      this.weights.splice(0, this.dropped)
      this.dropped = 0
    }
  }
}
