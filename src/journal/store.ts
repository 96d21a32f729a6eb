/**
 * The journal seam: where a page keeps its sessions so that they outlive the page. The
 * core writes batches and reads one session back; an implementation stores them
 * (IndexedDB in browsers, memory in tests and the simulator). Every record is keyed by
 * its session id, so two sessions' journals never mix, and every record read back is
 * validated whole (read.ts) before any of it is used: a journal is refused, never half-read.
 */
/** The layout of the records below. A record of another version is migrated or refused. */
export const JOURNAL_VERSION = 1

/** Who this page was in a session, to come back as the same peer. */
export interface JournalIdentity {
  /** This user's id in the session. */
  userId: string
  /** This user's display name. */
  name: string
  /** The colour the host gave this peer. */
  color?: string
  /** This page's role when last written. */
  role: 'host' | 'guest'
  /** Position in the failover succession when last written (0 = host). */
  rank: number
  /** The session. */
  sessionId: string
  /** The host's epoch when last written (it grows with each failover). */
  epoch: number
  /** The last host sequence number applied here. */
  lastSeenSeq: number
  /** The secret the host gave this peer at admission: it lets a resume replace a link the host still holds. */
  resumeToken?: string
}

/** One provider's state (per viewer, for per-viewer providers), as in a save. */
export interface JournalEntry {
  /** The provider's id. */
  p: string
  /** The viewer's id, or null for a global provider. */
  w: string | null
  /** What the provider's `snapshot()` returned. */
  d: unknown
}

/** Every provider's state at host sequence `seq`, and the intent ids it reflects. */
export interface JournalSnapshot {
  /** The host sequence number it reflects. */
  seq: number
  /** The intent ids it reflects. */
  ids: string[]
  /** The providers' states. */
  entries: JournalEntry[]
  /** Changes (up to `seq`) for providers the page had not, as deltas of those changes alone: kept through compaction until one registers. */
  held?: JournalDelta[]
  /** This page's own changes (delta messages' bytes), whether the state holds them or not: a successor may lack them. */
  own?: Uint8Array[]
}

/** An authoritative delta applied here, as its wire bytes. */
export interface JournalDelta {
  /** Its host sequence number. */
  seq: number
  /** The message as it came. */
  bytes: Uint8Array
}

/** A change made here that the host has not confirmed. */
export interface JournalIntent {
  /** Its id, kept to send it again unchanged. */
  intentId: string
  /** Its provider. */
  providerId: string
  /** The change. */
  payload: Record<string, unknown>
}

/** What one batch changes in one session's journal: written all or nothing. */
export interface JournalBatch {
  /** Who this page is in the session, now. */
  identity: JournalIdentity
  /** Replaces the snapshot and drops the deltas it covers (compaction). */
  snapshot?: JournalSnapshot
  /**
   * The snapshot came from a host and replaced this page's state: every stored delta goes, even
   * past its sequence number (those are another lineage's, a host's that lost an election).
   */
  replacesLog?: boolean
  /** Authoritative deltas applied since the last batch. */
  deltas: JournalDelta[]
  /** Changes made here, not yet confirmed. */
  queued: JournalIntent[]
  /** Ids of changes the host confirmed since. */
  settled: string[]
  /** Clock time of the batch. */
  at: number
  /** The session's journal size after this batch, in bytes (approximate: payload lengths). */
  bytes: number
}

/** One session's journal as read back (validated by `readSession`). */
export interface SessionJournal {
  identity: JournalIdentity
  snapshot: JournalSnapshot
  deltas: JournalDelta[]
  outbox: JournalIntent[]
  updatedAt: number
  bytes: number
}

/** One journal in the store: which, when last written, how large. */
export interface JournalSummary {
  /** The journal's key (its session and user: see `Journal`). */
  key: string
  /** Clock time of its last batch. */
  updatedAt: number
  /** Its size, in bytes (approximate). */
  bytes: number
}

/** Someone who took part in a saved session. */
export interface SavedPeer {
  /** Their user id. */
  id: string
  /** Their display name. */
  name: string
  /** Their role when it was saved. */
  role: 'host' | 'guest'
  /** Clock time when this page first saw the peer in the session. */
  since?: number
  /** Clock time when the peer left (or was dropped); absent while it was still there at the save. */
  until?: number
}

/** A session saved under a name: a state to open again as a new live session. */
export interface SavedSession {
  /** Its name, unique in the profile. */
  name: string
  /** The live session it was saved from. */
  sessionId: string
  /** Clock time of the save. */
  savedAt: number
  /** Bytes of the state as stored (JSON length). */
  size: number
  /** Everyone who took part. */
  peers: SavedPeer[]
  /** The host sequence number the state reflects. */
  seq: number
  /** The providers' states. */
  entries: JournalEntry[]
}

/** A saved session without its state, as `saved.list()` gives it. */
export type SavedSummary = Omit<SavedSession, 'entries'>

/**
 * Storage of journals and saved sessions for one browser profile (or one test). A journal
 * is keyed by its session and user (two controllers of one session in one profile keep
 * two). Writes of one journal are applied in call order; each batch is atomic. A quota failure
 * rejects with a `JournalError` coded `journal-quota`.
 */
export interface Journal {
  /** Applies one batch to one journal, all or nothing. */
  write(key: string, batch: JournalBatch): Promise<void>
  /** The raw records of one journal, or undefined; `readSession` (read.ts) validates them. */
  read(key: string): Promise<RawJournal | undefined>
  /** Every journal in the store. */
  sessions(): Promise<JournalSummary[]>
  /** Deletes one journal. */
  drop(key: string): Promise<void>
  /** Every saved session, without its state. */
  listSaved(): Promise<SavedSummary[]>
  /** The raw saved record, or undefined; `readSaved` validates it. */
  getSaved(name: string): Promise<unknown>
  /** Stores a saved session; rejects with `saved-duplicate` when the name is taken. */
  addSaved(saved: SavedSession): Promise<void>
  /** Deletes a saved session; false when there was none of that name. */
  removeSaved(name: string): Promise<boolean>
  /** Deletes every saved session. */
  clearSaved(): Promise<void>
}

/** Per-tab storage (`sessionStorage` in browsers): a reloaded tab finds its session here, another tab does not. */
export type TabStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>

/** A session's records as stored, before validation. */
export interface RawJournal {
  /** The identity and snapshot record. */
  head: unknown
  /** The delta records. */
  deltas: unknown[]
  /** The unconfirmed-change records. */
  outbox: unknown[]
}

/** A record's size as the journal counts it: its JSON length (0 when it has none). */
export function approximateSize(value: unknown): number {
  try {
    return JSON.stringify(value)?.length ?? 0
  } catch {
    return 0
  }
}

/** The snapshot of a journal that has not compacted yet. */
export const EMPTY_SNAPSHOT: JournalSnapshot = Object.freeze({ seq: 0, ids: [], entries: [] })

/** The head record of a session as of a batch, but its snapshot (which an implementation may keep apart). */
export function headOf(batch: JournalBatch): Record<string, unknown> {
  return { v: JOURNAL_VERSION, identity: batch.identity, updatedAt: batch.at, bytes: batch.bytes }
}

export function savedRecord(saved: SavedSession): Record<string, unknown> {
  return { v: JOURNAL_VERSION, ...saved }
}

/** What `resume()` found: the session this tab was in, and how it goes back. */
export interface ResumeResult {
  /** The session this tab was in. */
  sessionId: string
  /** The journal's last host sequence number: the rejoined peer is sent only what came after it. */
  seq: number
  /** No invite was given: ask whoever hosts the session now for a fresh one, then `join()` it (identity and outbox are kept). */
  needsInvite: boolean
  /** The answer for the host, when an invite was given. */
  join?: {
    /** The answer code, for the host (already delivered when `relayed`). */
    answerCode: string
    /** It went back through the relay. */
    relayed: boolean
  }
}
