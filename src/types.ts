/** The public contract between an app and the controller. */
import type { PeerInfo } from './wire/messages.js'
import type { SessionState } from './session/lifecycle.js'
import type { LinkStats, TransferProgress } from './transport/transport.js'

export type { PeerInfo, SessionState, TransferProgress }
export type SessionRole = 'host' | 'guest'
/** What an invite lets its guest do: change things, or only look and point (view deltas). */
export type SessionAccess = 'editor' | 'viewer'
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

/** A guest's request for a mutating change, as the host sees it. */
export interface SessionIntent {
  intentId: string
  providerId: string
  origin: string
  delta: SessionDelta
}

export interface SessionSyncProvider<V extends SessionViewer = SessionViewer, S = unknown, D extends SessionDelta = SessionDelta> {
  readonly id: string
  readonly scope: SessionScope
  /** Lower applies first at bootstrap. Default 100. */
  readonly priority?: number
  /** Every delta of this provider is a view delta. */
  readonly view?: boolean
  snapshot(viewer: V | null): S | Promise<S>
  applySnapshot(data: S, viewer: V | null): void | Promise<void>
  subscribe(emit: (delta: D) => void): () => void
  /**
   * Must be idempotent per delta.intentId. On the host, returning false means "refused or
   * nothing to do": the guest gets an ack and no delta is broadcast.
   */
  applyDelta(delta: D, meta: SessionDeltaMeta<V>): void | boolean | Promise<void | boolean>
}

/** What a module says about sessions; omitted = undeclared. */
export type SessionCompatibility = 'provider' | true | false | undefined

export interface SessionModule {
  readonly id: string
  readonly sessionCompatible?: SessionCompatibility
}

export interface SessionDiagnostic {
  code: string
  message: string
  peerId?: string
  providerId?: string
  /** The change concerned, where there is one (e.g. `intent-refused`). */
  intentId?: string
  /**
   * Why, in a word a program can act on: for `intent-refused`, the host's reason
   * (`unauthorized`, `refused`, `provider-error`, `unknown-provider`, `unknown-viewer`).
   */
  reason?: string
  error?: unknown
}

export interface SessionPeer extends PeerInfo {
  /** Position in the failover succession (0 = host). */
  rank: number
  self: boolean
  /** Directly linked to this peer. */
  linked: boolean
  /** Silent past the soft timeout: the link may be dying. */
  stale: boolean
  /** Round-trip time of the last heartbeat on the direct link, in ms. */
  rtt?: number
  /** The direct link's candidate type, addresses and byte counts, refreshed every heartbeat. */
  stats?: LinkStats
}

export interface SessionInvite {
  inviteId: string
  url: string
  /** `#session=<blob>` */
  fragment: string
  /** The blob alone, for pasting into a guest's join field. */
  code: string
  expiresAt: number
  /** The link goes through the signalling relay: the guest's answer comes back by itself. */
  relayed?: boolean
  /** Why the relay could not be used (the link is then the paste flow's). */
  relayError?: string
}

/** The host's final save: every provider's state at the last sequence number. */
export interface SessionFinalSave {
  sessionId: string
  seq: number
  digest: string
  entries: Array<{ p: string; w: string | null; d: unknown }>
}

export type SessionEvents = {
  'session-final-save': SessionFinalSave
  'session-started': { sessionId: string; role: SessionRole; self: PeerInfo }
  'session-ended': { sessionId: string; reason: string }
  'session-peer-joined': { peer: PeerInfo }
  'session-peer-dropped': { peer: PeerInfo; reason: string }
  'session-role-changed': { role: SessionRole | null; previous: SessionRole | null }
  'session-reconnecting': { peerId: string }
  'session-state-changed': { state: SessionState; previous: SessionState }
  'session-host-lost': { hostId: string }
  'session-bootstrap-progress': TransferProgress
  'session-bootstrap-complete': { entries: number; seq: number }
  'session-diagnostic': SessionDiagnostic
}
