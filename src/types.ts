/** The public contract between an app and the controller. */
import type { PeerRole, SessionDelta, SessionDeltaMeta, SessionRole, SessionViewer } from './providers/contract.js'
import type { LinkStats, TransferProgress } from './transport/transport.js'
import type { RelayListenerState } from './relay/listener.js'
import type { PeerInfo } from './wire/messages.js'

export type { PeerInfo, TransferProgress }
/** The provider contract (providers/contract.ts), part of this public contract. */
export type { PeerRole, RegisterOptions, SessionDelta, SessionDeltaMeta, SessionRole, SessionScope, SessionSyncProvider, SessionViewer } from './providers/contract.js'
/** The meta `applyDelta` receives, under the published contract's name. */
export type SessionApplyMeta<V extends SessionViewer = SessionViewer> = SessionDeltaMeta<V>

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

/** A peer in an event: the roster entry, also under the published contract's names. */
export interface SessionEventPeer extends PeerInfo {
  /** `id` and `name` under the contract's names. */
  userId: string
  userName: string
  /** This user's colour for the session ('#rrggbb'): the same on every page, far from every other peer's. */
  color: string
}

export interface SessionPeer extends SessionEventPeer {
  /** In the session and heard from lately (a peer silent past the soft timeout is not). */
  connected: boolean
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
  /** Guests the link seats: 1 for an invite, more for a room link (relayed only). */
  seats?: number
}

/**
 * Where an invite stands, as the host's page shows it: `open` (waiting), `used` (every
 * seat taken), `expired`, `revoked` (by this host), `burned` (a reply arrived that could
 * not be used: re-issue it), `lost` (the relay forgot it, e.g. restarted without its
 * store: the paste codes still work).
 */
export type SessionInviteStatus = 'open' | 'used' | 'expired' | 'revoked' | 'burned' | 'lost'

/** An invite or room link in the host's list (`listInvites`, `session-invite-changed`). */
export interface SessionInviteInfo {
  inviteId: string
  url: string
  /** The paste code of a seat still open (a room's first open seat), for the paste fallback. */
  code: string
  expiresAt: number
  access: SessionAccess
  seats: number
  /** Seats taken so far. */
  seated: number
  relayed: boolean
  status: SessionInviteStatus
  /** What happened, in words for the host. */
  message: string
}

/** What a guest can see of an invite before joining it (`previewInvite`). */
export interface SessionInvitePreview {
  /** Who invites, as the host's page named itself; null for a pasted code (it does not say). */
  invitedBy: string | null
  expiresAt: number
  access: SessionAccess | null
  /** For a room link: its seats and how many are still free. */
  seats: number
  open: number
  relayed: boolean
}

/** The host's relay listener (see src/relay/listener.ts), for the page to show. */
export type { RelayListenerState } from './relay/listener.js'

/** The host's final save: every provider's state at the last sequence number. */
export interface SessionFinalSave {
  sessionId: string
  seq: number
  digest: string
  entries: Array<{ p: string; w: string | null; d: unknown }>
}

export type SessionEvents = {
  'session-final-save': SessionFinalSave
  'session-started': { sessionId: string; role: PeerRole; self: PeerInfo }
  'session-ended': { sessionId: string; reason: string }
  'session-peer-joined': { peer: SessionEventPeer }
  'session-peer-dropped': { peer: SessionEventPeer; reason: string }
  'session-role-changed': { role: SessionRole; previous: SessionRole }
  'session-reconnecting': { peerId: string }
  'session-state-changed': { state: SessionState; previous: SessionState }
  'session-host-lost': { hostId: string }
  'session-bootstrap-progress': TransferProgress
  'session-bootstrap-complete': { entries: number; seq: number }
  'session-diagnostic': SessionDiagnostic
  /**
   * Host: an invite opened, was used, expired, was revoked, burned or lost on the relay.
   * Without its link and code (events get mirrored and logged; those are secrets):
   * `listInvites()` has them.
   */
  'session-invite-changed': Omit<SessionInviteInfo, 'url' | 'code'>
  /** Host: listening on the relay, retrying in N s, or unreachable (show the paste codes). */
  'session-relay-state': RelayListenerState
  /**
   * Guest: the answer went through the relay but the host has not connected within
   * `relayPickupMs`. The join goes on; `answerCode` can be sent to the host by hand.
   */
  'session-answer-unclaimed': { answerCode: string; waitedMs: number; message: string }
}
