/**
 * "Bring everyone to my view": the host's views, each marked with one summon number, as
 * ordinary viewport deltas. Whether to obey one is decided here, from who sent it as the
 * session proves it (the delta's `meta.origin`), never from anything the delta says.
 */
import type { ViewState } from './osd.js'

/** What a received summon asks of this page. */
export type SummonVerdict =
  /** Not from the host: an ordinary view, nothing more. */
  | 'refused'
  /** The first delta of a new summon: stop following others, say so, show it. */
  | 'new'
  /** Another viewer's delta of a summon already taken in: show it. */
  | 'again'

/** Which summons this page has taken in: one summon arrives as one delta per viewer. */
export class SummonGate {
  private last = ''

  /** `from` sent summon number `n`; `hostId` is who hosts now, by the roster. */
  check(from: string, n: number, hostId: string | undefined): SummonVerdict {
    if (from !== hostId) return 'refused'
    const key = `${from}\u0000${n}`
    if (key === this.last) return 'again'
    this.last = key
    return 'new'
  }
}

/** A number for the next summon of this page: increasing, and unlike one from before a reload. */
export function nextSummon(last: number, now: number): number {
  return Math.max(last + 1, Math.floor(now))
}

/** The view in a received delta, or undefined when it is not one (a peer may send anything). */
export function viewStateIn(delta: Record<string, unknown>): ViewState | undefined {
  const { x, y, w, h, r } = delta
  const finite = [x, y, w, h, r].every((n) => typeof n === 'number' && Number.isFinite(n))
  return finite && (w as number) > 0 && (h as number) > 0 ? { x, y, w, h, r } as ViewState : undefined
}
