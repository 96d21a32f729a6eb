/**
 * Where the relay keeps invites. The server decides expiry from its own clock (so tests
 * can inject one) and passes `now` in. An invite has one sealed offer per seat (one for a
 * plain invite, up to `maxSeats` for a room link). A seat's offer is deleted when the seat
 * is answered, its answer when the host takes it; at expiry or revocation every payload
 * goes and only a payload-free tombstone stays, for `tombstoneMs`, so a late guest hears
 * "expired" or "revoked" rather than "unknown". Stores only ever see ciphertext.
 */
import { RateLimiter, type RateLimitOptions } from './rate-limit.js'

export interface NewInvite {
  /** Sealed offers, one per seat. */
  offers: string[]
  /** Sealed "who invites you" for the guest's preview. */
  meta: string
  /** SHA-256 of the host's secret token, base64url: who may take answers and revoke. */
  hostKey: string
  /** The HMAC key an answer's MAC must verify under, base64url (derived from the link key). */
  answerKey: string
  expiresAt: number
}

/** A live invite, without payloads. */
export interface InviteInfo {
  state: 'live'
  expiresAt: number
  seats: number
  /** Seats whose offer is still unanswered. */
  open: number
  meta: string
  hostKey: string
  answerKey: string
}

export type InviteLookup = InviteInfo | { state: 'expired' | 'revoked' } | undefined

export type PutResult = 'ok' | 'exists' | 'full'
export type AnswerResult = 'ok' | 'answered' | 'missing'

export interface RelayStore {
  /** Stores a new invite unless the id is taken or the store holds `maxEntries` live invites. */
  create(id: string, invite: NewInvite, now: number): Promise<PutResult>
  read(id: string, now: number): Promise<InviteLookup>
  /**
   * Hands out one unanswered seat's offer: the one handed out least recently, so guests
   * arriving together get different seats. Null when every seat is answered.
   */
  claim(id: string, now: number): Promise<{ slot: number; offer: string } | null>
  /** Answers a seat once; its offer is deleted. 'missing' when no live invite has that seat. */
  answer(id: string, slot: number, answer: string, now: number): Promise<AnswerResult>
  /**
   * The answers the host has not acknowledged yet. They stay until `dropAnswers`: a
   * long-poll reply can be lost (the host's request aborted or timed out), so an answer is
   * deleted only once the host says it has it — at the latest with its next poll.
   */
  readAnswers(id: string, now: number): Promise<Array<{ slot: number; answer: string }>>
  /** Deletes the answers of these seats (the host has them). */
  dropAnswers(id: string, slots: readonly number[], now: number): Promise<void>
  /** Drops every payload and leaves a "revoked" tombstone; false when there is no live invite. */
  revoke(id: string, now: number): Promise<boolean>
  /** One token from `key`'s bucket: 0 when allowed, else seconds until there is one. Shared by every instance on the store. */
  takeToken(key: string, limits: RateLimitOptions, now: number): Promise<number>
  /** Throws when the store cannot serve requests (health check). */
  ping(): Promise<void>
  /** Drops payloads of expired invites and tombstones past their time. */
  expire(now: number): Promise<void>
  close(): Promise<void>
}

export interface StoreLimits {
  /** Live invites held at once. */
  maxEntries: number
  /** How long an expired or revoked invite is still reported as such rather than unknown. */
  tombstoneMs: number
}

export const DEFAULT_STORE_LIMITS: StoreLimits = { maxEntries: 10_000, tombstoneMs: 60 * 60_000 }

interface Seat {
  offer: string | undefined
  answer: string | undefined
  handedOutAt: number
}

interface MemoryEntry {
  expiresAt: number
  /** Undefined once the invite is over (the tombstone keeps no payload). */
  live: { seats: Seat[]; meta: string; hostKey: string; answerKey: string } | undefined
  ended: 'expired' | 'revoked'
}

/**
 * One process, bounded: at most `maxEntries` live invites and as many tombstones (the
 * oldest go first). `expire` runs on the server's sweep timer and when the cap is hit.
 */
export class MemoryStore implements RelayStore {
  private readonly entries = new Map<string, MemoryEntry>()
  private liveCount = 0
  private lastFullSweep = -Infinity
  private readonly limits: StoreLimits
  private limiter: RateLimiter | undefined

  constructor(limits: Partial<StoreLimits> = {}) {
    this.limits = { ...DEFAULT_STORE_LIMITS, ...limits }
  }

  get size(): { live: number; tombstones: number } {
    return { live: this.liveCount, tombstones: this.entries.size - this.liveCount }
  }

  async create(id: string, invite: NewInvite, now: number): Promise<PutResult> {
    if (this.entries.has(id)) return 'exists'
    // A full sweep is O(entries): at most once a second, however hard the cap is pressed.
    if (this.liveCount >= this.limits.maxEntries && now - this.lastFullSweep >= 1_000) {
      this.lastFullSweep = now
      await this.expire(now)
    }
    if (this.liveCount >= this.limits.maxEntries) return 'full'
    const seats = invite.offers.map((offer) => ({ offer, answer: undefined, handedOutAt: 0 }))
    this.entries.set(id, { expiresAt: invite.expiresAt, live: { seats, meta: invite.meta, hostKey: invite.hostKey, answerKey: invite.answerKey }, ended: 'expired' })
    this.liveCount++
    return 'ok'
  }

  async read(id: string, now: number): Promise<InviteLookup> {
    const entry = this.current(id, now)
    if (!entry) return undefined
    if (!entry.live) return { state: entry.ended }
    const { seats, meta, hostKey, answerKey } = entry.live
    return { state: 'live', expiresAt: entry.expiresAt, seats: seats.length, open: seats.filter((s) => s.offer !== undefined).length, meta, hostKey, answerKey }
  }

  async claim(id: string, now: number): Promise<{ slot: number; offer: string } | null> {
    const seats = this.current(id, now)?.live?.seats ?? []
    let best = -1
    seats.forEach((seat, slot) => {
      if (seat.offer !== undefined && (best < 0 || seat.handedOutAt < seats[best]!.handedOutAt)) best = slot
    })
    if (best < 0) return null
    seats[best]!.handedOutAt = now
    return { slot: best, offer: seats[best]!.offer! }
  }

  async answer(id: string, slot: number, answer: string, now: number): Promise<AnswerResult> {
    const seat = this.current(id, now)?.live?.seats[slot]
    if (!seat) return 'missing'
    if (seat.offer === undefined) return 'answered'
    seat.offer = undefined
    seat.answer = answer
    return 'ok'
  }

  async readAnswers(id: string, now: number): Promise<Array<{ slot: number; answer: string }>> {
    const answers: Array<{ slot: number; answer: string }> = []
    this.current(id, now)?.live?.seats.forEach((seat, slot) => {
      if (seat.answer !== undefined) answers.push({ slot, answer: seat.answer })
    })
    return answers
  }

  async dropAnswers(id: string, slots: readonly number[], now: number): Promise<void> {
    const seats = this.current(id, now)?.live?.seats
    for (const slot of slots) if (seats?.[slot]) seats[slot].answer = undefined
  }

  async revoke(id: string, now: number): Promise<boolean> {
    const entry = this.current(id, now)
    if (!entry?.live) return false
    this.bury(entry, 'revoked')
    return true
  }

  async takeToken(key: string, limits: RateLimitOptions, now: number): Promise<number> {
    this.limiter ??= new RateLimiter(limits)
    return this.limiter.take(key, now)
  }

  async ping(): Promise<void> {}

  async expire(now: number): Promise<void> {
    let tombstones = 0
    for (const [id, entry] of this.entries) {
      if (entry.live && now >= entry.expiresAt) this.bury(entry, 'expired')
      if (!entry.live) {
        if (now >= entry.expiresAt + this.limits.tombstoneMs) this.entries.delete(id)
        else tombstones++
      }
    }
    // Insertion order is creation order: the oldest tombstones go first.
    for (const [id, entry] of this.entries) {
      if (tombstones <= this.limits.maxEntries) break
      if (!entry.live) {
        this.entries.delete(id)
        tombstones--
      }
    }
  }

  /** Raw access for tests: what an operator with memory access would see. */
  peek(id: string): Readonly<MemoryEntry> | undefined {
    return this.entries.get(id)
  }

  async close(): Promise<void> {
    this.entries.clear()
    this.liveCount = 0
  }

  /** The entry with its expiry applied, or undefined once even its tombstone is gone. */
  private current(id: string, now: number): MemoryEntry | undefined {
    const entry = this.entries.get(id)
    if (!entry) return undefined
    if (entry.live && now >= entry.expiresAt) this.bury(entry, 'expired')
    if (!entry.live && now >= entry.expiresAt + this.limits.tombstoneMs) {
      this.entries.delete(id)
      return undefined
    }
    return entry
  }

  private bury(entry: MemoryEntry, why: 'expired' | 'revoked'): void {
    entry.live = undefined
    entry.ended = why
    this.liveCount--
  }
}
