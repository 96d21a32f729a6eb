/** The public contract between an app and the controller. */
import type { SessionDelta, SessionRole } from './providers/contract.js'
import type { LinkStats, TransferProgress } from './transport/transport.js'
import type { PeerInfo } from './wire/messages.js'

export type { PeerInfo, TransferProgress }
/** The provider contract (providers/contract.ts), part of this public contract. */
export type { SessionDelta, SessionDeltaMeta, SessionRole, SessionScope, SessionSyncProvider, SessionViewer } from './providers/contract.js'

/** Where the controller is in a session's life; session/lifecycle.ts has the legal moves. */
export type SessionState = 'idle' | 'hosting' | 'joining' | 'connected' | 'reconnecting' | 'leaving'

/** What an invite lets its guest do: change things, or only look and point (view deltas). */
export type SessionAccess = 'editor' | 'viewer'

/** A guest's request for a mutating change, as the host sees it. */
export interface SessionIntent {
  intentId: string
  providerId: string
  origin: string
  delta: SessionDelta
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
  /** How the direct link runs: peer to peer, or through a TURN relay (from `stats`, once known). */
  path?: 'direct' | 'relayed'
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
