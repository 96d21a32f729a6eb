/**
 * The Journal contract, run against both implementations: the in-memory one and the
 * IndexedDB one (on fake-indexeddb, an IndexedDB in plain JavaScript).
 */
import 'fake-indexeddb/auto'
import { describe, expect, it, vi } from 'vitest'
import { JournalError } from '../../src/errors.js'
import { IdbJournal } from '../../src/journal/idb.js'
import { MemoryJournal } from '../../src/journal/memory.js'
import { readSaved, readSession } from '../../src/journal/read.js'
import { JOURNAL_VERSION, type Journal, type JournalBatch } from '../../src/journal/store.js'

let dbs = 0
const implementations: Array<[string, () => Journal]> = [
  ['memory', () => new MemoryJournal()],
  ['indexeddb', () => new IdbJournal(`journal-test-${++dbs}`)],
]

const bytes = (text: string) => new TextEncoder().encode(text)

function batch(sessionId: string, over: Partial<JournalBatch> = {}): JournalBatch {
  return {
    identity: { userId: 'u1', name: 'Ada', role: 'guest', rank: 1, sessionId, epoch: 1, lastSeenSeq: 0 },
    deltas: [], queued: [], settled: [], at: 1, bytes: 10, ...over,
  }
}

describe.each(implementations)('Journal (%s)', (_name, make) => {
  it('keeps deltas, outbox and identity per session, and never mixes two sessions', async () => {
    const journal = make()
    await journal.write('s1', batch('s1', { deltas: [{ seq: 1, bytes: bytes('a') }, { seq: 2, bytes: bytes('b') }], queued: [{ intentId: 'i1', providerId: 'kv', payload: { x: 1 } }] }))
    await journal.write('s2', batch('s2', { deltas: [{ seq: 1, bytes: bytes('z') }] }))
    await journal.write('s1', batch('s1', { deltas: [{ seq: 3, bytes: bytes('c') }], settled: ['i1'], queued: [{ intentId: 'i2', providerId: 'kv', payload: { y: 2 } }], at: 5 }))
    const s1 = readSession((await journal.read('s1'))!)
    expect(s1.deltas.map((d) => [d.seq, new TextDecoder().decode(d.bytes)])).toEqual([[1, 'a'], [2, 'b'], [3, 'c']])
    expect(s1.outbox.map((o) => o.intentId)).toEqual(['i2'])
    expect(s1.updatedAt).toBe(5)
    const s2 = readSession((await journal.read('s2'))!)
    expect(s2.deltas.map((d) => d.seq)).toEqual([1])
    expect(s2.outbox).toEqual([])
    expect((await journal.sessions()).map((s) => s.key).sort()).toEqual(['s1', 's2'])
    await journal.drop('s1')
    expect(await journal.read('s1')).toBeUndefined()
    expect(await journal.read('s2')).toBeDefined()
  })

  it('compacts: a snapshot drops the deltas it covers and keeps the later ones', async () => {
    const journal = make()
    await journal.write('s', batch('s', { deltas: [1, 2, 3, 4].map((seq) => ({ seq, bytes: bytes(String(seq)) })) }))
    await journal.write('s', batch('s', { snapshot: { seq: 3, ids: ['i3'], entries: [{ p: 'kv', w: null, d: { a: 1 } }] } }))
    const read = readSession((await journal.read('s'))!)
    expect(read.snapshot.seq).toBe(3)
    expect(read.snapshot.entries).toEqual([{ p: 'kv', w: null, d: { a: 1 } }])
    expect(read.deltas.map((d) => d.seq)).toEqual([4])
  })

  it('keeps the snapshot through later batches of deltas, and drops it with the journal', async () => {
    const journal = make()
    const snapshot = { seq: 2, ids: ['i1', 'i2'], entries: [{ p: 'kv', w: null, d: { big: 'x'.repeat(1000) } }] }
    await journal.write('s', batch('s', { snapshot }))
    for (let seq = 3; seq <= 5; seq++) await journal.write('s', batch('s', { deltas: [{ seq, bytes: bytes(String(seq)) }], at: seq }))
    const read = readSession((await journal.read('s'))!)
    expect(read.snapshot).toEqual(snapshot)
    expect(read.deltas.map((d) => d.seq)).toEqual([3, 4, 5])
    expect(read.updatedAt).toBe(5)
    await journal.drop('s')
    await journal.write('s', batch('s', { deltas: [{ seq: 1, bytes: bytes('a') }] }))
    expect(readSession((await journal.read('s'))!).snapshot).toEqual({ seq: 0, ids: [], entries: [] })
  })

  it('saved sessions: unique names, a typed error for a taken one, remove and clear', async () => {
    const journal = make()
    const saved = { name: 'review', sessionId: 's', savedAt: 2, size: 3, peers: [{ id: 'u1', name: 'Ada', role: 'host' as const }], seq: 4, entries: [{ p: 'kv', w: null, d: { k: 1 } }] }
    await journal.addSaved(saved)
    await expect(journal.addSaved({ ...saved, savedAt: 3 })).rejects.toMatchObject({ code: 'saved-duplicate' })
    expect(readSaved(await journal.getSaved('review'))).toEqual(saved)
    expect(await journal.listSaved()).toEqual([{ name: 'review', sessionId: 's', savedAt: 2, size: 3, peers: saved.peers, seq: 4 }])
    expect(await journal.removeSaved('review')).toBe(true)
    expect(await journal.removeSaved('review')).toBe(false)
    await journal.addSaved(saved)
    await journal.clearSaved()
    expect(await journal.listSaved()).toEqual([])
  })

  it("keeps a snapshot's own changes beside it, through batches of deltas after it", async () => {
    const journal = make()
    const own = [bytes('{"t":"delta"}')]
    await journal.write('s', batch('s', { snapshot: { seq: 2, ids: ['i1'], entries: [], own } }))
    await journal.write('s', batch('s', { deltas: [{ seq: 3, bytes: bytes('c') }] }))
    expect(readSession((await journal.read('s'))!).snapshot.own).toEqual(own)
  })
})

describe('reading a journal back', () => {
  it('refuses a journal of another layout version whole, with a typed error', async () => {
    const journal = new MemoryJournal()
    await journal.write('s', batch('s', { deltas: [{ seq: 1, bytes: bytes('a') }] }))
    journal.tamper('s', (raw) => Object.assign(raw.head as object, { v: JOURNAL_VERSION + 1 }))
    const raw = (await journal.read('s'))!
    expect(() => readSession(raw)).toThrow(JournalError)
    expect(() => readSession(raw)).toThrow(expect.objectContaining({ code: 'journal-version' }))
  })

  it('refuses a damaged journal with journal-corrupt, naming where', async () => {
    const journal = new MemoryJournal()
    await journal.write('s', batch('s', { deltas: [{ seq: 1, bytes: bytes('a') }] }))
    journal.tamper('s', (raw) => raw.deltas.push({ seq: -1, bytes: 'not bytes' }))
    await expect(journal.read('s').then((raw) => readSession(raw!))).rejects.toMatchObject({ code: 'journal-corrupt' })
  })

  it('a memory journal with a quota refuses a write past it, keeping what it had', async () => {
    const journal = new MemoryJournal({ quotaBytes: 100 })
    await journal.write('old', batch('old', { bytes: 60 }))
    await expect(journal.write('new', batch('new', { bytes: 50 }))).rejects.toMatchObject({ code: 'journal-quota' })
    expect(await journal.read('new')).toBeUndefined()
    await journal.drop('old')
    await journal.write('new', batch('new', { bytes: 50 }))
    expect(await journal.read('new')).toBeDefined()
  })
})

describe('the IndexedDB layout', () => {
  it('writes a batch of deltas without reading or writing the snapshot again', async () => {
    const journal = new IdbJournal(`journal-test-${++dbs}`)
    const snapshot = { seq: 1, ids: ['i1'], entries: [{ p: 'kv', w: null, d: { big: 'x'.repeat(10_000) } }] }
    await journal.write('s', batch('s', { snapshot }))
    const stores: string[] = []
    const put = vi.spyOn(IDBObjectStore.prototype, 'put').mockName('put')
    const get = vi.spyOn(IDBObjectStore.prototype, 'get').mockName('get')
    try {
      await journal.write('s', batch('s', { deltas: [{ seq: 2, bytes: bytes('b') }] }))
      for (const call of [...put.mock.contexts, ...get.mock.contexts]) stores.push((call as IDBObjectStore).name)
      expect(get).not.toHaveBeenCalled()
    } finally {
      put.mockRestore()
      get.mockRestore()
    }
    expect(stores.sort()).toEqual(['deltas', 'heads'])
    expect(readSession((await journal.read('s'))!).snapshot).toEqual(snapshot)
  })

  it('moves the snapshots of a layout-1 database out of their heads when it opens it', async () => {
    const name = `journal-test-${++dbs}`
    const snapshot = { seq: 3, ids: ['i3'], entries: [{ p: 'kv', w: null, d: { a: 1 } }] }
    const identity = batch('s').identity
    // A database as layout 1 wrote it: the snapshot inside the head.
    await new Promise<void>((resolve, reject) => {
      const open = indexedDB.open(name, 1)
      open.onupgradeneeded = () => {
        const db = open.result
        db.createObjectStore('heads').put({ v: JOURNAL_VERSION, identity, snapshot, updatedAt: 7, bytes: 40 }, 's')
        db.createObjectStore('deltas', { keyPath: ['key', 'seq'] }).put({ key: 's', seq: 4, deltas: [{ seq: 4, bytes: bytes('d') }] })
        db.createObjectStore('outbox', { keyPath: ['key', 'intentId'] })
        db.createObjectStore('saved', { keyPath: 'name' })
      }
      open.onsuccess = () => (open.result.close(), resolve())
      open.onerror = () => reject(open.error)
    })
    const journal = new IdbJournal(name)
    const read = readSession((await journal.read('s'))!)
    expect(read.snapshot).toEqual(snapshot)
    expect(read.deltas.map((d) => d.seq)).toEqual([4])
    expect(read.updatedAt).toBe(7)
    // A later batch keeps it: it lives in its own store now.
    await journal.write('s', batch('s', { deltas: [{ seq: 5, bytes: bytes('e') }], at: 8 }))
    const after = readSession((await journal.read('s'))!)
    expect(after.snapshot).toEqual(snapshot)
    expect(after.deltas.map((d) => d.seq)).toEqual([4, 5])
  })
})
