/**
 * Where the relay keeps invites. The server decides expiry from its own clock (so tests
 * can inject one) and passes `now` in; a store keeps an entry until `expiresAt`, then a
 * payload-free tombstone for `tombstoneMs` more so that a late guest hears "expired"
 * (410) rather than "unknown" (404). Stores only ever see ciphertext.
 */

export interface StoredInvite {
  /** Sealed offer; undefined once expired (the tombstone keeps no payload). */
  offer: string | undefined
  /** Sealed answer, once a guest has posted one. */
  answer: string | undefined
  /** Milliseconds since the epoch, by the server's clock. */
  expiresAt: number
}

export type PutResult = 'ok' | 'exists' | 'full'
export type AnswerResult = 'ok' | 'answered' | 'missing'

export interface RelayStore {
  /** Stores a new invite unless the id is taken or the store holds `maxEntries` live invites. */
  putIfAbsent(id: string, offer: string, expiresAt: number, now: number): Promise<PutResult>
  /** The invite, its tombstone (offer undefined) or undefined if unknown. */
  get(id: string, now: number): Promise<StoredInvite | undefined>
  /** The first answer wins; 'missing' when there is no live invite under `id`. */
  setAnswerOnce(id: string, answer: string, now: number): Promise<AnswerResult>
  /** Drops payloads of expired invites and tombstones past their time. */
  expire(now: number): Promise<void>
  close(): Promise<void>
}

export interface StoreLimits {
  /** Live invites held at once. */
  maxEntries: number
  /** How long an expired invite is still reported as expired rather than unknown. */
  tombstoneMs: number
}

export const DEFAULT_STORE_LIMITS: StoreLimits = { maxEntries: 10_000, tombstoneMs: 60 * 60_000 }

interface MemoryEntry {
  offer: string | undefined
  answer: string | undefined
  expiresAt: number
}

/**
 * One process, bounded: at most `maxEntries` live invites and as many tombstones (the
 * oldest go first). `expire` runs on every write and on the server's sweep timer.
 */
export class MemoryStore implements RelayStore {
  private readonly entries = new Map<string, MemoryEntry>()
  private live = 0
  private lastFullSweep = -Infinity
  private readonly limits: StoreLimits

  constructor(limits: Partial<StoreLimits> = {}) {
    this.limits = { ...DEFAULT_STORE_LIMITS, ...limits }
  }

  get size(): { live: number; tombstones: number } {
    return { live: this.live, tombstones: this.entries.size - this.live }
  }

  async putIfAbsent(id: string, offer: string, expiresAt: number, now: number): Promise<PutResult> {
    if (this.entries.has(id)) return 'exists'
    // A full sweep is O(entries): at most once a second, however hard the cap is pressed.
    if (this.live >= this.limits.maxEntries && now - this.lastFullSweep >= 1_000) {
      this.lastFullSweep = now
      await this.expire(now)
    }
    if (this.live >= this.limits.maxEntries) return 'full'
    this.entries.set(id, { offer, answer: undefined, expiresAt })
    this.live++
    return 'ok'
  }

  async get(id: string, now: number): Promise<StoredInvite | undefined> {
    const entry = this.entries.get(id)
    if (!entry) return undefined
    if (entry.offer !== undefined && now >= entry.expiresAt) this.bury(entry)
    if (entry.offer === undefined && now >= entry.expiresAt + this.limits.tombstoneMs) {
      this.entries.delete(id)
      return undefined
    }
    return { ...entry }
  }

  async setAnswerOnce(id: string, answer: string, now: number): Promise<AnswerResult> {
    const entry = this.entries.get(id)
    if (!entry || entry.offer === undefined || now >= entry.expiresAt) return 'missing'
    if (entry.answer !== undefined) return 'answered'
    entry.answer = answer
    return 'ok'
  }

  async expire(now: number): Promise<void> {
    let tombstones = 0
    for (const [id, entry] of this.entries) {
      if (entry.offer !== undefined && now >= entry.expiresAt) this.bury(entry)
      if (entry.offer === undefined) {
        if (now >= entry.expiresAt + this.limits.tombstoneMs) this.entries.delete(id)
        else tombstones++
      }
    }
    // Insertion order is creation order: the oldest tombstones go first.
    for (const [id, entry] of this.entries) {
      if (tombstones <= this.limits.maxEntries) break
      if (entry.offer === undefined) {
        this.entries.delete(id)
        tombstones--
      }
    }
  }

  /** Raw access for tests and diagnostics: what an operator with memory access would see. */
  peek(id: string): Readonly<MemoryEntry> | undefined {
    return this.entries.get(id)
  }

  async close(): Promise<void> {
    this.entries.clear()
    this.live = 0
  }

  private bury(entry: MemoryEntry): void {
    entry.offer = undefined
    entry.answer = undefined
    this.live--
  }
}
