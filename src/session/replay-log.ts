import { type Budget, BoundedMap, ENTRY_OVERHEAD } from './bounded.js'

/**
 * The last authoritative deltas, encoded once, by sequence number, oldest out first when
 * either budget is reached. A guest that missed some asks for them; when the gap is older
 * than the log, it gets a snapshot.
 */
export class ReplayLog extends BoundedMap<number, Uint8Array> {
  constructor(budget: Budget) {
    super(budget, (_seq, bytes) => ENTRY_OVERHEAD + bytes.byteLength, false)
  }

  add(seq: number, bytes: Uint8Array): void {
    this.set(seq, bytes)
  }

  /** Deltas `from`..`to` inclusive, or undefined when any of them has been forgotten. */
  range(from: number, to: number): Uint8Array[] | undefined {
    const out: Uint8Array[] = []
    for (let seq = from; seq <= to; seq++) {
      const bytes = this.get(seq)
      if (!bytes) return undefined
      out.push(bytes)
    }
    return out
  }

  /** Every delta still kept, oldest first. */
  all(): Uint8Array[] {
    return [...this.values()]
  }
}
