/**
 * Time reaches the session core only through this interface, so a simulation can
 * replace it with a fake clock and replay a run exactly.
 */
export interface Clock {
  /** Milliseconds on this clock's own time line. */
  now(): number
  /** Runs `fn` once, `ms` from now. */
  setTimeout(fn: () => void, ms: number): TimerHandle
  /** Cancels a timer that has not run; a handle that ran is ignored. */
  clearTimeout(handle: TimerHandle): void
}

/** Whatever the clock's `setTimeout` returns; only that clock's `clearTimeout` reads it. */
export type TimerHandle = {
  /** Brands a handle type of one's own. */
  readonly __timer: true
} | number | object

/** The host environment's clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms) as unknown as TimerHandle,
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
}
