/**
 * The journal seam: where a page keeps its sessions so that they outlive the page. The
 * core writes batches and reads one session back; an implementation stores them
 * (IndexedDB in browsers, memory in tests and the simulator). Every record is keyed by
 * its session id, so two sessions' journals never mix, and every record read back is
 * validated whole before any of it is used: a journal is refused, never half-read.
 */
import * as v from 'valibot'
import { JournalError } from '../errors.js'

/** The layout of the records below. A record of another version is migrated or refused. */
export const JOURNAL_VERSION = 1

/** Who this page was in a session, to come back as the same peer. */
export interface JournalIdentity {
  userId: string
  name: string
  colour?: string
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
  sessionId: string
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
 * Storage of journals and saved sessions for one browser profile (or one test). Writes
 * of one session are applied in call order; each batch is atomic. A quota failure
 * rejects with a `JournalError` coded `journal-quota`.
 */
export interface Journal {
  write(sessionId: string, batch: JournalBatch): Promise<void>
  /** The raw records of one session, or undefined; `readSession` validates them. */
  read(sessionId: string): Promise<RawJournal | undefined>
  sessions(): Promise<JournalSummary[]>
  drop(sessionId: string): Promise<void>
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

const count = v.pipe(v.number(), v.safeInteger(), v.minValue(0))
const text = v.pipe(v.string(), v.maxLength(256))
const role = v.picklist(['host', 'guest'])
const entry = v.object({ p: text, w: v.nullable(text), d: v.unknown() })
const snapshot = v.object({ seq: count, ids: v.array(text), entries: v.array(entry) })

const headSchema = v.object({
  v: v.literal(JOURNAL_VERSION),
  identity: v.object({
    userId: text, name: text, colour: v.optional(text), role, rank: count, sessionId: text, epoch: count, lastSeenSeq: count,
  }),
  snapshot,
  updatedAt: v.number(),
  bytes: count,
})
const deltaSchema = v.object({ seq: count, bytes: v.instance(Uint8Array) })
const intentSchema = v.object({ intentId: text, providerId: text, payload: v.record(v.string(), v.unknown()) })
const savedSchema = v.object({
  v: v.literal(JOURNAL_VERSION),
  name: text,
  sessionId: text,
  savedAt: v.number(),
  size: count,
  peers: v.array(v.object({ id: text, name: text, role, since: v.optional(v.number()) })),
  seq: count,
  entries: v.array(entry),
})

/**
 * Earlier layouts, each lifted one version up. None yet: version 1 is the first. A record
 * with no way up (or from a newer page) is refused with `journal-version`.
 */
const MIGRATIONS: Record<number, (record: Record<string, unknown>) => Record<string, unknown>> = {}

function migrate(record: unknown, what: string): unknown {
  if (typeof record !== 'object' || record === null) throw new JournalError('journal-corrupt', `The ${what} is not a record.`)
  let current = record as Record<string, unknown>
  for (let version = current.v; version !== JOURNAL_VERSION; version = current.v) {
    const up = typeof version === 'number' ? MIGRATIONS[version] : undefined
    if (!up) throw new JournalError('journal-version', `The ${what} was written by another version of session-sync (layout ${String(version)}; this page reads ${JOURNAL_VERSION}).`)
    current = up(current)
  }
  return current
}

function check<T>(schema: v.GenericSchema<unknown, T>, raw: unknown, what: string): T {
  const result = v.safeParse(schema, raw)
  if (result.success) return result.output
  const where = v.getDotPath(result.issues[0]) ?? ''
  throw new JournalError('journal-corrupt', `The ${what} is damaged${where ? ` at ${where}` : ''}: ${result.issues[0].message}.`)
}

function parse<T>(schema: v.GenericSchema<unknown, T>, raw: unknown, what: string): T {
  return check(schema, migrate(raw, what), what)
}

/** Validates a session's records whole; throws `JournalError` (version or corrupt) and uses none of them then. */
export function readSession(raw: RawJournal): SessionJournal {
  const head = parse(headSchema, raw.head, 'session journal')
  const deltas = check(v.array(deltaSchema), raw.deltas, 'session journal\'s log')
  const outbox = check(v.array(intentSchema), raw.outbox, 'session journal\'s outbox')
  return { identity: head.identity, snapshot: head.snapshot, deltas: deltas.sort((a, b) => a.seq - b.seq), outbox, updatedAt: head.updatedAt, bytes: head.bytes }
}

export function readSaved(raw: unknown): SavedSession {
  const { v: _version, ...saved } = parse(savedSchema, raw, 'saved session')
  return saved
}

/** The head record of a session, as an implementation stores it. */
export function headOf(batch: JournalBatch, previous: JournalSnapshot | undefined): Record<string, unknown> {
  return { v: JOURNAL_VERSION, identity: batch.identity, snapshot: batch.snapshot ?? previous ?? { seq: 0, ids: [], entries: [] }, updatedAt: batch.at, bytes: batch.bytes }
}

export function savedRecord(saved: SavedSession): Record<string, unknown> {
  return { v: JOURNAL_VERSION, ...saved }
}
