/**
 * Steps that finish at once or later. Providers apply most changes synchronously; a path
 * written with `async`/`await` would still pay a promise and a microtask per step for
 * each one. With these, a synchronous step runs on at once and only a real promise waits.
 */

/** A value now, or a promise of it. */
export type Maybe<T> = T | Promise<T>

/** `next(value)` now when `value` is not a promise, else once it resolves. */
export function andThen<T, R>(value: Maybe<T>, next: (value: T) => Maybe<R>): Maybe<R> {
  return value instanceof Promise ? value.then(next) : next(value)
}

/** Nothing to do with the value: `andThen(step, done)` is the step, finished, as `Maybe<void>`. */
export const done = (): void => {}

const settled = Promise.resolve()

/**
 * `run` in a microtask, after the current synchronous code: a resolved promise's reaction,
 * V8's own microtask, cheaper on the hot path than a call to `queueMicrotask`.
 */
export function soon(run: () => void): void {
  void settled.then(run)
}
