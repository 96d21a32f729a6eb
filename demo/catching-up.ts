/**
 * "Catching up…" on screen instead of a page that looks frozen, for either of two reasons:
 * a large change being applied (the notice is painted first, then the work runs in one
 * store call), or the session saying this page is behind on a long stream of small changes
 * (`session-catching-up`), then shown for long enough to be read.
 */
import type { SessionSyncController } from '../src/index.js'

/** Fewer shapes than this apply too fast to notice. */
const SHOW_FROM = 200
/** A hidden tab paints no frames: do not wait for one longer than this. */
const PAINT_WAIT_MS = 100
/** Shown for a stream, the notice stays at least this long: a flash cannot be read. */
const READABLE_MS = 800

export function catchingUp(notice: HTMLElement) {
  let running = 0
  let behind = false
  let readableUntil = 0
  let hideLater: ReturnType<typeof setTimeout> | undefined

  function update(): void {
    clearTimeout(hideLater)
    const wait = readableUntil - performance.now()
    if (running > 0 || behind) notice.hidden = false
    else if (wait > 0) hideLater = setTimeout(update, wait)
    else notice.hidden = true
  }

  return {
    /** Runs `work` (a change of `shapes` shapes), with the notice up meanwhile when it is large. */
    async run<T>(shapes: number, work: () => T): Promise<T> {
      if (shapes < SHOW_FROM) return work()
      running++
      update()
      await painted()
      try {
        return work()
      } finally {
        running--
        update()
      }
    },
    /** Shows the notice while `session` says this page is behind. */
    follow(session: SessionSyncController): void {
      session.on('session-catching-up', (event) => {
        behind = event.behind
        if (behind) readableUntil = performance.now() + READABLE_MS
        update()
      })
      session.on('session-ended', () => {
        behind = false
        update()
      })
    },
  }
}

/** Resolves after the next frame has been painted (a task after the frame's callbacks). */
function painted(): Promise<void> {
  return new Promise((resolve) => {
    const fallback = setTimeout(resolve, PAINT_WAIT_MS)
    requestAnimationFrame(() =>
      setTimeout(() => {
        clearTimeout(fallback)
        resolve()
      }, 0),
    )
  })
}
