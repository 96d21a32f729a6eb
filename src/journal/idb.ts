/**
 * The journal in IndexedDB (through `idb`), one database per browser profile and origin.
 * Loaded on first use only (the controller imports this module dynamically), so an app
 * that turns the journal off ships none of it. Each batch is one transaction: a crash
 * loses at most the batch being written, never half of one.
 *
 * Stores: `heads` (one per journal: identity, size, time), `snapshots` (one per journal, its
 * state as of its last compaction), `deltas` and `outbox` (keyed [key, …], so a journal's rows
 * are one key range), `saved` (by name). A batch's deltas are one row, keyed by its last
 * sequence number: one write per batch, not per delta, and compaction drops the rows a
 * snapshot wholly covers. The snapshot has a store of its own so that a batch of deltas
 * writes a few hundred bytes, not the whole state again (layout 1 kept it in the head: every
 * batch read and rewrote it; `upgrade` moves it out).
 */
import { type DBSchema, type IDBPDatabase, openDB } from 'idb'
import { JournalError } from '../errors.js'
import {
  EMPTY_SNAPSHOT, headOf, type Journal, type JournalBatch, type JournalDelta, type JournalIntent, type JournalSnapshot, type JournalSummary,
  type RawJournal, type SavedSession, type SavedSummary, savedRecord,
} from './store.js'

interface Head {
  updatedAt: number
  bytes: number
}

interface Schema extends DBSchema {
  heads: { key: string; value: Head & Record<string, unknown> }
  snapshots: { key: string; value: JournalSnapshot }
  deltas: { key: [string, number]; value: { key: string; seq: number; deltas: JournalDelta[] } }
  outbox: { key: [string, string]; value: JournalIntent & { key: string } }
  saved: { key: string; value: SavedSession & Record<string, unknown> }
}

/** The database's layout (its object stores), apart from the records' own `JOURNAL_VERSION`. */
const DB_VERSION = 2

export class IdbJournal implements Journal {
  private db: Promise<IDBPDatabase<Schema>> | undefined

  constructor(private readonly name = 'session-sync-journal') {}

  private open(): Promise<IDBPDatabase<Schema>> {
    this.db ??= openDB<Schema>(this.name, DB_VERSION, {
      async upgrade(db, oldVersion, _newVersion, tx) {
        if (oldVersion < 1) {
          db.createObjectStore('heads')
          db.createObjectStore('deltas', { keyPath: ['key', 'seq'] })
          db.createObjectStore('outbox', { keyPath: ['key', 'intentId'] })
          db.createObjectStore('saved', { keyPath: 'name' })
        }
        if (oldVersion < 2) {
          const snapshots = db.createObjectStore('snapshots')
          // Layout 1 kept each journal's snapshot in its head: moved out, in this upgrade's transaction.
          for (let cursor = await tx.objectStore('heads').openCursor(); cursor; cursor = await cursor.continue()) {
            const { snapshot, ...head } = cursor.value as Schema['heads']['value'] & { snapshot?: JournalSnapshot }
            if (snapshot === undefined) continue
            await snapshots.put(snapshot, cursor.key)
            await cursor.update(head as Schema['heads']['value'])
          }
        }
      },
    })
    return this.db
  }

  async write(key: string, batch: JournalBatch): Promise<void> {
    const db = await this.open()
    await guard(async () => {
      const tx = db.transaction(['heads', 'snapshots', 'deltas', 'outbox'], 'readwrite')
      const writes: Array<Promise<unknown>> = [tx.objectStore('heads').put(headOf(batch) as Schema['heads']['value'], key)]
      const deltas = tx.objectStore('deltas')
      if (batch.snapshot) {
        writes.push(tx.objectStore('snapshots').put(batch.snapshot, key))
        writes.push(deltas.delete(batch.replacesLog ? IDBKeyRange.bound([key], [key, []]) : IDBKeyRange.bound([key, 0], [key, batch.snapshot.seq])))
      }
      const last = batch.deltas.at(-1)
      if (last) writes.push(deltas.put({ key, seq: last.seq, deltas: batch.deltas }))
      const outbox = tx.objectStore('outbox')
      for (const intent of batch.queued) writes.push(outbox.put({ key, ...intent }))
      for (const id of batch.settled) writes.push(outbox.delete([key, id]))
      await Promise.all([...writes, tx.done])
    })
  }

  async read(key: string): Promise<RawJournal | undefined> {
    const db = await this.open()
    const tx = db.transaction(['heads', 'snapshots', 'deltas', 'outbox'], 'readonly')
    const range = IDBKeyRange.bound([key], [key, []])
    const [head, snapshot, deltas, outbox] = await Promise.all([
      tx.objectStore('heads').get(key),
      tx.objectStore('snapshots').get(key),
      tx.objectStore('deltas').getAll(range),
      tx.objectStore('outbox').getAll(range),
    ])
    if (!head) return undefined
    // A row the last snapshot covers only in part keeps its earlier deltas: they are not the log's any more.
    const since = snapshot?.seq ?? 0
    return {
      head: { ...head, snapshot: snapshot ?? EMPTY_SNAPSHOT },
      deltas: deltas.flatMap((row) => row.deltas).filter((d) => d.seq > since),
      outbox: outbox.map(({ key: _id, ...o }) => o),
    }
  }

  async sessions(): Promise<JournalSummary[]> {
    const db = await this.open()
    const tx = db.transaction('heads', 'readonly')
    const [keys, heads] = await Promise.all([tx.store.getAllKeys(), tx.store.getAll()])
    return heads.map((head, i) => ({ key: keys[i]!, updatedAt: head.updatedAt, bytes: head.bytes }))
  }

  async drop(key: string): Promise<void> {
    const db = await this.open()
    const tx = db.transaction(['heads', 'snapshots', 'deltas', 'outbox'], 'readwrite')
    const range = IDBKeyRange.bound([key], [key, []])
    await Promise.all([tx.objectStore('heads').delete(key), tx.objectStore('snapshots').delete(key), tx.objectStore('deltas').delete(range), tx.objectStore('outbox').delete(range), tx.done])
  }

  async listSaved(): Promise<SavedSummary[]> {
    const all = await (await this.open()).getAll('saved')
    return all.map(({ entries: _entries, v: _v, ...summary }) => summary as SavedSummary)
  }

  async getSaved(name: string): Promise<unknown> {
    return (await this.open()).get('saved', name)
  }

  async addSaved(saved: SavedSession): Promise<void> {
    const db = await this.open()
    await guard(async () => {
      try {
        await db.add('saved', savedRecord(saved) as Schema['saved']['value'])
      } catch (error) {
        if ((error as DOMException)?.name === 'ConstraintError') throw new JournalError('saved-duplicate', `A saved session named "${saved.name}" exists already.`)
        throw error
      }
    })
  }

  async removeSaved(name: string): Promise<boolean> {
    const db = await this.open()
    const tx = db.transaction('saved', 'readwrite')
    const found = (await tx.store.getKey(name)) !== undefined
    await Promise.all([tx.store.delete(name), tx.done])
    return found
  }

  async clearSaved(): Promise<void> {
    await (await this.open()).clear('saved')
  }
}

/** A browser's "disk full" becomes a JournalError the core turns into a diagnostic and an eviction. */
async function guard(write: () => Promise<void>): Promise<void> {
  try {
    await write()
  } catch (error) {
    if ((error as DOMException)?.name === 'QuotaExceededError') throw new JournalError('journal-quota', 'The browser refused to store more of the journal (quota exceeded).', { cause: error })
    throw error
  }
}
