/**
 * Reading journals and saved sessions back: every record validated whole, earlier layouts
 * migrated, anything else refused with a `JournalError` before a byte of it is used.
 * Loaded with the first `resume()` or saved-session call, not with the page.
 */
import * as v from 'valibot'
import { JournalError } from '../errors.js'
import { JOURNAL_VERSION, type RawJournal, type SavedSession, type SessionJournal } from './store.js'

const count = v.pipe(v.number(), v.safeInteger(), v.minValue(0))
const text = v.pipe(v.string(), v.maxLength(256))
const role = v.picklist(['host', 'guest'])
const entry = v.object({ p: text, w: v.nullable(text), d: v.unknown() })
const deltaSchema = v.object({ seq: count, bytes: v.instance(Uint8Array) })
const snapshot = v.object({ seq: count, ids: v.array(text), entries: v.array(entry), held: v.optional(v.array(deltaSchema)), own: v.optional(v.array(v.instance(Uint8Array))) })

const headSchema = v.object({
  v: v.literal(JOURNAL_VERSION),
  identity: v.object({
    userId: text, name: text, color: v.optional(text), role, rank: count, sessionId: text, epoch: count, lastSeenSeq: count, resumeToken: v.optional(text),
  }),
  snapshot,
  updatedAt: v.number(),
  bytes: count,
})
const intentSchema = v.object({ intentId: text, providerId: text, payload: v.record(v.string(), v.unknown()) })
const savedSchema = v.object({
  v: v.literal(JOURNAL_VERSION),
  name: text,
  sessionId: text,
  savedAt: v.number(),
  size: count,
  peers: v.array(v.object({ id: text, name: text, role, since: v.optional(v.number()), until: v.optional(v.number()) })),
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

