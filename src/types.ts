/** The public contract between an app and the controller. */
import type { PeerRole, SessionDelta, SessionDeltaMeta, SessionRole, SessionViewer } from './providers/contract.js'
import type { LinkStats, TransferProgress } from './transport/transport.js'
import type { RelayListenerState } from './relay/listener.js'
import type { PeerInfo } from './wire/messages.js'
import type { SavedPeer } from './journal/store.js'

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
  /** Random per change, chosen by the guest; the host dedupes by it. */
  intentId: string
  /** The provider the change is for. */
  providerId: string
  /** The guest's user id, as its link proves it (never a field the guest wrote). */
  origin: string
  /** The change as the guest's provider emitted it. */
  delta: SessionDelta
}

/** What a module says about sessions; omitted = undeclared. */
export type SessionCompatibility = 'provider' | true | false | undefined

/** An app module (plugin) the controller checks before a session starts or is joined. */
export interface SessionModule {
  /** The module's id, as reports and `guardPluginLoad` name it. */
  readonly id: string
  /** `'provider'` or `true`: takes part; `false`: no session while it is loaded; omitted: undeclared. */
  readonly sessionCompatible?: SessionCompatibility
}

/** Something went wrong that the session survived: refused input, a provider's failure, a refused change. Emitted as `session-diagnostic`. */
export interface SessionDiagnostic {
  /** Stable, for programs: e.g. `wire-out-of-role`, `intent-refused`, `provider-error`, `invalid-delta`. */
  code: string
  /** A sentence a person can act on. */
  message: string
  /** The peer concerned (the sender of refused input), where there is one. */
  peerId?: string
  /** The provider concerned, where there is one. */
  providerId?: string
  /** The change concerned, where there is one (e.g. `intent-refused`). */
  intentId?: string
  /**
   * Why, in a word a program can act on: for `intent-refused`, the host's reason
   * (`unauthorized`, `refused`, `provider-error`, `unknown-provider`, `unknown-viewer`).
   */
  reason?: string
  /** The underlying error (a provider's throw, a decoding failure), when there was one. */
  error?: unknown
}

/** A peer in an event: the roster entry, also under the published contract's names. */
export interface SessionEventPeer extends PeerInfo {
  /** `id` and `name` under the contract's names. */
  userId: string
  /** `name`, under the contract's name. */
  userName: string
  /** This user's colour for the session ('#rrggbb'): the same on every page, far from every other peer's. */
  color: string
}

/** A peer of the current session as this controller sees it (`getPeers()`), itself included. */
export interface SessionPeer extends SessionEventPeer {
  /** In the session and heard from lately (a peer silent past the soft timeout is not). */
  connected: boolean
  /** Position in the failover succession (0 = host). */
  rank: number
  /** This is the local controller. */
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

/** An open seat in the session (`createInvite()`): one guest, once, until `expiresAt`. */
export interface SessionInvite {
  /** Names the seat; `admit` is told which seat a guest redeems. */
  inviteId: string
  /** `baseUrl` with its fragment replaced by `#session=…`: what the guest opens. */
  url: string
  /** `#session=<blob>` */
  fragment: string
  /** The blob alone, for pasting into a guest's join field. */
  code: string
  /** When the seat closes, in ms on the controller's clock (`Date.now()` with the system clock). */
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
  /** Names the invite (`revokeInvite`, `reissueInvite`). */
  inviteId: string
  /** The link to send. */
  url: string
  /** The paste code of a seat still open (a room's first open seat), for the paste fallback. */
  code: string
  /** When it closes, in ms on the controller's clock. */
  expiresAt: number
  /** What its guests may do. */
  access: SessionAccess
  /** Guests it seats: 1, or more for a room link. */
  seats: number
  /** Seats taken so far. */
  seated: number
  /** It goes through the signalling relay. */
  relayed: boolean
  /** Where it stands. */
  status: SessionInviteStatus
  /** What happened, in words for the host. */
  message: string
}

/** What a guest can see of an invite before joining it (`previewInvite`). */
export interface SessionInvitePreview {
  /** Who invites, as the host's page named itself; null for a pasted code (it does not say). */
  invitedBy: string | null
  /** When it closes, in ms since the epoch. */
  expiresAt: number
  /** What the guest may do there; null for a pasted code (it does not say). */
  access: SessionAccess | null
  /** For a room link: its seats and how many are still free. */
  seats: number
  /** Seats still free. */
  open: number
  /** It goes through the signalling relay. */
  relayed: boolean
  /**
   * The host's `provision()` carried in the invite (e.g. its plugin set), read without
   * joining: load what it names now, while `guardPluginLoad` still allows it, then join.
   */
  provision?: unknown
}

/** The host's relay listener (see src/relay/listener.ts), for the page to show. */
export type { RelayListenerState } from './relay/listener.js'

/** The host's final save: every provider's state at the last sequence number. */
export interface SessionFinalSave {
  /** The session saved. */
  sessionId: string
  /** The host sequence number the state reflects. */
  seq: number
  /** Digest of `entries`: equal digests, equal state. */
  digest: string
  /** One entry per provider (per viewer, for per-viewer providers): `p` the provider id, `w` the viewer id (null for global), `d` what its `snapshot()` returned. */
  entries: Array<{
    /** The provider's id. */
    p: string
    /** The viewer's id, or null for a global provider. */
    w: string | null
    /** What the provider's `snapshot()` returned. */
    d: unknown
  }>
  /** Everyone who took part, with when they joined and (for those gone) left: `saved.importFile` keeps them. */
  peers: SavedPeer[]
}

/** Every event a controller emits, by name, with its payload: `controller.on(name, fn)`. */
export type SessionEvents = {
  /** Host: `saveAndEnd()` collected every provider's state; write it wherever the app keeps documents. */
  'session-final-save': SessionFinalSave
  /** In a session: as host at `start()`, as guest when the host's hello arrives. */
  'session-started': {
    /** The session's id, the same on every peer. */
    sessionId: string
    /** The role this controller starts with. */
    role: PeerRole
    /** This user, as the others see it. */
    self: PeerInfo
  }
  /** The session is over here (state back to `idle`); `reason` says why, e.g. `left`, `host-ended`, `removed` (kicked), `join-failed`, `isolated`, `cut-off`. */
  'session-ended': {
    /** The session that ended. */
    sessionId: string
    /** Why, in a word a program can act on. */
    reason: string
  }
  /** A peer is in the session (admitted by this host, or new in the host's roster). */
  'session-peer-joined': {
    /** Who joined. */
    peer: SessionEventPeer
  }
  /** A peer left, fell silent past the hard timeout, or was removed. */
  'session-peer-dropped': {
    /** Who is gone. */
    peer: SessionEventPeer
    /** Why, e.g. `left`, `timeout`, `removed`, `link-closed: …`. */
    reason: string
  }
  /** This controller's role: set at start or join, `host` after an election, `none` at the end. */
  'session-role-changed': {
    /** The role now; `none` when the session ended. */
    role: SessionRole
    /** The role before; `none` when the session began. */
    previous: SessionRole
  }
  /** A link has been silent past the soft timeout; the state is `reconnecting` until it speaks again. */
  'session-reconnecting': {
    /** The peer whose link went quiet. */
    peerId: string
  }
  /** Every lifecycle move (`TRANSITIONS` lists the legal ones). */
  'session-state-changed': {
    /** The state now. */
    state: SessionState
    /** The state before. */
    previous: SessionState
  }
  /** Guest: the host is gone (silence, goodbye or a closed link); an election follows. */
  'session-host-lost': {
    /** The lost host's user id. */
    hostId: string
  }
  /** Guest: bytes of the host's snapshot so far, for a progress bar. */
  'session-bootstrap-progress': TransferProgress
  /**
   * This page has fallen behind on what it received (`behind: true`: many changes wait to be
   * applied, or some have waited long), and later has caught up (`behind: false`). Show
   * "Catching up…" meanwhile, rather than a page that seems stuck. Raised only when that
   * changes, with hysteresis (bounds in `DEFAULT_BACKLOG`); a session's end ends it too,
   * without this event. Mostly a guest's (a long stream of the host's changes); a host's
   * queue of guests' changes counts alike.
   */
  'session-catching-up': {
    /** Behind now, or caught up again. */
    behind: boolean
    /** Messages waiting to be handled (or being handled) at that moment. */
    pending: number
  }
  /** Guest: every provider has its state from the host's snapshot. */
  'session-bootstrap-complete': {
    /** How many provider (and viewer) states the snapshot held. */
    entries: number
    /** The host sequence number the snapshot reflects. */
    seq: number
  }
  /** Refused input, a provider's failure, a refused change: the session goes on. */
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
   * Guest: the host has not connected within `relayPickupMs` of a relayed answer, or
   * `pastePickupMs` of an answer code to be pasted (it may have gone unsent, or the invite
   * was already used by someone else). The join goes on until the invite expires or
   * `joinTimeoutMs`; `answerCode` can be sent to the host by hand.
   */
  'session-answer-unclaimed': {
    /** This guest's answer code, to send to the host by hand. */
    answerCode: string
    /** How long the guest has waited. */
    waitedMs: number
    /** The answer went through the relay (else it is for the host to paste). */
    relayed: boolean
    /** What to do, in words for the guest. */
    message: string
  }
}
