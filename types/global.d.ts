/**
 * Ambient types for apps that reach the controller as `window.SESSION`.
 * Add `"types": ["session-sync/global"]` to tsconfig, or `/// <reference types="session-sync/global" />`.
 * The provider contract's types are global too, under its published names, so a module
 * written against that contract type-checks without importing anything.
 */
import type {
  SessionApplyMeta as ApplyMeta,
  SessionDelta as Delta,
  SessionIntent as Intent,
  SessionLockedError as LockedError,
  SessionPeer as Peer,
  SessionRole as Role,
  SessionSyncController,
  SessionSyncProvider as Provider,
  SessionViewer as Viewer,
} from 'session-sync'

export type {
  SessionSyncController,
  SessionSyncProvider,
  SessionDelta,
  SessionDeltaMeta,
  SessionApplyMeta,
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
  type SessionSyncProvider<V extends Viewer = Viewer, S = unknown, D extends Delta = Delta> = Provider<V, S, D>
  type SessionDelta = Delta
  type SessionIntent = Intent
  type SessionApplyMeta = ApplyMeta
  type SessionPeer = Peer
  type SessionRole = Role
  type SessionViewer = Viewer
  type SessionLockedError = LockedError
}
