/**
 * The provider contract: what an app module implements to take part in a session, and
 * what the controller hands it. It depends on nothing else in the library (no transport,
 * no wire, no session internals), so a provider can be written, and type-checked, against
 * this file alone. `types.ts` re-exports all of it.
 */

/** This page's part in a session: 'none' while idle. */
export type SessionRole = 'none' | 'host' | 'guest'
/** The part a peer plays in a session it is in. */
export type PeerRole = Exclude<SessionRole, 'none'>
export type SessionScope = 'per-viewer' | 'global'

/** Anything the app shows session state in; per-viewer providers are called once per viewer. */
export interface SessionViewer {
  readonly uniqueId: string
}

/**
 * A change a provider emits or receives. The provider chooses the shape; these keys are
 * the controller's. Which viewer, for per-viewer providers: `viewerUniqueId` or its short
 * form `viewerId` (either routes; a received delta carries both). The controller fills
 * `providerId`, `intentId`, `sourceUserId` and `seq` on every delta it delivers, whatever
 * the provider emitted in them (an empty string, typically). `view: true` marks a view delta
 * (last write wins, no host round trip).
 */
export interface SessionDelta {
  providerId?: string
  viewerUniqueId?: string | null
  viewerId?: string | null
  intentId?: string
  /** The user whose change this is. */
  sourceUserId?: string
  /** The host's sequence number, on an authoritative delta. */
  seq?: number
  kind?: string
  payload?: unknown
  view?: boolean
  [key: string]: unknown
}

export interface SessionDeltaMeta<V extends SessionViewer = SessionViewer> {
  /** True when the delta came from another peer (always, for applyDelta). */
  remote: boolean
  /** The user whose action this is — never the host's id for a guest's intent. */
  origin: string
  /** This peer's role: side effects that must happen once can run on the host only. */
  role: PeerRole
  viewer: V | null
  /**
   * True while this page has not yet taken in the session's state (before its snapshot is
   * applied, or while it takes a fresh one): the provider's state comes with the snapshot.
   */
  bootstrap: boolean
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
  /** Every delta of this provider is a view delta (or register it with `{ view: true }`). */
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

/** How an app registers a provider; `view: true` makes an unmodified provider a view provider. */
export interface RegisterOptions {
  view?: boolean
}
