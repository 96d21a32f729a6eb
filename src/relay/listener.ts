/**
 * The host's side of the relay: one long-poll for every open invite of the page (a
 * browser allows six connections per host, so one poll per invite strands the seventh).
 * It never gives up while an invite is open: network errors, 429 (after its Retry-After)
 * and 5xx are retried with exponential backoff and jitter, and every change of its state
 * is reported, in words, so the page can show "retrying in 4 s" or, once the relay looks
 * unreachable, the paste codes.
 */
import type { Clock, TimerHandle } from '../runtime/clock.js'
import type { Random } from '../runtime/random.js'
import type { RelayClient, RelayPublished, RelayWatchResult } from './client.js'
import { RelayError } from './errors.js'
import { NO_RELAY_LISTENER } from './idle.js'

export type RelayListenerState =
  /** Nothing to listen for: no invite is open on the relay. */
  | {
    /** Idle. */
    state: 'idle'
    /** No invite. */
    watching: 0
    /** In words for the host. */
    message: string
  }
  /** Waiting on the relay for answers. */
  | {
    /** Listening. */
    state: 'listening'
    /** Invites waited for. */
    watching: number
    /** In words for the host. */
    message: string
  }
  /**
   * The last poll failed; the next one goes out in `retryInMs`. 'unreachable' once
   * `unreachableAfter` polls in a row failed: answers may not come back by themselves,
   * so show the paste codes meanwhile.
   */
  | {
    /** Retrying, or unreachable after several failures. */
    state: 'retrying' | 'unreachable'
    /** Invites waited for. */
    watching: number
    /** When the next poll goes out. */
    retryInMs: number
    /** Polls that failed in a row. */
    failures: number
    /** Why the last one failed. */
    error: string
    /** In words for the host. */
    message: string
  }

export interface RetryPolicy {
  /** First retry delay; doubled per consecutive failure. */
  baseMs: number
  maxMs: number
  /** Consecutive failures after which the relay counts as unreachable. */
  unreachableAfter: number
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { baseMs: 1_000, maxMs: 30_000, unreachableAfter: 3 }

/** An invite being listened for, and what to do with what comes back. */
export interface WatchedInvite extends RelayPublished {
  /** An answer that opened under the invite's key. */
  onAnswer(answerBlob: string, slot: number): void
  /** An answer that authenticated at the relay yet does not open: a guest with the link sent garbage. */
  onDamaged(error: RelayError, slot: number): void
  /** The relay no longer holds the invite. */
  onGone(reason: RelayWatchResult['gone'][number]['reason']): void
}

/** The relay's limit on invites per poll (relay/server.ts `maxWatched`); beyond it, the oldest are watched. */
const MAX_WATCHED = 64

export class RelayListener {
  private readonly watched = new Map<string, WatchedInvite>()
  /** Seats whose answers we have, per invite: acknowledged with every poll (the relay keeps an answer until then), never handed out twice. */
  private readonly received = new Map<string, Set<number>>()
  private inflight: AbortController | null = null
  private retryTimer: TimerHandle | null = null
  private failures = 0
  private current: RelayListenerState = NO_RELAY_LISTENER

  constructor(
    private readonly client: RelayClient,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly onState: (state: RelayListenerState) => void,
    private readonly policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  ) {}

  get state(): RelayListenerState {
    return this.current
  }

  add(invite: WatchedInvite): void {
    this.watched.set(invite.id, invite)
    // A poll in flight does not name the new invite: start one that does (unless backing off).
    this.poll()
  }

  remove(id: string): void {
    this.received.delete(id)
    if (!this.watched.delete(id)) return
    if (this.watched.size === 0) this.stop()
  }

  /** Drops every invite and any poll or retry. */
  stop(): void {
    this.watched.clear()
    this.received.clear()
    this.inflight?.abort()
    this.inflight = null
    if (this.retryTimer !== null) this.clock.clearTimeout(this.retryTimer)
    this.retryTimer = null
    this.failures = 0
    this.report(NO_RELAY_LISTENER)
  }

  private poll(quick = false): void {
    if (this.retryTimer !== null || this.watched.size === 0) return
    this.inflight?.abort()
    const controller = new AbortController()
    this.inflight = controller
    const list = [...this.watched.values()].slice(0, MAX_WATCHED).map((invite) => ({ ...invite, ack: [...(this.received.get(invite.id) ?? [])] }))
    if (this.failures === 0) this.report(this.listening())
    // After a failure, ask without waiting: the state turns back to listening as soon as the relay answers.
    this.client.watch(list, { signal: controller.signal, ...(quick ? { waitSeconds: 0 } : {}) }).then(
      (result) => {
        if (this.inflight !== controller) return
        this.inflight = null
        this.failures = 0
        this.report(this.listening())
        if (result) this.dispatch(result)
        this.poll()
      },
      (error: unknown) => {
        if (this.inflight !== controller) return
        this.inflight = null
        this.retryLater(error)
      },
    )
  }

  private dispatch(result: RelayWatchResult): void {
    for (const { id, reason } of result.gone) {
      const invite = this.watched.get(id)
      if (!invite) continue
      this.watched.delete(id)
      this.received.delete(id)
      invite.onGone(reason)
    }
    for (const { id, slot, sealed } of result.answers) {
      const invite = this.watched.get(id)
      const received = this.received.get(id) ?? new Set<number>()
      if (!invite || received.has(slot)) continue
      this.received.set(id, received.add(slot))
      this.client.openAnswer(invite, sealed).then(
        (blob) => invite.onAnswer(blob, slot),
        (error: unknown) => invite.onDamaged(error instanceof RelayError ? error : new RelayError('relay-damaged', undefined, { cause: error }), slot),
      )
    }
    if (this.watched.size === 0) this.stop()
  }

  private retryLater(error: unknown): void {
    if (this.watched.size === 0) return this.stop()
    this.failures++
    const { baseMs, maxMs, unreachableAfter } = this.policy
    const backoff = Math.min(maxMs, baseMs * 2 ** (this.failures - 1))
    // Jitter: pages that lost the relay together do not all come back in the same instant.
    let delay = Math.round(backoff * (0.5 + 0.5 * this.random.next()))
    const retryAfter = error instanceof RelayError ? error.retryAfterSeconds : undefined
    if (retryAfter !== undefined) delay = Math.max(delay, Math.min(retryAfter, 600) * 1000)
    const unreachable = this.failures >= unreachableAfter
    const why = error instanceof RelayError ? error.message : 'The relay could not be asked for answers.'
    const inSeconds = Math.max(1, Math.round(delay / 1000))
    this.report({
      state: unreachable ? 'unreachable' : 'retrying',
      watching: this.watched.size,
      retryInMs: delay,
      failures: this.failures,
      error: error instanceof RelayError ? error.code : 'relay-unavailable',
      message: unreachable
        ? `${why} Still trying (next in ${inSeconds} s). Meanwhile, answers may not come back by themselves: send the guest the invite code, and paste their answer code back.`
        : `${why} Trying again in ${inSeconds} s.`,
    })
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = null
      this.poll(true)
    }, delay)
  }

  private listening(): RelayListenerState {
    const n = this.watched.size
    return { state: 'listening', watching: n, message: `Listening on the relay for ${n === 1 ? 'one invite' : `${n} invites`}: answers come back by themselves.` }
  }

  private report(state: RelayListenerState): void {
    const previous = this.current
    this.current = state
    if (previous.state === state.state && previous.watching === state.watching && !('retryInMs' in state)) return
    this.onState(state)
  }
}
