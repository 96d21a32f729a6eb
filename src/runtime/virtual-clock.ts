import type { Clock, TimerHandle } from './clock.js'

interface Task {
  at: number
  order: number
  fn: () => void
  cancelled: boolean
}

/** Lets pending promise reactions run, so async code settles between two scheduled tasks. */
const settle = (): Promise<void> =>
  new Promise((resolve) => (globalThis.setImmediate ? globalThis.setImmediate(resolve) : globalThis.setTimeout(resolve, 0)))

/**
 * A fake clock that is also the simulation's scheduler: tasks run in (time, insertion)
 * order, and time only moves when the next task is due, so a run is a pure function of
 * its inputs and seed.
 */
export class VirtualClock implements Clock {
  private time = 0
  private order = 0
  private heap: Task[] = []

  now(): number {
    return this.time
  }

  /** Schedules `fn` at now + `ms` on virtual time. */
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const task: Task = { at: this.time + Math.max(0, ms), order: this.order++, fn, cancelled: false }
    this.push(task)
    return task
  }

  /** Cancels a task that has not run. */
  clearTimeout(handle: TimerHandle): void {
    if (handle && typeof handle === 'object' && 'cancelled' in handle) (handle as Task).cancelled = true
  }

  /** Tasks still scheduled (cancelled ones excluded). */
  get pending(): number {
    return this.heap.reduce((n, t) => n + (t.cancelled ? 0 : 1), 0)
  }

  /** Runs one due task; false when none is left. Async work it starts settles before return. */
  async step(): Promise<boolean> {
    for (;;) {
      const task = this.pop()
      if (!task) return false
      if (task.cancelled) continue
      this.time = Math.max(this.time, task.at)
      task.fn()
      await settle()
      return true
    }
  }

  /**
   * Runs tasks until none is left before `until` (absolute time; default: no bound),
   * then sets the clock to `until`. Throws after `maxSteps` as a guard against
   * self-rescheduling loops; heartbeats would otherwise make "until idle" endless.
   */
  async run(options: { until?: number; maxSteps?: number } = {}): Promise<void> {
    const until = options.until ?? Number.POSITIVE_INFINITY
    const maxSteps = options.maxSteps ?? 1_000_000
    await settle()
    for (let steps = 0; ; steps++) {
      if (steps >= maxSteps) throw new Error(`VirtualClock: still busy after ${maxSteps} steps`)
      const next = this.peek()
      if (!next || next.at > until) break
      await this.step()
    }
    if (Number.isFinite(until)) this.time = Math.max(this.time, until)
  }

  /** Moves time forward by `ms`, running everything due on the way. */
  advance(ms: number): Promise<void> {
    return this.run({ until: this.time + ms })
  }

  private peek(): Task | undefined {
    while (this.heap[0]?.cancelled) this.pop()
    return this.heap[0]
  }

  private push(task: Task): void {
    const heap = this.heap
    heap.push(task)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(heap[i]!, heap[parent]!)) break
      ;[heap[i], heap[parent]] = [heap[parent]!, heap[i]!]
      i = parent
    }
  }

  private pop(): Task | undefined {
    const heap = this.heap
    const top = heap[0]
    const last = heap.pop()
    if (heap.length > 0 && last) {
      heap[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < heap.length && before(heap[l]!, heap[m]!)) m = l
        if (r < heap.length && before(heap[r]!, heap[m]!)) m = r
        if (m === i) break
        ;[heap[i], heap[m]] = [heap[m]!, heap[i]!]
        i = m
      }
    }
    return top
  }
}

function before(a: Task, b: Task): boolean {
  return a.at < b.at || (a.at === b.at && a.order < b.order)
}
