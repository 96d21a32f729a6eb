import { IllegalTransitionError } from '../errors.js'
import type { SessionState } from '../types.js'

export type { SessionState }

/** The only legal moves. Anything else is a bug, and throws. */
export const TRANSITIONS: Readonly<Record<SessionState, readonly SessionState[]>> = {
  idle: ['hosting', 'joining'],
  hosting: ['connected', 'leaving'],
  joining: ['connected', 'leaving'],
  connected: ['reconnecting', 'leaving'],
  reconnecting: ['connected', 'leaving'],
  leaving: ['idle'],
}

export class Lifecycle {
  private current: SessionState = 'idle'

  constructor(private readonly onChange: (state: SessionState, previous: SessionState) => void) {}

  get state(): SessionState {
    return this.current
  }

  can(to: SessionState): boolean {
    return TRANSITIONS[this.current].includes(to)
  }

  to(next: SessionState): void {
    if (!this.can(next)) throw new IllegalTransitionError(this.current, next)
    const previous = this.current
    this.current = next
    this.onChange(next, previous)
  }
}
