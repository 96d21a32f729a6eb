/**
 * Time reaches the session core only through this interface, so a simulation can
 * replace it with a fake clock and replay a run exactly.
 */
export interface Clock {
  /** Milliseconds on this clock's own time line. */
  now(): number
  setTimeout(fn: () => void, ms: number): TimerHandle
  clearTimeout(handle: TimerHandle): void
}

export type TimerHandle = { readonly __timer: true } | number | object

/** The host environment's clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms) as unknown as TimerHandle,
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
}
