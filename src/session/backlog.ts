/**
 * Whether this page is behind on what it received (`session-catching-up`), from the serial
 * queue's length (`Links.serial`): behind once `behindAt` messages wait, or more than
 * `caughtUpAt` have waited for `busyMs` without a break; caught up at `caughtUpAt` or fewer.
 * The gap between the two bounds keeps a queue that hovers near one of them from flickering.
 * Each message costs a comparison or two; the clock is read only when the queue crosses a bound.
 */
import type { Clock } from '../runtime/clock.js'

/** The bounds; `DEFAULT_BACKLOG` in options.ts. */
export interface BacklogBounds {
  /** Messages waiting or running from which the page is behind at once. */
  behindAt: number
  /** At or under this many, it has caught up. */
  caughtUpAt: number
  /** Above `caughtUpAt` for this long without a break is behind too (slow handlers, not many). */
  busyMs: number
}

export class Backlog {
  behind = false
  /** When the queue last rose above `caughtUpAt`. */
  private above = 0

  constructor(
    private readonly bounds: BacklogBounds,
    private readonly clock: Clock,
    private readonly report: (behind: boolean, pending: number) => void,
  ) {}

  /** A message joined the queue: `pending` wait or run now. */
  grew(pending: number): void {
    if (pending === this.bounds.caughtUpAt + 1) this.above = this.clock.now()
    if (!this.behind && pending >= this.bounds.behindAt) this.set(true, pending)
  }

  /** A message was handled: `pending` are left. */
  shrank(pending: number): void {
    if (this.behind && pending <= this.bounds.caughtUpAt) this.set(false, pending)
  }

  /** A slice of handling ended at `now` (`Links.breathe`): a backlog that lasted is behind too. */
  sliced(pending: number, now: number): void {
    if (!this.behind && pending > this.bounds.caughtUpAt && now - this.above >= this.bounds.busyMs) this.set(true, pending)
  }

  private set(behind: boolean, pending: number): void {
    this.behind = behind
    this.report(behind, pending)
  }
}
