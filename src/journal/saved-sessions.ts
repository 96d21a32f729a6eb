/**
 * Saved sessions, local to one browser profile: a state kept under a unique name, to open
 * again later as a new live session (this page hosting it). Like a ledger of sessions:
 * list, save, open, import a "Save & end" file, clone (a branch of the state, not of the
 * live link), remove, clear. A missing or taken name is a `JournalError`, and a record of
 * another layout is migrated or refused whole.
 */
import * as v from 'valibot'
import { JournalError } from '../errors.js'
import { readSaved } from './read.js'
import type { Journal, JournalEntry, SavedPeer, SavedSession, SavedSummary } from './store.js'

export interface SavedSessionsHost {
  journal(): Promise<Journal | null>
  /** This page's state now (labelled with the host sequence number it reflects) and who is in its session. */
  current(): Promise<{ sessionId: string; seq: number; entries: JournalEntry[]; peers: SavedPeer[] }>
  /** Puts a saved state into this page's providers and hosts a new live session from it. */
  open(saved: SavedSession): Promise<void>
  now(): number
}

const MAX_NAME = 256

/** A "Save & end" file as the controller's `save()` writes it (the demo adds `peers` and more; extra fields are ignored). */
const savedFileSchema = v.object({
  sessionId: v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_NAME)),
  seq: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
  entries: v.array(v.object({ p: v.pipe(v.string(), v.maxLength(MAX_NAME)), w: v.nullable(v.pipe(v.string(), v.maxLength(MAX_NAME))), d: v.unknown() })),
  peers: v.optional(v.array(v.object({ id: v.string(), name: v.string(), role: v.optional(v.picklist(['host', 'guest'])), since: v.optional(v.number()), until: v.optional(v.number()) }))),
})

export class SavedSessions {
  constructor(private readonly host: SavedSessionsHost) {}

  /** Every saved session, the most recent first. */
  async list(): Promise<SavedSummary[]> {
    return (await this.store()).listSaved().then((all) => all.sort((a, b) => b.savedAt - a.savedAt))
  }

  /** Saves this page's state now under `name` (unique). */
  async saveAs(name: string): Promise<SavedSummary> {
    const { sessionId, seq, entries, peers } = await this.host.current()
    return this.add({ name: checkName(name), sessionId, savedAt: this.host.now(), size: 0, peers, seq, entries })
  }

  /** Hosts a new live session from the state saved as `name`. */
  async open(name: string): Promise<SavedSummary> {
    const saved = await this.get(name)
    await this.host.open(saved)
    return summaryOf(saved)
  }

  /**
   * Keeps a "Save & end" file (its text, a Blob or File, or the parsed object) as a saved
   * session, under `name` or `session-<id>`; `open` starts it.
   */
  async importFile(file: string | Blob | object, name?: string): Promise<SavedSummary> {
    let parsed: unknown = file
    try {
      if (typeof file === 'string') parsed = JSON.parse(file)
      else if (typeof Blob !== 'undefined' && file instanceof Blob) parsed = JSON.parse(await file.text())
    } catch (cause) {
      throw new JournalError('saved-invalid', 'This file is not a saved session (not JSON).', { cause })
    }
    const result = v.safeParse(savedFileSchema, parsed)
    if (!result.success) throw new JournalError('saved-invalid', `This file is not a saved session: ${result.issues[0].message} at ${v.getDotPath(result.issues[0]) ?? 'the top'}.`)
    const { sessionId, seq, entries, peers = [] } = result.output
    return this.add({
      name: checkName(name ?? `session-${sessionId}`), sessionId, savedAt: this.host.now(), size: 0, seq, entries,
      peers: peers.map(({ id, name: peerName, role, since, until }) => ({ id, name: peerName, role: role ?? 'guest', ...(since !== undefined ? { since } : {}), ...(until !== undefined ? { until } : {}) })),
    })
  }

  /** A copy of `name`'s state under `newName`: a branch of the state, not of any live session. */
  async clone(name: string, newName: string): Promise<SavedSummary> {
    const saved = await this.get(name)
    return this.add({ ...saved, name: checkName(newName), savedAt: this.host.now() })
  }

  async remove(name: string): Promise<void> {
    if (!(await (await this.store()).removeSaved(name))) throw missing(name)
  }

  async clear(): Promise<void> {
    await (await this.store()).clearSaved()
  }

  private async get(name: string): Promise<SavedSession> {
    const raw = await (await this.store()).getSaved(name)
    if (raw === undefined) throw missing(name)
    return readSaved(raw)
  }

  private async add(saved: SavedSession): Promise<SavedSummary> {
    const sized = { ...saved, size: JSON.stringify(saved.entries).length }
    await (await this.store()).addSaved(sized)
    return summaryOf(sized)
  }

  private async store(): Promise<Journal> {
    const store = await this.host.journal()
    if (!store) throw new JournalError('journal-off', 'Saved sessions need the session journal, which is off on this page (no IndexedDB, or `journal: false`).')
    return store
  }
}

function checkName(name: string): string {
  const trimmed = typeof name === 'string' ? name.trim() : ''
  if (!trimmed || trimmed.length > MAX_NAME) throw new JournalError('saved-invalid', `A saved session needs a name of 1 to ${MAX_NAME} characters.`)
  return trimmed
}

function missing(name: string): JournalError {
  return new JournalError('saved-missing', `No saved session is named "${name}".`)
}

function summaryOf({ entries: _entries, ...summary }: SavedSession): SavedSummary {
  return summary
}
