/**
 * The journal's write queue: batches are written one after another, each in one transaction,
 * with housekeeping (evicting, dropping journals) in the same order.
 *
 * A batch made while a write is under way, or while a failed one waits to be tried again,
 * merges into the one batch waiting behind it: what the queue holds is bounded by what is
 * unwritten, not by how many batches a slow disk let pile up. A failed write is told (one
 * diagnostic per failure) and tried again after a back-off on the page's clock, merged with
 * whatever came meanwhile, so a transaction aborted for a moment costs nothing; a full disk
 * evicts other sessions' journals first. Past the last attempt the journal is given up.
 */
import { JournalError } from '../errors.js'
import type { Clock, TimerHandle } from '../runtime/clock.js'
import type { Journal, JournalBatch } from './store.js'

export interface WriteQueueHooks<S> {
  readonly clock: Clock
  /** The wait before each attempt after the first: one more attempt than waits. */
  readonly retryMs: readonly number[]
  /** The store (null: none, the journal unavailable). */
  store(): Promise<Journal | null>
  diagnostic(code: string, message: string, extra?: { error: unknown }): void
  /** Whether `session`'s batches are still to be written (it was not given up, nor is it long gone). */
  wanted(session: S): boolean
  /** `session`'s unwritten batch failed `failures` times, and will be tried again. */
  failed(session: S, failures: number): void
  /** `session`'s journal is given up: it journals no more, and its journal is dropped next. */
  gaveUp(session: S, key: string): void
}

type JobBody<S> = { kind: 'write'; session: S; key: string; batch: JournalBatch; failures: number } | { kind: 'task'; run: (store: Journal) => Promise<void> }
type Job<S> = JobBody<S> & { n: number }

/** Whether `job` writes `session`'s batch to the journal `key` (a batch for it merges into that one). */
function writes<S>(job: Job<S> | undefined, session: S, key: string): job is Job<S> & { kind: 'write' } {
  return job?.kind === 'write' && job.session === session && job.key === key
}

export class WriteQueue<S> {
  private jobs: Job<S>[] = []
  /** Numbers jobs, so that `idle()` waits for those made so far only. */
  private made = 0
  /** The head job is under way, or waits to be tried again. */
  private running = false
  private inFlight: Job<S> | null = null
  private retry: TimerHandle | null = null
  private waiters: Array<{ through: number; done: () => void }> = []

  constructor(private readonly hooks: WriteQueueHooks<S>) {}

  /** Queues `batch` of the journal `key`, merged into the batch waiting for that journal if there is one. */
  write(session: S, key: string, batch: JournalBatch): void {
    const last = this.jobs.at(-1)
    if (last !== this.inFlight && writes(last, session, key)) last.batch = mergeBatches(last.batch, batch)
    else this.push({ kind: 'write', session, key, batch, failures: 0 })
  }

  /** Housekeeping in the queue's order: its failure is no session's. */
  task(run: (store: Journal) => Promise<void>): void {
    this.push({ kind: 'task', run: (store) => run(store).catch(() => undefined) })
  }

  /** Oldest journals but `current` first, until `keep` others remain. */
  evict(current: string, keep: number): void {
    this.task((store) => this.evictNow(store, current, keep))
  }

  /** Resolves once every batch and task queued so far is done: written, or given up. */
  idle(): Promise<void> {
    const through = this.made
    return this.doneThrough() >= through ? Promise.resolve() : new Promise((done) => this.waiters.push({ through, done }))
  }

  /** The page is closing, so there is no later: a write waiting to be tried again is tried now. */
  hurry(): void {
    if (!this.retry) return
    this.hooks.clock.clearTimeout(this.retry)
    this.retry = null
    void this.run(this.jobs[0]!)
  }

  private push(job: JobBody<S>): void {
    this.jobs.push({ ...job, n: ++this.made })
    if (!this.running) {
      this.running = true
      void this.run(this.jobs[0]!)
    }
  }

  private async run(job: Job<S>): Promise<void> {
    const store = await this.hooks.store()
    if (job.kind === 'task') {
      if (store) await job.run(store)
    } else if (store && this.hooks.wanted(job.session)) {
      this.inFlight = job
      try {
        await store.write(job.key, job.batch)
      } catch (error) {
        this.inFlight = null
        if (await this.failed(store, job, error)) return
      }
      this.inFlight = null
    }
    this.next()
  }

  /** True when the job waits to be tried again. */
  private async failed(store: Journal, job: Job<S> & { kind: 'write' }, error: unknown): Promise<boolean> {
    const quota = error instanceof JournalError && error.code === 'journal-quota'
    this.hooks.diagnostic(quota ? 'journal-quota' : 'journal-write-failed', `The session journal could not be written: ${(error as Error)?.message ?? String(error)}`, { error })
    job.failures++
    if (job.failures > this.hooks.retryMs.length) {
      // Given up: a journal with a hole would resume into a wrong state, so none is kept (the drop may fail too).
      this.hooks.diagnostic('journal-off', 'The session goes on, but will not survive a reload of this page.')
      this.hooks.gaveUp(job.session, job.key)
      this.jobs = this.jobs.filter((other) => other === job || other.kind !== 'write' || other.session !== job.session)
      await store.drop(job.key).catch(() => undefined)
      return false
    }
    if (quota) await this.evictNow(store, job.key, 0).catch(() => undefined)
    // What came meanwhile goes with the retry, in one transaction.
    const behind = this.jobs[1]
    if (writes(behind, job.session, job.key)) {
      job.batch = mergeBatches(job.batch, behind.batch)
      this.jobs.splice(1, 1)
    }
    this.hooks.failed(job.session, job.failures)
    this.retry = this.hooks.clock.setTimeout(() => {
      this.retry = null
      void this.run(job)
    }, this.hooks.retryMs[job.failures - 1]!)
    return true
  }

  private next(): void {
    this.jobs.shift()
    const through = this.doneThrough()
    const waiting = this.waiters
    this.waiters = waiting.filter((w) => w.through > through)
    for (const w of waiting) if (w.through <= through) w.done()
    this.running = this.jobs.length > 0
    if (this.running) void this.run(this.jobs[0]!)
  }

  /** Every job numbered up to this is done. */
  private doneThrough(): number {
    return this.jobs.length ? this.jobs[0]!.n - 1 : this.made
  }

  private async evictNow(store: Journal, current: string, keep: number): Promise<void> {
    const others = (await store.sessions()).filter((s) => s.key !== current).sort((a, b) => a.updatedAt - b.updatedAt)
    for (const old of others.slice(0, Math.max(0, others.length - keep))) {
      await store.drop(old.key)
      this.hooks.diagnostic('journal-evicted', `Dropped the journal of session ${old.key} (${old.bytes} bytes) to make room.`)
    }
  }
}

/**
 * One batch doing what `earlier` then `later` would: identity, size and time are the later's,
 * deltas append, a later snapshot replaces the deltas it covers (all of them when it replaces
 * the log), and the outbox's changes apply in order.
 */
export function mergeBatches(earlier: JournalBatch, later: JournalBatch): JournalBatch {
  const snapshot = later.snapshot ?? earlier.snapshot
  const kept = later.snapshot ? (later.replacesLog ? [] : earlier.deltas.filter((d) => d.seq > later.snapshot!.seq)) : earlier.deltas
  const settled = new Set(later.settled)
  const requeued = new Set(later.queued.map((q) => q.intentId))
  const replacesLog = earlier.replacesLog || later.replacesLog
  return {
    ...later,
    ...(snapshot ? { snapshot } : {}),
    ...(replacesLog ? { replacesLog } : {}),
    deltas: [...kept, ...later.deltas],
    queued: [...earlier.queued.filter((q) => !settled.has(q.intentId)), ...later.queued.filter((q) => !settled.has(q.intentId))],
    settled: [...earlier.settled.filter((id) => !requeued.has(id)), ...later.settled],
  }
}
