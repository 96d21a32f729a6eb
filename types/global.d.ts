/**
 * Ambient types for apps that reach the controller as `window.SESSION`.
 * Add `"types": ["session-sync/global"]` to tsconfig, or `/// <reference types="session-sync/global" />`.
 */
import type { SessionSyncController } from 'session-sync'

export type {
  SessionSyncController,
  SessionSyncProvider,
  SessionDelta,
  SessionDeltaMeta,
  SessionIntent,
  SessionViewer,
  SessionEvents,
  SessionModule,
  SessionCompatibility,
  SessionState,
  SessionRole,
  SessionPeer,
  SessionInvite,
  SessionLockedError,
} from 'session-sync'

declare global {
  interface Window {
    /** The page's session controller, when the app installed one (`installSession`). */
    SESSION?: SessionSyncController
  }
}
