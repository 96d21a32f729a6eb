/**
 * The bootstrap progress bar, with bytes received of the total. A snapshot on loopback can
 * arrive in a tenth of a second: the bar stays up a little after the end so it can be read.
 */
import { $ } from './dom.js'
import { bytes } from './format.js'

/** The bar is up at least this long, and stays this long after the last byte. */
const LINGER_MS = 1_500

export function bootstrapProgress() {
  const box = $('#progress-box')
  const bar = $<HTMLProgressElement>('#progress')
  const text = $('#progress-text')
  let hideTimer: ReturnType<typeof setTimeout> | undefined

  return {
    update(received: number, total: number): void {
      clearTimeout(hideTimer)
      box.hidden = false
      bar.max = Math.max(total, 1)
      bar.value = received
      text.textContent = `Loading the session: ${bytes(received)} of ${bytes(total)}`
    },
    complete(): void {
      bar.value = bar.max
      if (box.hidden) return
      text.textContent = `Loaded ${bytes(bar.max)}`
      clearTimeout(hideTimer)
      hideTimer = setTimeout(() => (box.hidden = true), LINGER_MS)
    },
    hide(): void {
      clearTimeout(hideTimer)
      box.hidden = true
    },
  }
}
