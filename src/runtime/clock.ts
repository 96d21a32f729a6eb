/**
 * Time reaches the session core only through this interface, so a simulation can
 * replace it with a fake clock and replay a run exactly.
 */
export interface Clock {
  /** Milliseconds on this clock's own time line. */
  now(): number
  setTimeout(fn: () => void, ms: number): TimerHandle
  clearTimeout(handle: TimerHandle): void
  /**
   * Gives the event loop back (rendering, input, timers) and resolves soon after, without
   * the clamping of nested timeouts. Optional: without it, a zero timeout on this clock.
   */
  yield?(): Promise<void>
}

export type TimerHandle = { readonly __timer: true } | number | object

/** The host environment's clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms) as unknown as TimerHandle,
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
  yield: () => yieldToEventLoop(),
}

interface Scheduler {
  yield?: () => Promise<void>
}

/** `scheduler.yield()` where the browser has it; else a message to ourselves (a task, never clamped like a nested timeout). */
function yieldToEventLoop(): Promise<void> {
  const scheduler = (globalThis as { scheduler?: Scheduler }).scheduler
  if (typeof scheduler?.yield === 'function') return scheduler.yield()
  if (typeof MessageChannel !== 'function') return new Promise((resolve) => globalThis.setTimeout(resolve, 0))
  return new Promise((resolve) => {
    const channel = new MessageChannel()
    channel.port1.onmessage = () => {
      channel.port1.close()
      resolve()
    }
    channel.port2.postMessage(null)
  })
}
