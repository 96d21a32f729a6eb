/**
 * A history's epochs: which host issued the deltas at which sequence numbers. Two peers'
 * histories agree on a delta exactly when it has the epoch their lineages give its sequence
 * number; a failover forks a history, and the lineage says where, however many failovers ago.
 */
import { MAX_LINEAGE } from '../wire/messages.js'

/** `[epoch, after]`, oldest first: epoch `epoch` issued the sequence numbers after `after`. */
export type Lineage = Array<[epoch: number, after: number]>

/** The epoch that issued sequence number `seq` in this lineage; undefined before its first entry (forgotten, or never told). */
export function epochAt(lineage: Lineage, seq: number): number | undefined {
  for (let i = lineage.length - 1; i >= 0; i--) if (lineage[i]![1] < seq) return lineage[i]![0]
  return undefined
}

/** The lineage of a host elected at `epoch` with history up to `after`: what it followed, then its own. */
export function extended(lineage: Lineage, epoch: number, after: number): Lineage {
  return [...lineage.filter(([e, from]) => e < epoch && from < after), [epoch, after] as [number, number]].slice(-MAX_LINEAGE)
}

/**
 * The lineage of a history that is `held`'s up to `seq` and `next`'s after it: a follower's that
 * took its new host's deltas past `seq` onto a history of its own. Where `next` names no epoch for
 * `seq + 1` (64 epochs on), `held`'s last goes on: no lineage can say "unknown" after a known one.
 */
export function spliced(held: Lineage, seq: number, next: Lineage): Lineage {
  const head = held.filter(([, after]) => after < seq)
  const at = epochAt(next, seq + 1)
  const bridge: Lineage = at === undefined || at === head.at(-1)?.[0] ? [] : [[at, seq]]
  return [...head, ...bridge, ...next.filter(([, after]) => after > seq)].slice(-MAX_LINEAGE)
}

/**
 * The lineage of a history known from `deltas` alone (in order), a journal's: epoch 0, which no
 * host has, before them, so that nothing it holds from before them agrees with anyone's history.
 */
export function ofDeltas(deltas: ReadonlyArray<{ epoch: number; seq: number }>): Lineage {
  const lineage: Lineage = [[0, 0]]
  for (const { epoch, seq } of deltas) if (epoch !== lineage.at(-1)![0]) lineage.push([epoch, seq - 1])
  return lineage.slice(-MAX_LINEAGE)
}
