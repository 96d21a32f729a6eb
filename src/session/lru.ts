/**
 * Evicts from the front of an insertion-ordered Map once it grows past `capacity` by an
 * eighth, down to `capacity`, in one pass: V8 leaves deleted entries as holes at the front,
 * so evicting one key per insert walks all of them every time.
 */
export function trimOldest<K>(entries: Map<K, unknown>, capacity: number): void {
  if (entries.size <= capacity + (capacity >> 3)) return
  let excess = entries.size - capacity
  for (const key of entries.keys()) {
    if (excess-- <= 0) break
    entries.delete(key)
  }
}

/**
 * A bounded set that forgets the least recently used key first (a Map keeps insertion
 * order, and touching a key re-inserts it). Used to dedupe intents: a key seen again
 * stays fresh, so a hot duplicate is never evicted in favour of a cold one. It may hold up
 * to an eighth more than `capacity` between trims.
 */
export class LruSet<K> {
  private readonly entries = new Map<K, true>()

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError('LruSet capacity must be at least 1')
  }

  get size(): number {
    return this.entries.size
  }

  /** True when the key was present; either way it is now the most recent. */
  touch(key: K): boolean {
    const had = this.entries.delete(key)
    this.entries.set(key, true)
    trimOldest(this.entries, this.capacity)
    return had
  }

  has(key: K): boolean {
    return this.entries.has(key)
  }

  /** The `n` most recently used keys, oldest first. */
  recent(n: number): K[] {
    const keys = [...this.entries.keys()]
    return keys.slice(Math.max(0, keys.length - n))
  }

  /** Forgets everything, then holds exactly `keys` (in that recency order). */
  reset(keys: Iterable<K>): void {
    this.entries.clear()
    for (const key of keys) this.touch(key)
  }
}

/** A bounded map with the same recency rule, for last-write-wins bookkeeping. */
export class LruMap<K, V> {
  private readonly entries = new Map<K, V>()

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError('LruMap capacity must be at least 1')
  }

  get size(): number {
    return this.entries.size
  }

  get(key: K): V | undefined {
    const value = this.entries.get(key)
    if (value !== undefined) {
      this.entries.delete(key)
      this.entries.set(key, value)
    }
    return value
  }

  set(key: K, value: V): void {
    this.entries.delete(key)
    this.entries.set(key, value)
    trimOldest(this.entries, this.capacity)
  }

  clear(): void {
    this.entries.clear()
  }
}
