import { trimOldest } from './lru.js'

/**
 * The host's last authoritative deltas, encoded once, by sequence number. A guest that
 * missed some asks for them; when the gap is older than the log, it gets a snapshot.
 */
export class ReplayLog {
  private readonly entries = new Map<number, Uint8Array>()

  constructor(readonly capacity: number) {}

  add(seq: number, bytes: Uint8Array): void {
    this.entries.set(seq, bytes)
    trimOldest(this.entries, this.capacity)
  }

  /** Deltas `from`..`to` inclusive, or undefined when any of them has been forgotten. */
  range(from: number, to: number): Uint8Array[] | undefined {
    const out: Uint8Array[] = []
    for (let seq = from; seq <= to; seq++) {
      const bytes = this.entries.get(seq)
      if (!bytes) return undefined
      out.push(bytes)
    }
    return out
  }

  /** Every delta still kept, oldest first. */
  all(): Uint8Array[] {
    return [...this.entries.values()]
  }

  clear(): void {
    this.entries.clear()
  }
}
