/**
 * The journal's write path under a failing or slow disk: failed writes back off on the page's
 * clock and keep what is unwritten; a slow write lets later batches merge into one, not pile up.
 */
import { describe, expect, it } from 'vitest'
import { JournalError } from '../../src/errors.js'
import { readSession } from '../../src/journal/read.js'
import type { JournalBatch } from '../../src/journal/store.js'
import { mergeBatches } from '../../src/journal/write-queue.js'
import { DEFAULT_JOURNAL_LIMITS } from '../../src/session/options.js'
import { type TestPeer, diagnostics } from '../helpers/session.js'
import { faultyWrites, journaledSession, page, resumeWith } from './helpers.js'

const journalKey = (inSessionOf: TestPeer, user: string) => `${inSessionOf.controller.sessionId}/u-${user}`
const RETRY_MS = DEFAULT_JOURNAL_LIMITS.writeRetryMs as [number, ...number[]]

async function guestOnFaultyDisk() {
  const { s, host, guests, disks } = await journaledSession(21, ['g1'])
  const guest = guests[0]!
  const guestDisk = disks.get('g1')!
  return { s, host, guest, guestDisk, faults: faultyWrites(guestDisk.journal, s.net.clockFor('g1')) }
}

describe('failed journal writes', () => {
  it('a failure that passes (three aborted transactions) is told each time, retried after growing waits, and the journal stays on', async () => {
    const { s, host, guest, guestDisk, faults } = await guestOnFaultyDisk()
    faults.fail = 3
    guest.kv.set('a', 1)
    await s.settle(10_000)
    expect(diagnostics(guest, 'journal-write-failed')).toHaveLength(3)
    expect(diagnostics(guest, 'journal-off')).toHaveLength(0)
    // Backed off on the page's clock: each wait longer than the last, as the policy says.
    const gaps = faults.calls.slice(1, 4).map((call, i) => call.at - faults.calls[i]!.at)
    expect(gaps).toEqual(RETRY_MS.slice(0, 3))
    // Still journaled: later changes land, and the page resumes with all of them.
    guest.kv.set('b', 2)
    await guest.controller.flushJournal()
    guest.controller.goodbye()
    await s.settle()
    const reloaded = page(s, 'g1-reloaded', 'g1', guestDisk)
    await resumeWith(s, host, reloaded)
    expect(reloaded.controller.getState()).toBe('connected')
    expect(reloaded.kv.store()).toEqual({ a: 1, b: 2 })
  })

  it('changes made while a failed write waits go with its retry, in one transaction', async () => {
    const { s, host, guest, guestDisk, faults } = await guestOnFaultyDisk()
    host.kv.set('h', 0)
    await s.settle()
    const before = faults.calls.length
    faults.fail = 1
    guest.kv.set('a', 1)
    await s.settle(100) // written and refused
    for (let i = 0; i < 5; i++) {
      host.kv.set(`h${i}`, i)
      guest.kv.set(`g${i}`, i)
      await s.settle(60)
    }
    expect(faults.calls.length - before).toBe(1) // nothing written while the retry waits
    const flushed = guest.controller.flushJournal()
    await s.settle(RETRY_MS[0])
    await flushed
    expect(faults.calls.length - before).toBe(2)
    const journal = readSession((await guestDisk.journal.read(journalKey(host, 'g1')))!)
    expect(journal.identity.lastSeenSeq).toBe(12) // the host's six changes and the guest's, all applied
    expect(journal.deltas.map((d) => d.seq)).toEqual([...Array(12).keys()].map((i) => i + 1))
    expect(journal.outbox).toEqual([])
  })

  it('a full disk evicts the oldest other sessions before the retry, which lands', async () => {
    const { s, guest, guestDisk, faults } = await guestOnFaultyDisk()
    const identity = { userId: 'u-g1', name: 'g1', role: 'guest' as const, rank: 1, sessionId: 'an-older-session', epoch: 1, lastSeenSeq: 0 }
    await guestDisk.journal.write('an-older-session/u-g1', { identity, deltas: [], queued: [], settled: [], at: 0, bytes: 10 })
    faults.fail = 1
    faults.error = () => new JournalError('journal-quota', 'The disk is full.')
    guest.kv.set('a', 1)
    await s.settle(RETRY_MS[0] + 100)
    expect(diagnostics(guest, 'journal-quota')).toHaveLength(1)
    expect(diagnostics(guest, 'journal-evicted')).toHaveLength(1)
    expect((await guestDisk.journal.sessions()).map((j) => j.key)).toEqual([`${guest.controller.sessionId}/u-g1`])
    expect(diagnostics(guest, 'journal-off')).toHaveLength(0)
  })

  it('a page closing while a failed write waits tries it at once: there is no later', async () => {
    const { s, host, guest, guestDisk, faults } = await guestOnFaultyDisk()
    faults.fail = 1
    guest.kv.set('a', 1)
    await s.settle(100)
    guest.controller.goodbye()
    await s.settle(0)
    const journal = readSession((await guestDisk.journal.read(journalKey(host, 'g1')))!)
    expect(journal.outbox.length + journal.deltas.length).toBeGreaterThan(0)
    expect(faults.calls.at(-1)!.at).toBeLessThan(faults.calls.at(-2)!.at + RETRY_MS[0])
  })
})

describe('a slow disk', () => {
  it('batches made while a write is under way merge into one waiting batch: two writes, whatever the number of batches', async () => {
    const { s, host, guest, guestDisk, faults } = await guestOnFaultyDisk()
    await s.settle()
    const before = faults.calls.length
    faults.slowMs = 5_000
    for (let i = 0; i < 40; i++) {
      host.kv.set(`h${i}`, i)
      guest.kv.set(`g${i}`, i)
      await s.settle(100)
    }
    // The first write still under way at 4 s, and 40 batches made: one waits behind it.
    expect(faults.calls.length - before).toBe(1)
    const flushed = guest.controller.flushJournal()
    await s.settle(10_000)
    expect(faults.calls.length - before).toBe(2)
    await flushed
    const journal = readSession((await guestDisk.journal.read(journalKey(host, 'g1')))!)
    expect(journal.identity.lastSeenSeq).toBe(80)
    expect(journal.deltas).toHaveLength(80)
    guest.controller.goodbye()
    await s.settle()
    const reloaded = page(s, 'g1-reloaded', 'g1', guestDisk)
    faultyWrites(guestDisk.journal, s.net.clockFor('g1-reloaded'))
    await resumeWith(s, host, reloaded)
    expect(reloaded.kv.store()).toEqual(host.kv.store())
  })
})

describe('mergeBatches', () => {
  const delta = (seq: number) => ({ seq, bytes: new Uint8Array([seq]) })
  const identity = (seq: number) => ({ userId: 'u', name: 'u', role: 'guest' as const, rank: 1, sessionId: 's', epoch: 1, lastSeenSeq: seq })
  const batch = (seq: number, parts: Partial<JournalBatch>): JournalBatch => ({ identity: identity(seq), deltas: [], queued: [], settled: [], at: seq, bytes: seq, ...parts })
  const intent = (intentId: string) => ({ intentId, providerId: 'kv', payload: {} })

  it('takes the later identity, appends deltas, and applies the outbox in order', () => {
    const merged = mergeBatches(
      batch(2, { deltas: [delta(1), delta(2)], queued: [intent('a'), intent('b')], settled: ['old'] }),
      batch(3, { deltas: [delta(3)], queued: [intent('c')], settled: ['a'] }),
    )
    expect(merged).toEqual(batch(3, { deltas: [delta(1), delta(2), delta(3)], queued: [intent('b'), intent('c')], settled: ['old', 'a'] }))
  })

  it('a later snapshot replaces the deltas it covers, or all of them when it replaces the log', () => {
    const snapshot = { seq: 2, ids: [], entries: [] }
    expect(mergeBatches(batch(3, { deltas: [delta(2), delta(3)] }), batch(4, { snapshot, deltas: [delta(4)] })).deltas).toEqual([delta(3), delta(4)])
    const replacing = mergeBatches(batch(3, { deltas: [delta(3)] }), batch(2, { snapshot, replacesLog: true }))
    expect(replacing).toMatchObject({ snapshot, replacesLog: true, deltas: [] })
    // An earlier snapshot that replaced the log still does, under the deltas that follow it.
    expect(mergeBatches(batch(2, { snapshot, replacesLog: true }), batch(3, { deltas: [delta(3)] }))).toMatchObject({ snapshot, replacesLog: true, deltas: [delta(3)] })
  })
})
