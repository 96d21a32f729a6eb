/**
 * Providers for the simulator's provider-fault mode, registered beside the honest ones:
 * one that throws or rejects at random in every method, one that answers only after a
 * while on its page's clock (across task boundaries), and a counter, whose state shows a
 * change applied twice (a key-value store would hide it: setting a key again changes nothing).
 * Their randomness is their own, so the run stays a function of the seed.
 */
import type { SessionDeltaMeta, SessionViewer } from '../../src/index.js'
import type { Clock } from '../../src/runtime/clock.js'
import type { Random } from '../../src/runtime/random.js'
import { KvProvider, type SetDelta } from '../helpers/kv-provider.js'

/** Throws (or, for methods that may be async, rejects) a fraction of the time, in every method. */
export class FlakyProvider extends KvProvider {
  constructor(private readonly rng: Random, private readonly odds = 0.2) {
    super('flaky', 'global', 30)
  }

  /** Undefined (behave), 'throw' or 'reject'. */
  private fault(): 'throw' | 'reject' | undefined {
    const r = this.rng.next()
    return r < this.odds / 2 ? 'throw' : r < this.odds ? 'reject' : undefined
  }

  override snapshot(viewer: SessionViewer | null): Record<string, unknown> {
    const fault = this.fault()
    if (fault === 'throw') throw new Error('flaky snapshot')
    if (fault === 'reject') return Promise.reject(new Error('flaky snapshot')) as never
    return super.snapshot(viewer)
  }

  override applySnapshot(data: Record<string, unknown>, viewer: SessionViewer | null): void {
    // It fails after it began replacing its state: what a snapshot is, the controller tried.
    super.applySnapshot(data, viewer)
    const fault = this.fault()
    if (fault === 'throw') throw new Error('flaky applySnapshot')
    if (fault === 'reject') return Promise.reject(new Error('flaky applySnapshot')) as never
  }

  override applyDelta(delta: SetDelta, meta: SessionDeltaMeta): boolean | void {
    const fault = this.fault()
    if (!fault) return super.applyDelta(delta, meta)
    // Seen (it counts for exactly-once), then failed half-way.
    super.applyDelta(delta, meta)
    if (fault === 'throw') throw new Error('flaky applyDelta')
    return Promise.reject(new Error('flaky applyDelta')) as never
  }

  override subscribe(emit: (delta: SetDelta) => void): () => void {
    const off = super.subscribe(emit)
    return () => {
      off()
      if (this.fault()) throw new Error('flaky unsubscribe')
    }
  }
}

/** Answers every call after 0–`maxMs` ms of its page's clock; its snapshot is the state when it was asked. */
export class SlowProvider extends KvProvider {
  constructor(private readonly clock: Clock, private readonly rng: Random, private readonly maxMs = 300) {
    super('slow', 'global', 1)
  }

  private later<T>(work: () => T): Promise<T> {
    const ms = Math.floor(this.rng.next() * (this.maxMs + 1))
    return new Promise((resolve) => this.clock.setTimeout(() => resolve(work()), ms))
  }

  override snapshot(viewer: SessionViewer | null): Record<string, unknown> {
    const state = super.snapshot(viewer)
    return this.later(() => state) as never
  }

  override applySnapshot(data: Record<string, unknown>, viewer: SessionViewer | null): void {
    return this.later(() => super.applySnapshot(data, viewer)) as never
  }

  override applyDelta(delta: SetDelta, meta: SessionDeltaMeta): boolean | void {
    return this.later(() => super.applyDelta(delta, meta)) as never
  }
}

/** A counter per key: applying a change twice shows as 2. Collected after the slow provider. */
export class TallyProvider extends KvProvider {
  constructor() {
    super('tally', 'global', 60)
  }

  bump(key: string): string | void {
    const store = this.store()
    store[key] = Number(store[key] ?? 0) + 1
    return this.emitter?.({ key, value: 1 })
  }

  override applyDelta(delta: SetDelta, meta: SessionDeltaMeta): boolean | void {
    this.applied.push({ delta, meta })
    if (delta.intentId) {
      if (this.sinceSnapshot.has(delta.intentId)) this.duplicates.push(delta.intentId)
      this.sinceSnapshot.add(delta.intentId)
    }
    const store = this.store()
    store[delta.key] = Number(store[delta.key] ?? 0) + Number(delta.value)
  }
}

export interface FaultProviders {
  flaky: FlakyProvider
  slow: SlowProvider
  tally: TallyProvider
}
