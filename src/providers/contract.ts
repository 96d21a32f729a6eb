/**
 * The provider contract: what an app module implements to take part in a session, and
 * what the controller hands it. It depends on nothing else in the library (no transport,
 * no wire, no session internals), so a provider can be written, and type-checked, against
 * this file alone. `types.ts` re-exports all of it.
 */

export type SessionRole = 'host' | 'guest'
export type SessionScope = 'per-viewer' | 'global'

/** Anything the app shows session state in; per-viewer providers are called once per viewer. */
export interface SessionViewer {
  readonly uniqueId: string
}

/**
 * A change a provider emits or receives. The provider chooses the shape; these keys are
 * the controller's: `intentId` (set by the controller), `viewerId` (which viewer, for
 * per-viewer providers) and `view` (true for a view delta: last write wins, no host round trip).
 */
export interface SessionDelta {
  intentId?: string
  viewerId?: string | null
  view?: boolean
  [key: string]: unknown
}

export interface SessionDeltaMeta<V extends SessionViewer = SessionViewer> {
  /** True when the delta came from another peer (always, for applyDelta). */
  remote: boolean
  /** The user whose action this is — never the host's id for a guest's intent. */
  origin: string
  /** This peer's role: side effects that must happen once can run on the host only. */
  role: SessionRole
  viewer: V | null
  intentId?: string
  /** Host sequence number of an authoritative delta. */
  seq?: number
  /** A view delta (last write wins). */
  view: boolean
}

export interface SessionSyncProvider<V extends SessionViewer = SessionViewer, S = unknown, D extends SessionDelta = SessionDelta> {
  readonly id: string
  readonly scope: SessionScope
  /** Lower applies first at bootstrap. Default 100. */
  readonly priority?: number
  /** Every delta of this provider is a view delta. */
  readonly view?: boolean
  /**
   * The state as it is when called; a promise may resolve later, but should not take in
   * changes made meanwhile (the host labels the snapshot with its sequence number at the call).
   */
  snapshot(viewer: V | null): S | Promise<S>
  applySnapshot(data: S, viewer: V | null): void | Promise<void>
  subscribe(emit: (delta: D) => void): () => void
  /**
   * Must be idempotent per delta.intentId. On the host, returning false means "refused or
   * nothing to do": the guest gets an ack and no delta is broadcast.
   */
  applyDelta(delta: D, meta: SessionDeltaMeta<V>): void | boolean | Promise<void | boolean>
}
