/**
 * A bounded set that forgets the least recently used key first (a Map keeps insertion
 * order, and touching a key re-inserts it). Used to dedupe intents: a key seen again
 * stays fresh, so a hot duplicate is never evicted in favour of a cold one.
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
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as K)
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
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as K)
  }

  clear(): void {
    this.entries.clear()
  }
}
