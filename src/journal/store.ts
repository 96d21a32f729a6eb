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
  userId: string
  name: string
  /** The colour the host gave this peer. */
  color?: string
  role: 'host' | 'guest'
  /** Position in the failover succession when last written (0 = host). */
  rank: number
  sessionId: string
  epoch: number
  /** The last host sequence number applied here. */
  lastSeenSeq: number
}

export interface JournalEntry {
  p: string
  w: string | null
  d: unknown
}

/** Every provider's state at host sequence `seq`, and the intent ids it reflects. */
export interface JournalSnapshot {
  seq: number
  ids: string[]
  entries: JournalEntry[]
}

/** An authoritative delta applied here, as its wire bytes. */
export interface JournalDelta {
  seq: number
  bytes: Uint8Array
}

/** A change made here that the host has not confirmed. */
export interface JournalIntent {
  intentId: string
  providerId: string
  payload: Record<string, unknown>
}

/** What one batch changes in one session's journal: written all or nothing. */
export interface JournalBatch {
  identity: JournalIdentity
  /** Replaces the snapshot and drops the deltas it covers (compaction). */
  snapshot?: JournalSnapshot
  deltas: JournalDelta[]
  queued: JournalIntent[]
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

export interface JournalSummary {
  /** The journal's key (its session and user: see `Journal`). */
  key: string
  updatedAt: number
  bytes: number
}

export interface SavedPeer {
  id: string
  name: string
  role: 'host' | 'guest'
  /** Clock time when this page first saw the peer in the session (absent: before the page joined). */
  since?: number
}

/** A session saved under a name: a state to open again as a new live session. */
export interface SavedSession {
  name: string
  sessionId: string
  savedAt: number
  /** Bytes of the state as stored (JSON length). */
  size: number
  peers: SavedPeer[]
  seq: number
  entries: JournalEntry[]
}

export type SavedSummary = Omit<SavedSession, 'entries'>

/**
 * Storage of journals and saved sessions for one browser profile (or one test). A journal
 * is keyed by its session and user (two controllers of one session in one profile keep
 * two). Writes of one journal are applied in call order; each batch is atomic. A quota failure
 * rejects with a `JournalError` coded `journal-quota`.
 */
export interface Journal {
  write(key: string, batch: JournalBatch): Promise<void>
  /** The raw records of one journal, or undefined; `readSession` (read.ts) validates them. */
  read(key: string): Promise<RawJournal | undefined>
  sessions(): Promise<JournalSummary[]>
  drop(key: string): Promise<void>
  listSaved(): Promise<SavedSummary[]>
  /** The raw saved record, or undefined; `readSaved` validates it. */
  getSaved(name: string): Promise<unknown>
  /** Stores a saved session; rejects with `saved-duplicate` when the name is taken. */
  addSaved(saved: SavedSession): Promise<void>
  removeSaved(name: string): Promise<boolean>
  clearSaved(): Promise<void>
}

/** Per-tab storage (`sessionStorage` in browsers): a reloaded tab finds its session here, another tab does not. */
export type TabStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>

/** A session's records as stored, before validation. */
export interface RawJournal {
  head: unknown
  deltas: unknown[]
  outbox: unknown[]
}

/** The head record of a session, as an implementation stores it. */
export function headOf(batch: JournalBatch, previous: JournalSnapshot | undefined): Record<string, unknown> {
  return { v: JOURNAL_VERSION, identity: batch.identity, snapshot: batch.snapshot ?? previous ?? { seq: 0, ids: [], entries: [] }, updatedAt: batch.at, bytes: batch.bytes }
}

export function savedRecord(saved: SavedSession): Record<string, unknown> {
  return { v: JOURNAL_VERSION, ...saved }
}

/** What `resume()` found: the session this tab was in, and how it goes back. */
export interface ResumeResult {
  sessionId: string
  /** The journal's last host sequence number: the rejoined peer is sent only what came after it. */
  seq: number
  /** No invite was given: ask whoever hosts the session now for a fresh one, then `join()` it (identity and outbox are kept). */
  needsInvite: boolean
  /** The answer for the host, when an invite was given. */
  join?: { answerCode: string; relayed: boolean }
}
