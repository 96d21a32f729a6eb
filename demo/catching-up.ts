/**
 * "Catching up…" on screen while a large change is applied, instead of a page that looks
 * frozen: the notice is painted first, then the work runs (one store call), then it goes.
 */

/** Fewer shapes than this apply too fast to notice. */
const SHOW_FROM = 200
/** A hidden tab paints no frames: do not wait for one longer than this. */
const PAINT_WAIT_MS = 100

export function catchingUp(notice: HTMLElement) {
  let running = 0
  return async function catchUp<T>(shapes: number, work: () => T): Promise<T> {
    if (shapes < SHOW_FROM) return work()
    running++
    notice.hidden = false
    await painted()
    try {
      return work()
    } finally {
      if (--running === 0) notice.hidden = true
    }
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
