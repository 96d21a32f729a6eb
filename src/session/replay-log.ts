import { byteSize } from '../encoding/bytes.js'
import type { LinkMessage } from '../transport/transport.js'
import { type Budget, BoundedMap, ENTRY_OVERHEAD } from './bounded.js'

/**
 * The last authoritative deltas, encoded once, by sequence number, oldest out first when
 * either budget is reached. A guest that missed some asks for them; when the gap is older
 * than the log, it gets a snapshot. Each is kept as it travelled (text, or bytes from a
 * journal): sending it again costs no encoding.
 */
export class ReplayLog extends BoundedMap<number, LinkMessage> {
  constructor(budget: Budget) {
    super(budget, (_seq, encoded) => ENTRY_OVERHEAD + byteSize(encoded), false)
  }

  add(seq: number, encoded: LinkMessage): void {
    this.set(seq, encoded)
  }

  /** Deltas `from`..`to` inclusive, or undefined when any of them has been forgotten. */
  range(from: number, to: number): LinkMessage[] | undefined {
    const out: LinkMessage[] = []
    for (let seq = from; seq <= to; seq++) {
      const encoded = this.get(seq)
      if (encoded === undefined) return undefined
      out.push(encoded)
    }
    return out
  }

  /** Every delta still kept, oldest first. */
  all(): LinkMessage[] {
    return [...this.values()]
  }
}
