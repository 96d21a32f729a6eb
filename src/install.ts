import { SessionStateError } from './errors.js'
import type { SessionSyncController } from './session/controller.js'

interface InstallTarget {
  SESSION?: SessionSyncController<any>
  addEventListener?: (type: string, listener: () => void) => void
}

/**
 * Installs `controller` as the page's singleton `window.SESSION` (or on `target`), and
 * makes a closing page say goodbye: Chromium tells the other side nothing when a page
 * closes, but a message sent from `pagehide` still goes out.
 */
export function installSession<C extends SessionSyncController<any>>(controller: C, target: InstallTarget = globalThis as InstallTarget): C {
  if (target.SESSION && target.SESSION !== controller) {
    throw new SessionStateError('session-installed', 'window.SESSION is already installed; there is one session controller per page.')
  }
  target.SESSION = controller
  target.addEventListener?.('pagehide', () => controller.goodbye())
  return controller
}
