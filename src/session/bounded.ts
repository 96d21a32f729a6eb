/**
 * Bounded caches: every table the core keeps about peers has a budget in entries and in
 * bytes, and evicts its oldest entries to stay within both; `size` and `bytes` feed
 * `getStats()`. "Bytes" are what an entry costs as encoded (a string: two per character),
 * plus a fixed overhead, so a flood of small entries counts too.
 */

/** What the map, its key and its bookkeeping cost per entry, whatever the value. */
export const ENTRY_OVERHEAD = 48

/** Peers a per-peer table keeps at once: a roster holds at most 256. */
export const MAX_TRACKED_PEERS = 256

/** How much a cache may hold: entries and bytes (`Infinity` where only entries are bounded). */
export interface Budget {
  /** Most entries. */
  entries: number
  /** Most bytes, weighed as encoded plus a fixed overhead per entry. */
  bytes: number
}

/** One cache now, beside its budget. */
export interface CacheStats {
  /** Entries held. */
  entries: number
  /** Their bytes, as weighed against the budget. */
  bytes: number
  /** What it may hold. */
  budget: Budget
}

export const weighString = (text: string): number => ENTRY_OVERHEAD + 2 * text.length
const weighKey = (key: unknown): number => (typeof key === 'string' ? weighString(key) : ENTRY_OVERHEAD)

/**
 * An insertion-ordered map within a budget. With `recency`, reading or writing a key makes
 * it the newest (least recently used goes first); without, the oldest inserted goes first.
 * Values are never undefined (a lookup tells a key from a missing one). Over the entry
 * budget it trims an eighth past it at once: V8 leaves deleted entries as
 * holes at the front, so evicting one key per insert would walk all of them every time.
 */
export class BoundedMap<K, V extends {} | null> {
  private entries = new Map<K, V>()
  private weight = 0

  constructor(
    readonly budget: Budget,
    private readonly weigh: (key: K, value: V) => number,
    private readonly recency = true,
  ) {
    if (!(budget.entries >= 1)) throw new RangeError('A bounded map holds at least one entry')
  }

  get size(): number {
    return this.entries.size
  }

  get bytes(): number {
    return this.weight
  }

  stats(): CacheStats {
    return { entries: this.entries.size, bytes: this.weight, budget: this.budget }
  }

  has(key: K): boolean {
    return this.entries.has(key)
  }

  get(key: K): V | undefined {
    const value = this.entries.get(key)
    if (value !== undefined && this.recency) {
      this.entries.delete(key)
      this.entries.set(key, value)
    }
    return value
  }

  /** Whether it replaced a value (no value is undefined: one lookup tells). */
  set(key: K, value: V): boolean {
    return this.swap(key, value) !== undefined
  }

  /** Sets the value and returns the one it replaced (undefined when there was none). */
  swap(key: K, value: V): V | undefined {
    const old = this.entries.get(key)
    if (old !== undefined) {
      this.weight -= this.weigh(key, old)
      this.entries.delete(key)
    }
    this.entries.set(key, value)
    this.weight += this.weigh(key, value)
    this.trim()
    return old
  }

  /**
   * Last write wins by number: `key` takes `n` when it holds less (or nothing), and keeps its
   * place among the entries, so they leave in the order they first came. Whether it took `n`.
   * An update in place: moving the key to the end (delete, insert) makes V8 rehash a small map
   * every few writes, the largest cost of a view delta received after a pause.
   */
  advance(this: BoundedMap<K, number>, key: K, n: number): boolean {
    const held = this.entries.get(key)
    if (held !== undefined && n <= held) return false
    this.entries.set(key, n)
    this.weight += this.weigh(key, n) - (held === undefined ? 0 : this.weigh(key, held))
    if (held === undefined) this.trim()
    return true
  }

  /**
   * Sets `entries` as the newest, in their order, in one new map. One `set` each would delete
   * and insert each key: V8 grows a map's table under that churn, and a replica rewritten with
   * every roster had a table for four times its entries.
   */
  setAll(entries: Iterable<readonly [K, V]>): void {
    const newest = new Map<K, V>()
    // A key given twice is where it was given last, as with a `set` each.
    for (const [key, value] of entries) {
      newest.delete(key)
      newest.set(key, value)
    }
    const next = new Map<K, V>()
    this.weight = 0
    for (const [key, value] of this.entries) if (!newest.has(key)) this.keep(next, key, value)
    for (const [key, value] of newest) this.keep(next, key, value)
    this.entries = next
    this.trim()
  }

  private keep(into: Map<K, V>, key: K, value: V): void {
    into.set(key, value)
    this.weight += this.weigh(key, value)
  }

  delete(key: K): boolean {
    const old = this.entries.get(key)
    if (old === undefined) return false
    this.weight -= this.weigh(key, old)
    return this.entries.delete(key)
  }

  keys(): IterableIterator<K> {
    return this.entries.keys()
  }

  values(): IterableIterator<V> {
    return this.entries.values()
  }

  clear(): void {
    this.entries.clear()
    this.weight = 0
  }

  private trim(): void {
    const { entries: most, bytes } = this.budget
    let excess = this.entries.size > most + (most >> 3) ? this.entries.size - most : 0
    // Not even an iterator when within budget: starting one walks the holes at the front.
    if (excess <= 0 && this.weight <= bytes) return
    for (const [key, value] of this.entries) {
      if (excess <= 0 && this.weight <= bytes) break
      this.entries.delete(key)
      this.weight -= this.weigh(key, value)
      excess--
    }
  }
}

/** A bounded set of ids, least recently used first out: used to dedupe intents. */
export class LruSet<K> {
  private readonly map: BoundedMap<K, true>

  constructor(budget: Budget | number) {
    this.map = new BoundedMap<K, true>(typeof budget === 'number' ? { entries: budget, bytes: Infinity } : budget, weighKey)
  }

  get size(): number {
    return this.map.size
  }

  stats(): CacheStats {
    return this.map.stats()
  }

  /** True when the key was present; either way it is now the most recent. */
  touch(key: K): boolean {
    return this.map.set(key, true)
  }

  has(key: K): boolean {
    return this.map.has(key)
  }

  delete(key: K): boolean {
    return this.map.delete(key)
  }

  /** The `n` most recently used keys, oldest first. */
  recent(n: number): K[] {
    const keys = [...this.map.keys()]
    return keys.slice(Math.max(0, keys.length - n))
  }

  /** Forgets everything, then holds exactly `keys` (in that recency order). */
  reset(keys: Iterable<K>): void {
    this.map.clear()
    for (const key of keys) this.touch(key)
  }
}

/** A bounded map, least recently used first out. */
export class LruMap<K, V extends {} | null> extends BoundedMap<K, V> {
  constructor(budget: Budget | number, weighValue: (value: V) => number = () => 8) {
    super(typeof budget === 'number' ? { entries: budget, bytes: Infinity } : budget, (key, value) => weighKey(key) + weighValue(value))
  }
}

/**
 * One bounded map per peer: what one peer sends can only push out its own entries, never
 * another's. Peers come and go: past `MAX_TRACKED_PEERS` the longest known is forgotten.
 * `stats()` gives the sum over peers, with the budget of one peer.
 */
export class PerPeer<V extends {} | null> {
  private readonly maps = new Map<string, LruMap<string, V>>()

  constructor(
    readonly budget: Budget,
    private readonly weighValue?: (value: V) => number,
  ) {}

  of(peerId: string): LruMap<string, V> {
    let map = this.maps.get(peerId)
    if (!map) {
      this.maps.set(peerId, (map = new LruMap(this.budget, this.weighValue)))
      if (this.maps.size > MAX_TRACKED_PEERS) this.maps.delete(this.maps.keys().next().value!)
    }
    return map
  }

  forget(peerId: string): void {
    this.maps.delete(peerId)
  }

  stats(): CacheStats {
    let entries = 0
    let bytes = 0
    for (const map of this.maps.values()) {
      entries += map.size
      bytes += map.bytes
    }
    return { entries, bytes, budget: this.budget }
  }
}
