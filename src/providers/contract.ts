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
/** `per-viewer`: state per viewer, snapshots and deltas name the viewer; `global`: one state for the page. */
export type SessionScope = 'per-viewer' | 'global'

/** Anything the app shows session state in; per-viewer providers are called once per viewer. */
export interface SessionViewer {
  /** Names the viewer on every peer: the same viewer has the same id everywhere. */
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
  /** The provider's id; the session fills it in. */
  providerId?: string
  /** Which viewer, for per-viewer providers (required there): the published contract's name. */
  viewerUniqueId?: string | null
  /** Which viewer: the short form of `viewerUniqueId`; either routes. */
  viewerId?: string | null
  /** The change's id, the same on every peer: random per change, set by the controller. Apply each id once. */
  intentId?: string
  /** The user whose change this is. */
  sourceUserId?: string
  /** The host's sequence number, on an authoritative delta. */
  seq?: number
  /** What kind of change, as the provider names it. */
  kind?: string
  /** The change itself, as the provider shapes it. */
  payload?: unknown
  /** A view delta's mark. Only a provider declared `view: true` sends view deltas (all its deltas are); `true` from any other is refused as `invalid-delta`. */
  view?: boolean
  [key: string]: unknown
}

/** What the controller tells `applyDelta` about a delta. */
export interface SessionDeltaMeta<V extends SessionViewer = SessionViewer> {
  /** True when the delta came from another peer (always, for applyDelta). */
  remote: boolean
  /** The user whose action this is — never the host's id for a guest's intent. */
  origin: string
  /** This peer's role: side effects that must happen once can run on the host only. */
  role: PeerRole
  /** The viewer the delta is for (per-viewer providers); null for global ones. */
  viewer: V | null
  /**
   * True while this page has not yet taken in the session's state (before its snapshot is
   * applied, or while it takes a fresh one): the provider's state comes with the snapshot.
   */
  bootstrap: boolean
  /** The change's id (mutating deltas); the same as `delta.intentId`. */
  intentId?: string
  /** Host sequence number of an authoritative delta. */
  seq?: number
  /** A view delta (last write wins). */
  view: boolean
}

/**
 * What an app module implements to take part in a session: its state as a snapshot, and its changes as deltas.
 *
 * @typeParam V The app's viewer type.
 * @typeParam S The snapshot's type (JSON).
 * @typeParam D The delta's type (a JSON object).
 */
export interface SessionSyncProvider<V extends SessionViewer = SessionViewer, S = unknown, D extends SessionDelta = SessionDelta> {
  /** Unique per page and the same on every peer: it routes deltas and snapshots. */
  readonly id: string
  /** Whether state is per viewer or one for the page. */
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
  /** Replaces the state with the host's (guests: at bootstrap and resync). Per-viewer providers are called once per viewer. */
  applySnapshot(data: S, viewer: V | null): void | Promise<void>
  /** Called when a session starts: call `emit` for every local change; return a function that stops. What it emits synchronously inside `applyDelta`/`applySnapshot` is an echo, never sent. */
  subscribe(emit: (delta: D) => void): () => void
  /**
   * Must be idempotent per delta.intentId. On the host, returning false means "refused or
   * nothing to do": the guest gets an ack and no delta is broadcast.
   */
  applyDelta(delta: D, meta: SessionDeltaMeta<V>): void | boolean | Promise<void | boolean>
}

/** How an app registers a provider; `view: true` makes an unmodified provider a view provider. */
export interface RegisterOptions {
  /** Every delta of the provider is a view delta, as if it declared `view: true` itself. */
  view?: boolean
}
