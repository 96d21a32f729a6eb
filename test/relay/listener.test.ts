/**
 * The host's relay listener (src/relay/listener.ts) against a scripted relay client and a
 * manual clock: one poll for every invite, retries with backoff, jitter and Retry-After,
 * never giving up while an invite is open, and its state reported at each step.
 */
import { describe, expect, it } from 'vitest'
import { RelayError, type RelayClient, type RelayListenerState, type RelayPublished, type RelayWatchResult } from '../../src/relay/index.js'
import { RelayListener } from '../../src/relay/listener.js'
import type { Clock, TimerHandle } from '../../src/runtime/clock.js'

class ManualClock implements Clock {
  time = 0
  private timers = new Map<number, { at: number; fn: () => void }>()
  private next = 1
  now(): number {
    return this.time
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.next++
    this.timers.set(id, { at: this.time + ms, fn })
    return id
  }
  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle as number)
  }
  /** The delay of the one pending timer. */
  pendingDelay(): number | undefined {
    const [first] = [...this.timers.values()]
    return first && first.at - this.time
  }
  /** Runs the earliest timer. */
  fire(): void {
    const [id, timer] = [...this.timers.entries()].sort((a, b) => a[1].at - b[1].at)[0]!
    this.timers.delete(id)
    this.time = timer.at
    timer.fn()
  }
}

interface Poll {
  ids: string[]
  /** The seats acknowledged per invite, `id:slot`. */
  acks: string[]
  waitSeconds: number | undefined
  aborted: () => boolean
  resolve: (result: RelayWatchResult | null) => void
  reject: (error: unknown) => void
}

/** A relay client whose `watch` calls the test answers one by one. */
function scriptedClient(): { client: RelayClient; polls: Poll[] } {
  const polls: Poll[] = []
  const client = {
    endpoint: 'https://relay.test',
    watch: (invites: Array<RelayPublished & { ack?: readonly number[] }>, options: { signal?: AbortSignal; waitSeconds?: number } = {}) =>
      new Promise<RelayWatchResult | null>((resolve, reject) => {
        polls.push({ ids: invites.map((i) => i.id), acks: invites.flatMap((i) => (i.ack ?? []).map((slot) => `${i.id}:${slot}`)), waitSeconds: options.waitSeconds, aborted: () => options.signal?.aborted ?? false, resolve, reject })
      }),
    openAnswer: async (_invite: RelayPublished, sealed: string) => {
      if (sealed === 'garbage') throw new RelayError('relay-damaged', 'the answer failed authentication')
      return `opened:${sealed}`
    },
  } as unknown as RelayClient
  return { client, polls }
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0))

function setup(jitter = 0.5) {
  const clock = new ManualClock()
  const { client, polls } = scriptedClient()
  const states: RelayListenerState[] = []
  const listener = new RelayListener(client, clock, { id: () => 'x', next: () => jitter }, (state) => states.push(state))
  const heard: string[] = []
  const watch = (id: string) =>
    listener.add({
      id,
      key: 'k',
      token: 't',
      onAnswer: (blob, slot) => heard.push(`${id}#${slot}:${blob}`),
      onDamaged: (error, slot) => heard.push(`${id}#${slot}:damaged:${error.code}`),
      onGone: (reason) => heard.push(`${id}:gone:${reason}`),
    })
  return { clock, polls, states, listener, heard, watch }
}

describe('RelayListener', () => {
  it('keeps one poll in flight for all its invites, restarting it to name a new one', async () => {
    const { polls, states, watch } = setup()
    for (let i = 1; i <= 8; i++) watch(`inv${i}`)
    expect(polls).toHaveLength(8)
    expect(polls.slice(0, 7).every((p) => p.aborted())).toBe(true)
    expect(polls[7]!.aborted()).toBe(false)
    expect(polls[7]!.ids).toEqual(['inv1', 'inv2', 'inv3', 'inv4', 'inv5', 'inv6', 'inv7', 'inv8'])
    expect(states.at(-1)).toMatchObject({ state: 'listening', watching: 8 })
  })

  it('acknowledges each answer with its next poll, and hands out one that comes again (its reply was lost) only once', async () => {
    const { polls, heard, watch } = setup()
    watch('a')
    polls[0]!.resolve({ answers: [{ id: 'a', slot: 1, sealed: 'S' }], gone: [] })
    await flush()
    expect(polls[1]!.acks).toEqual(['a:1'])
    // The relay sends it again (say the acknowledging poll was aborted before the relay read it).
    polls[1]!.resolve({ answers: [{ id: 'a', slot: 1, sealed: 'S' }], gone: [] })
    await flush()
    expect(heard).toEqual(['a#1:opened:S'])
    expect(polls[2]!.acks).toEqual(['a:1'])
  })

  it('hands out answers and gone invites, and goes idle when none is left', async () => {
    const { polls, states, heard, watch, listener } = setup()
    watch('a')
    watch('b')
    polls[1]!.resolve({ answers: [{ id: 'a', slot: 0, sealed: 'S' }, { id: 'b', slot: 2, sealed: 'garbage' }], gone: [] })
    await flush()
    expect(heard).toEqual(['a#0:opened:S', 'b#2:damaged:relay-damaged'])
    // It polls again at once, for both (a room link keeps being watched until the host removes it).
    expect(polls).toHaveLength(3)
    listener.remove('a')
    polls[2]!.resolve({ answers: [], gone: [{ id: 'b', reason: 'expired' }] })
    await flush()
    expect(heard.at(-1)).toBe('b:gone:expired')
    expect(states.at(-1)).toMatchObject({ state: 'idle', watching: 0 })
    expect(polls).toHaveLength(3)
  })

  it('never gives up: backs off with jitter, honours Retry-After, says "unreachable" after three failures, and recovers', async () => {
    const { clock, polls, states, watch } = setup(0.5)
    watch('a')
    polls[0]!.reject(new RelayError('relay-unavailable', 'network error'))
    await flush()
    // 1 s doubled per failure, times a jitter factor in [0.5, 1): 0.75 here.
    expect(states.at(-1)).toMatchObject({ state: 'retrying', retryInMs: 750, failures: 1 })
    expect(clock.pendingDelay()).toBe(750)
    clock.fire()
    expect(polls).toHaveLength(2)
    // A retry asks without waiting, so "listening" comes back as soon as the relay answers.
    expect(polls[1]!.waitSeconds).toBe(0)
    polls[1]!.reject(new RelayError('relay-rate-limited', undefined, { status: 429, retryAfterSeconds: 7 }))
    await flush()
    expect(states.at(-1)).toMatchObject({ state: 'retrying', retryInMs: 7_000, failures: 2, error: 'relay-rate-limited' })
    expect((states.at(-1) as { message: string }).message).toMatch(/Trying again in 7 s/)
    clock.fire()
    polls[2]!.reject(new RelayError('relay-unavailable', 'HTTP 503', { status: 503 }))
    await flush()
    const unreachable = states.at(-1)
    expect(unreachable).toMatchObject({ state: 'unreachable', retryInMs: 3_000, failures: 3 })
    expect((unreachable as { message: string }).message).toMatch(/invite code.*paste their answer code back/)
    // Still trying, up to the cap.
    for (let i = 3; i < 10; i++) {
      clock.fire()
      polls[i]!.reject(new RelayError('relay-unavailable', 'network error'))
      await flush()
    }
    expect(states.at(-1)).toMatchObject({ state: 'unreachable', retryInMs: 22_500, failures: 10 })
    clock.fire()
    polls[10]!.resolve(null)
    await flush()
    expect(states.at(-1)).toMatchObject({ state: 'listening', watching: 1 })
    // Back to long polls.
    expect(polls[11]!.waitSeconds).toBeUndefined()
  })

  it('an invite added while backing off waits for the retry; stop() ends everything', async () => {
    const { clock, polls, states, watch, listener } = setup()
    watch('a')
    polls[0]!.reject(new RelayError('relay-unavailable'))
    await flush()
    watch('b')
    expect(polls).toHaveLength(1)
    clock.fire()
    expect(polls[1]!.ids).toEqual(['a', 'b'])
    listener.stop()
    expect(polls[1]!.aborted()).toBe(true)
    expect(states.at(-1)).toMatchObject({ state: 'idle' })
    expect(clock.pendingDelay()).toBeUndefined()
  })
})
