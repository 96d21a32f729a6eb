/**
 * Joining replaces this page's shapes and layers with the host's. When the page holds work
 * that was never saved, ask first, and offer to download a copy.
 */
import { ask } from './confirm.js'
import { download } from './download.js'
import type { SessionSyncController } from '../src/index.js'

export interface JoinGuardOptions {
  session: SessionSyncController
  /** Shapes on the page now, over every slide. */
  shapes: () => number
  /** Subscribes to any change of the page's shapes or layers. */
  onChange: (fn: () => void) => void
  /** The page's work, as the file a copy is saved to. */
  copy: () => unknown
}

export function joinGuard(options: JoinGuardOptions) {
  const { session } = options
  /** Changed since it was last saved (or since the page loaded with nothing). */
  let unsaved = false
  options.onChange(() => {
    // Within a session the session's own saves cover the work; alone, nobody else holds it.
    if (!session.isActive()) unsaved = true
  })
  session.on('session-ended', ({ reason }) => {
    // The page keeps what the session held; only a host's final save has a copy of it.
    if (reason !== 'saved' && options.shapes() > 0) unsaved = true
  })

  function saveCopy(): void {
    const stamp = new Date().toISOString().slice(0, 19).replace(/[T:]/g, '-')
    download(`slide-review-copy-${stamp}.json`, JSON.stringify({ savedAt: new Date().toISOString(), copy: true, demo: options.copy() }, null, 2))
    unsaved = false
  }

  return {
    saveCopy,
    /** True to go on with the join; a copy is downloaded first if the person asks for one. */
    async beforeJoin(): Promise<boolean> {
      const shapes = options.shapes()
      if (!unsaved || shapes === 0) return true
      const answer = await ask({
        title: 'Joining replaces your work on this page',
        text: `This page holds ${shapes} shape${shapes === 1 ? '' : 's'} and layer settings that are not saved anywhere. Joining shows the host’s slides instead, and yours are gone.`,
        extra: 'Save a copy, then join',
        yes: 'Join without saving',
      })
      if (answer === 'extra') saveCopy()
      return answer !== 'no'
    },
  }
}
