/**
 * A session outlives a reload: the journal keeps what a page applied and still owes, and
 * `resume()` brings the reloaded page back as the same peer. In-memory network; a reload
 * is a new controller over the same journal and tab storage, with nothing else kept.
 */
import { describe, expect, it } from 'vitest'
import { JournalError } from '../../src/errors.js'
import { readSession } from '../../src/journal/read.js'
import { coreOf } from '../../src/session/internals.js'
import { DEFAULT_JOURNAL_LIMITS } from '../../src/session/options.js'
import { KvProvider } from '../helpers/kv-provider.js'
import { TallyProvider } from '../sim/providers.js'
import { type TestPeer, TestSession, diagnostics, eventsOf } from '../helpers/session.js'
import { type Disk, disk, journaledSession, page, resumeWith } from './helpers.js'

/** A journal's key: the session, and the user whose page wrote it. */
const journalKey = (inSessionOf: TestPeer, user: string) => `${inSessionOf.controller.sessionId}/u-${user}`

async function twoPeers(): Promise<{ s: TestSession; host: TestPeer; guest: TestPeer; hostDisk: Disk; guestDisk: Disk }> {
  const s = new TestSession(7)
  const hostDisk = disk()
  const guestDisk = disk()
  const host = page(s, 'host', 'host', hostDisk)
  await host.controller.start()
  const guest = page(s, 'g1', 'g1', guestDisk)
  await s.connect(host, guest)
  return { s, host, guest, hostDisk, guestDisk }
}

/** The host changes something, the guest's page goes (its journal kept), and `tamper` edits that journal's stored rows. */
async function leftWithTamperedJournal(tamper: Parameters<Disk['journal']['tamper']>[1]): Promise<{ s: TestSession; guestDisk: Disk }> {
  const { s, host, guest, guestDisk } = await twoPeers()
  host.kv.set('a', 1)
  await s.settle()
  guest.controller.goodbye()
  await s.settle()
  guestDisk.journal.tamper(journalKey(host, 'g1'), tamper)
  return { s, guestDisk }
}

/**
 * g3's tab reloads and the host leaves: g1, elected, greets the resumed page and owes it a
 * snapshot (its journal holds epoch 1's history), which `hold` lets go when it chooses.
 */
async function resumedAwaitingSnapshot(seed: number, hold: (release: () => void, clock: TestSession['clock']) => void) {
  const { s, host, guests: [g1, g2, g3], disks } = await journaledSession(seed, ['g1', 'g2', 'g3'])
  host.kv.set('before', 1)
  await s.settle()
  g3!.controller.goodbye()
  host.controller.goodbye()
  await s.settle(3_000)
  expect(g1!.controller.getRole()).toBe('host')
  const held = g1!.kv.snapshot(null)
  g1!.kv.snapshot = () => new Promise((resolve) => hold(() => resolve(held), s.clock)) as never
  const reloaded = page(s, 'g3-reloaded', 'g3', disks.get('g3')!)
  await resumeWith(s, g1!, reloaded)
  return { s, g1: g1!, g2: g2!, reloaded }
}

describe('resume after a reload', () => {
  it('resolves null when this tab was in no session', async () => {
    const s = new TestSession(1)
    const fresh = page(s, 'a', 'a', disk())
    expect(await fresh.controller.resume()).toBeNull()
  })

  it('a guest reloaded mid-burst rejoins as itself and is sent only what it missed', async () => {
    const { s, host, guest, guestDisk } = await twoPeers()
    for (let i = 0; i < 5; i++) host.kv.set(`h${i}`, i)
    for (let i = 0; i < 3; i++) guest.kv.set(`g${i}`, i)
    await s.settle()
    guest.controller.goodbye() // pagehide of the reload
    for (let i = 5; i < 12; i++) host.kv.set(`h${i}`, i) // missed while away
    await s.settle()

    const reloaded = page(s, 'g1-reloaded', 'someone-else', guestDisk)
    const result = await resumeWith(s, host, reloaded)
    expect(result.sessionId).toBe(host.controller.sessionId)
    expect(reloaded.controller.getSelf().id).toBe('u-g1')
    expect(reloaded.controller.getState()).toBe('connected')
    expect(reloaded.kv.store()).toEqual(host.kv.store())
    // Its state came from its own journal (its bootstrap at #0) and the deltas it missed: the host sent no snapshot.
    expect(eventsOf(reloaded, 'session-bootstrap-complete')).toEqual([{ entries: 4, seq: 0 }])
    // Its own journal first (the page's providers start empty), then only what it missed, each once.
    const applied = reloaded.kv.applied.map((a) => a.delta.key)
    expect(applied).toEqual(['h0', 'h1', 'h2', 'h3', 'h4', 'g0', 'g1', 'g2', 'h5', 'h6', 'h7', 'h8', 'h9', 'h10', 'h11'])
    expect(host.controller.getPeers().filter((p) => p.id === 'u-g1')).toHaveLength(1)
    // And it goes on as a guest like any other.
    reloaded.kv.set('after', 1)
    await s.settle()
    expect(host.kv.store().after).toBe(1)
  })

  it('a change made while the host could not hear it is sent again after the reload, with its original intent id', async () => {
    const { s, host, guest, guestDisk } = await twoPeers()
    s.net.partition(['g1'], ['host'])
    const id = guest.kv.set('offline', 42)
    await guest.controller.flushJournal()
    s.net.crash('g1') // the tab is discarded: no goodbye
    s.net.heal()
    await s.settle(25_000) // the host drops the silent guest
    expect(host.controller.getPeers().some((p) => p.id === 'u-g1')).toBe(false)

    const reloaded = page(s, 'g1-reloaded', 'g1', guestDisk)
    await resumeWith(s, host, reloaded)
    expect(host.kv.store().offline).toBe(42)
    const applied = host.kv.applied.find((a) => a.delta.key === 'offline')
    expect(applied?.delta.intentId).toBe(id)
    expect(applied?.meta.origin).toBe('u-g1')
    expect(reloaded.kv.store()).toEqual(host.kv.store())
    expect(reloaded.controller.pendingIntents).toBe(0)
  })

  it('a crash loses at most the last batch: the host sends what the journal lacks', async () => {
    const { s, host, guest, guestDisk } = await twoPeers()
    host.kv.set('early', 1)
    await s.settle()
    host.kv.set('late', 2)
    await s.settle(5) // delivered and applied, not yet written (batchMs is 40)
    expect(guest.kv.store().late).toBe(2)
    s.net.crash('g1')
    await s.settle(25_000)
    const reloaded = page(s, 'g1-reloaded', 'g1', guestDisk)
    const journal = readSession((await guestDisk.journal.read(journalKey(host, 'g1')))!)
    // 'early' (#1) was written; 'late' (#2) was in the batch the crash lost.
    expect(journal.identity.lastSeenSeq).toBe(1)
    expect(journal.deltas.map((d) => d.seq)).toEqual([1])
    await resumeWith(s, host, reloaded)
    expect(reloaded.kv.store()).toEqual(host.kv.store())
  })

  it('a steady stream of deltas is written every streamBatchMs, not every batchMs; a change of its own goes within batchMs', async () => {
    const { s, host, guest, guestDisk } = await twoPeers()
    const writes: Array<{ at: number; deltas: number; queued: number }> = []
    const write = guestDisk.journal.write.bind(guestDisk.journal)
    guestDisk.journal.write = (key, batch) => {
      writes.push({ at: s.clock.now(), deltas: batch.deltas.length, queued: batch.queued.length })
      return write(key, batch)
    }
    const start = s.clock.now()
    for (let i = 0; i < 100; i++) {
      host.kv.set(`k${i}`, i)
      await s.settle(10) // a delta every 10 ms for a second
    }
    // Every 40 ms would be 25 writes; the first goes 40 ms in, the rest at least 250 ms apart.
    expect(writes[0]!.at - start).toBeLessThan(60)
    expect(writes.length).toBeLessThanOrEqual(5)
    for (let i = 1; i < writes.length; i++) expect(writes[i]!.at - writes[i - 1]!.at).toBeGreaterThanOrEqual(250)
    // Mid-stream, this page's own change is on disk within batchMs, whatever the stream's pace.
    await s.settle(100)
    const before = writes.length
    host.kv.set('more', 1)
    await s.settle(10)
    const asked = s.clock.now()
    guest.kv.set('mine', 1)
    await s.settle(45)
    // (Queued and confirmed within that batch, it writes no outbox row, but it does not wait for the stream's pace.)
    const urgent = writes.findIndex((w, i) => i >= before && w.at > asked && w.at - asked <= 40)
    expect(urgent).toBeGreaterThan(0)
    expect(writes[urgent]!.at - writes[urgent - 1]!.at).toBeLessThan(250)
    await s.settle(500)
    // Nothing lost to the pace: once the stream stops, the journal holds every delta the guest applied.
    const journal = readSession((await guestDisk.journal.read(journalKey(host, 'g1')))!)
    expect(journal.deltas.map((d) => d.seq)).toEqual(Array.from({ length: 102 }, (_, i) => i + 1)) // the stream, 'more', 'mine'
    expect(journal.identity.lastSeenSeq).toBe(102)
    expect(guest.kv.store()).toEqual(host.kv.store())
  })

  it('without an invite it keeps identity and outbox, and the next join of that session resumes', async () => {
    const { s, host, guest, guestDisk } = await twoPeers()
    s.net.partition(['g1'], ['host'])
    guest.kv.set('kept', 1)
    await guest.controller.flushJournal()
    s.net.crash('g1')
    s.net.heal()
    await s.settle(25_000)
    const reloaded = page(s, 'g1-reloaded', 'anon', guestDisk)
    const result = await reloaded.controller.resume()
    expect(result).toMatchObject({ sessionId: host.controller.sessionId, needsInvite: true })
    expect(reloaded.controller.getSelf().id).toBe('u-g1')
    await s.connect(host, reloaded, 'editor', 500)
    expect(host.kv.store().kept).toBe(1)
    expect(eventsOf(reloaded, 'session-bootstrap-complete')).toEqual([{ entries: 4, seq: 0 }])
  })

  it('a host that reloads is a host loss: the others fail over, and it comes back as a guest', async () => {
    const { s, host, guests: [g1, g2], disks } = await journaledSession(3, ['g1', 'g2'])
    host.kv.set('before', 1)
    await s.settle()
    host.controller.goodbye()
    await s.settle(3_000)
    expect(g1!.controller.getRole()).toBe('host')
    g1!.kv.set('during', 2)
    await s.settle()

    const reloaded = page(s, 'host-reloaded', 'host', disks.get('host')!)
    await resumeWith(s, g1!, reloaded)
    expect(reloaded.controller.getRole()).toBe('guest')
    expect(reloaded.controller.getSelf().id).toBe('u-host')
    expect(reloaded.controller.getState()).toBe('connected')
    expect(reloaded.kv.store()).toEqual(g1!.kv.store())
    expect(g2!.kv.store()).toEqual(g1!.kv.store())
    expect(g1!.controller.getPeers().map((p) => p.id).sort()).toEqual(['u-g1', 'u-g2', 'u-host'])
  })

  it('an old host that follows its successor and reloads before the successor\'s snapshot comes gets a snapshot, not the deltas past its forked history (seed 966014)', async () => {
    const { s, host, guests: [g1], disks } = await journaledSession(5, ['g1', 'g2'])
    host.kv.set('before', 1)
    await s.settle()
    s.net.freeze('host')
    await s.settle(25_000)
    expect(g1!.controller.getRole()).toBe('host')
    g1!.kv.set('during', 2) // #2 of epoch 2
    await s.settle()
    // Thawed, it issues a #2 of its own (epoch 1) before it hears it was replaced; then it
    // follows g1 and asks for its state, and its page dies before the answer comes.
    s.net.resume('host')
    host.kv.set('fork', 3)
    host.controller.events.on('session-role-changed', ({ role }) => {
      if (role === 'guest') s.net.setFault('g1', 'host', { blocked: true })
    })
    await s.settle(500)
    expect(host.controller.getRole()).toBe('guest')
    expect(host.kv.store()).not.toHaveProperty('during')
    s.net.crash('host')
    await s.settle(25_000) // g1 drops the silent page

    const reloaded = page(s, 'host-reloaded', 'host', disks.get('host')!)
    await resumeWith(s, g1!, reloaded)
    expect(reloaded.controller.getState()).toBe('connected')
    expect(reloaded.kv.store()).toEqual(g1!.kv.store())
    expect(reloaded.kv.store()).toMatchObject({ before: 1, during: 2, fork: 3 })
  })

  it("a resumed guest whose host goes before the snapshot it waits for comes follows the next host, connected (seed 996419)", async () => {
    // The snapshot takes g1 longer than it stays.
    const { s, g1, g2, reloaded } = await resumedAwaitingSnapshot(11, (release, clock) => clock.setTimeout(release, 10_000))
    expect(reloaded.controller.getPeers().map((p) => p.id)).toContain('u-g2')
    expect(reloaded.controller.getState()).toBe('joining')
    g1.controller.goodbye()
    await s.settle(3_000)
    expect(g2.controller.getRole()).toBe('host')
    expect(reloaded.controller.getState()).toBe('connected')
    g2.kv.set('after', 2)
    await s.settle()
    expect(reloaded.kv.store()).toEqual(g2.kv.store())
  })

  it("a resumed guest waiting for its host's snapshot claims the lineage of the journal it holds, and the host's once the snapshot comes", async () => {
    let release = (): void => {}
    const { s, g1, reloaded } = await resumedAwaitingSnapshot(12, (go) => (release = go))
    const session = coreOf(reloaded.controller).session!
    expect(session.rebootstrapping).toBe(true)
    // Epoch 2's host lists #1 as epoch 1's too; what the journal holds says only that #1 is epoch 1's, nothing before.
    expect(session.lineage).toEqual([[0, 0], [1, 0]])
    release()
    await s.settle()
    expect(session.rebootstrapping).toBe(false)
    expect(session.lineage).toEqual(coreOf(g1.controller).session!.lineage)
    expect(reloaded.kv.store()).toEqual(g1.kv.store())
  })

  it('a journal of another version is refused whole with a typed error; nothing of it is applied', async () => {
    const { s, guestDisk } = await leftWithTamperedJournal((raw) => Object.assign(raw.head as object, { v: 99 }))
    const reloaded = page(s, 'g1-reloaded', 'fresh', guestDisk)
    const error = await reloaded.controller.resume().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(JournalError)
    expect(error).toMatchObject({ code: 'journal-version' })
    expect(reloaded.kv.store()).toEqual({})
    expect(reloaded.controller.getSelf().id).toBe('u-fresh')
    // It is gone: the next resume finds nothing.
    expect(await reloaded.controller.resume()).toBeNull()
  })

  it("a journal whose snapshot keeps an unreadable change of the page's own is refused whole", async () => {
    const own = [new TextEncoder().encode('{"t":"hello"}')]
    const { s, guestDisk } = await leftWithTamperedJournal((raw) => Object.assign((raw.head as { snapshot: object }).snapshot, { own }))
    const reloaded = page(s, 'g1-reloaded', 'g1', guestDisk)
    await expect(reloaded.controller.resume()).rejects.toBeInstanceOf(JournalError)
    expect(reloaded.kv.store()).toEqual({})
  })

  it('a read that fails at resume (the database unavailable for now) is a typed error and a diagnostic; the journal stays for the next resume', async () => {
    const { s, host, guest, guestDisk } = await twoPeers()
    guest.kv.set('g', 1)
    await s.settle()
    guest.controller.goodbye()
    await s.settle()
    const read = guestDisk.journal.read.bind(guestDisk.journal)
    guestDisk.journal.read = () => Promise.reject(new DOMException('The database could not be read.', 'UnknownError'))
    const reloaded = page(s, 'g1-reloaded', 'g1', guestDisk)
    const error = await reloaded.controller.resume().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(JournalError)
    expect(error).toMatchObject({ code: 'journal-read-failed' })
    expect(diagnostics(reloaded, 'journal-read-failed')).toHaveLength(1)
    guestDisk.journal.read = read
    await resumeWith(s, host, reloaded)
    expect(reloaded.controller.getState()).toBe('connected')
    expect(reloaded.kv.store()).toEqual({ g: 1 })
    expect(host.kv.store()).toEqual({ g: 1 })
  })

  it('a full disk whose eviction fails too (the listing aborted) is told and retried; the writes after it still land', async () => {
    const { s, host, hostDisk } = await twoPeers()
    const journal = hostDisk.journal
    const [write, sessions] = [journal.write.bind(journal), journal.sessions.bind(journal)]
    // One write refused, and the listing that would make room aborted.
    let [writeFails, listFails] = [1, 1]
    journal.write = (key, batch) => (writeFails-- > 0 ? Promise.reject(new JournalError('journal-quota', 'The disk is full.')) : write(key, batch))
    journal.sessions = () => (listFails-- > 0 ? Promise.reject(new DOMException('The transaction was aborted.', 'AbortError')) : sessions())
    host.kv.set('a', 1)
    await s.settle()
    // Tried again after the first back-off (DEFAULT_JOURNAL_LIMITS.writeRetryMs).
    const flushed = host.controller.flushJournal()
    await s.settle(DEFAULT_JOURNAL_LIMITS.writeRetryMs[0]!)
    await expect(flushed).resolves.toBeUndefined()
    expect(diagnostics(host, 'journal-quota')).toHaveLength(1)
    host.kv.set('b', 2)
    await host.controller.flushJournal()
    expect(readSession((await journal.read(journalKey(host, 'host')))!).identity.lastSeenSeq).toBe(2)
    expect(host.controller.getState()).toBe('connected')
  })

  it('a journal given up after failed writes is not resumed, even when dropping it fails too: it lacks what came since', async () => {
    const { s, host, guest, guestDisk } = await twoPeers()
    guest.kv.set('early', 1)
    await s.settle()
    const journal = guestDisk.journal
    const aborted = () => Promise.reject(new DOMException('The transaction was aborted.', 'AbortError'))
    journal.write = aborted
    journal.drop = aborted
    guest.kv.set('late', 2)
    // Every attempt of the retry policy, each told.
    await s.settle(10_000)
    expect(diagnostics(guest, 'journal-write-failed')).toHaveLength(DEFAULT_JOURNAL_LIMITS.writeRetryMs.length + 1)
    expect(diagnostics(guest, 'journal-off')).toHaveLength(1)
    expect(guest.controller.getState()).toBe('connected')
    expect(host.kv.store()).toEqual({ early: 1, late: 2 })
    guest.controller.goodbye()
    await s.settle()
    const reloaded = page(s, 'g1-reloaded', 'g1', guestDisk)
    expect(await reloaded.controller.resume()).toBeNull()
  })

  it('a session left on purpose leaves no journal to resume', async () => {
    const { s, guest, guestDisk, host } = await twoPeers()
    await guest.controller.leave()
    await s.settle()
    expect(await guestDisk.journal.read(journalKey(host, 'g1'))).toBeUndefined()
    expect(await page(s, 'g1-reloaded', 'g1', guestDisk).controller.resume()).toBeNull()
  })
})

describe('a bounded journal', () => {
  it('compacts past maxDeltas (snapshot + truncate) and resumes from it to equal state', async () => {
    const s = new TestSession(5)
    const guestDisk = disk()
    const host = page(s, 'host', 'host', disk())
    await host.controller.start()
    const guest = page(s, 'g1', 'g1', guestDisk, { maxDeltas: 5 })
    await s.connect(host, guest)
    for (let i = 0; i < 40; i++) {
      host.kv.set(`k${i % 7}`, i)
      await s.settle(20)
    }
    await s.settle()
    const journal = readSession((await guestDisk.journal.read(journalKey(host, 'g1')))!)
    expect(journal.deltas.length).toBeLessThanOrEqual(6)
    expect(journal.snapshot.seq).toBeGreaterThan(30)
    guest.controller.goodbye()
    await s.settle()
    const reloaded = page(s, 'g1-reloaded', 'g1', guestDisk)
    await resumeWith(s, host, reloaded)
    expect(reloaded.kv.store()).toEqual(host.kv.store())
  })

  it("keeps a page's own changes through compaction: a host's that its guests never got are handed over after a reload", async () => {
    const s = new TestSession(11)
    const hostDisk = disk()
    const host = page(s, 'host', 'host', hostDisk, { maxDeltas: 2 })
    await host.controller.start()
    const guests: TestPeer[] = []
    for (const name of ['g1', 'g2']) {
      guests.push(page(s, name, name, disk()))
      await s.connect(host, guests.at(-1)!)
    }
    const [g1, g2] = guests as [TestPeer, TestPeer]
    host.kv.set('before', 1)
    await s.settle()
    for (const g of guests) s.net.setFault('host', g.name, { drop: 1 })
    const lost: Record<string, number> = {}
    for (let i = 0; i < 6; i++) {
      host.kv.set(`lost${i}`, (lost[`lost${i}`] = i))
      await s.settle(20)
    }
    await host.controller.flushJournal()
    // Compacted: some of them are in the journal's snapshot alone, in no delta row.
    const journal = readSession((await hostDisk.journal.read(journalKey(host, 'host')))!)
    expect(journal.snapshot.seq).toBeGreaterThan(2)
    for (const g of guests) s.net.setFault('host', g.name, undefined)
    host.controller.goodbye()
    await s.settle(3_000)
    expect(g1.controller.getRole()).toBe('host')
    expect(g1.kv.store()).toEqual({ before: 1 })
    const reloaded = page(s, 'host-reloaded', 'host', hostDisk)
    await resumeWith(s, g1, reloaded)
    await s.settle()
    for (const p of [g1, g2, reloaded]) expect(p.kv.store()).toEqual({ before: 1, ...lost })
    for (const p of [g1, g2, reloaded]) expect(p.kv.duplicates).toEqual([])
  })

  it('compacts no state that holds a change of its own still unconfirmed: resumed, the page has it once', async () => {
    const s = new TestSession(12)
    const guestDisk = disk()
    const counting = (peer: TestPeer) => {
      const tally = new TallyProvider()
      peer.controller.registerProvider(tally)
      return tally
    }
    const host = page(s, 'host', 'host', disk())
    const hostTally = counting(host)
    await host.controller.start()
    const guest = page(s, 'g1', 'g1', guestDisk, { maxDeltas: 2 })
    const guestTally = counting(guest)
    await s.connect(host, guest)
    // The host's changes cross the guest's journal limit before the host's confirmation of the guest's change comes.
    for (let i = 0; i < 4; i++) host.kv.set(`k${i}`, i)
    guestTally.bump('x')
    await s.settle()
    await guest.controller.flushJournal()
    expect(hostTally.store()).toEqual({ x: 1 })
    guest.controller.goodbye()
    await s.settle()
    const reloaded = page(s, 'g1-reloaded', 'g1', guestDisk)
    const reloadedTally = counting(reloaded)
    await resumeWith(s, host, reloaded)
    expect(reloadedTally.store()).toEqual({ x: 1 })
  })

  it('a full disk is a diagnostic and an eviction of older sessions, never a broken session', async () => {
    const s = new TestSession(9)
    const full = disk()
    // Another session's journal fills most of the quota.
    const { MemoryJournal } = await import('../../src/journal/memory.js')
    full.journal = new MemoryJournal({ quotaBytes: 4_000 })
    await full.journal.write('old-session', {
      identity: { userId: 'u', name: 'u', role: 'guest', rank: 1, sessionId: 'old-session', epoch: 1, lastSeenSeq: 0 },
      deltas: [], queued: [], settled: [], at: 0, bytes: 3_900,
    })
    const host = page(s, 'host', 'host', full)
    await host.controller.start()
    const guest = page(s, 'g1', 'g1', disk())
    await s.connect(host, guest)
    for (let i = 0; i < 20; i++) host.kv.set(`k${i}`, 'x'.repeat(20))
    await s.settle()
    expect(diagnostics(host, 'journal-quota').length).toBeGreaterThan(0)
    expect(diagnostics(host, 'journal-evicted').map((d) => d.message)).toEqual([expect.stringContaining('old-session')])
    expect(await full.journal.read('old-session')).toBeUndefined()
    expect(readSession((await full.journal.read(journalKey(host, 'host')))!).identity.lastSeenSeq).toBe(20)
    expect(host.controller.getState()).toBe('connected')
    expect(guest.kv.store()).toEqual(host.kv.store())
  })
})

describe('state for a provider the page lacks', () => {
  it('survives compaction: kept beside the snapshot, and handed over to a later page that has the provider', async () => {
    const s = new TestSession(41)
    const guestDisk = disk()
    const host = page(s, 'host', 'host', disk())
    const hostNotes = new KvProvider('notes')
    host.controller.registerProvider(hostNotes)
    await host.controller.start()
    const guest = page(s, 'g1', 'g1', guestDisk)
    guest.controller.registerProvider(new KvProvider('notes'))
    await s.connect(host, guest)
    hostNotes.set('n1', 'first')
    hostNotes.set('n2', 'second')
    await s.settle()
    guest.controller.goodbye()

    // Reloaded by a page without the notes provider: its journaled notes deltas are quarantined.
    const without = page(s, 'g1-without', 'g1', guestDisk, { maxDeltas: 3 })
    await resumeWith(s, host, without)
    expect(diagnostics(without, 'journal-quarantined').map((d) => d.providerId)).toEqual(['notes'])
    // Enough changes that its journal compacts, more than once.
    for (let i = 0; i < 20; i++) {
      host.kv.set(`k${i}`, i)
      await s.settle(20)
    }
    await s.settle()
    const compacted = readSession((await guestDisk.journal.read(journalKey(host, 'g1')))!)
    expect(compacted.snapshot.seq).toBeGreaterThan(2)
    expect(compacted.snapshot.held?.map((d) => d.seq)).toEqual([1, 2])
    without.controller.goodbye()

    // A later page has the provider again: the notes come back from the compacted journal.
    const withNotes = page(s, 'g1-with', 'g1', guestDisk)
    const notes = new KvProvider('notes')
    withNotes.controller.registerProvider(notes)
    await resumeWith(s, host, withNotes)
    expect(notes.store()).toEqual({ n1: 'first', n2: 'second' })
    expect(withNotes.kv.store()).toEqual(host.kv.store())
  })
})
