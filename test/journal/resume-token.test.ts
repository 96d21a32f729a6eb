/**
 * Resume tokens: a page that crashed (no goodbye) comes back at once, its new link replacing
 * the old one the host still holds, when it presents the token its host gave it; without
 * the right token it is a duplicate, as any other join of a user already in the session.
 */
import { describe, expect, it } from 'vitest'
import { readSession } from '../../src/journal/read.js'
import { hashOf, sameHash } from '../../src/session/readmission.js'
import { type TestPeer, TestSession, eventsOf } from '../helpers/session.js'
import { type Disk, disk, journaledSession, page, resumeWith } from './helpers.js'

const journalKey = (inSessionOf: TestPeer, user: string) => `${inSessionOf.controller.sessionId}/u-${user}`

async function crashedGuest(seed: number): Promise<{ s: TestSession; host: TestPeer; guest: TestPeer; guestDisk: Disk }> {
  const s = new TestSession(seed)
  const guestDisk = disk()
  const host = page(s, 'host', 'host', disk())
  await host.controller.start()
  const guest = page(s, 'g1', 'g1', guestDisk)
  await s.connect(host, guest)
  host.kv.set('before', 1)
  guest.kv.set('mine', 1)
  await s.settle()
  await guest.controller.flushJournal()
  s.net.crash('g1') // the tab crashed or was discarded: no goodbye, and its link still looks alive
  host.kv.set('missed', 2)
  await s.settle(100)
  return { s, host, guest, guestDisk }
}

const endReasons = (peer: TestPeer) => eventsOf(peer, 'session-ended').map((e) => e.reason)

describe('resume tokens', () => {
  it('a crashed guest resumes at once: its token replaces the old link, without waiting for the hard timeout', async () => {
    const { s, host, guestDisk } = await crashedGuest(11)
    expect(host.controller.getPeers().some((p) => p.id === 'u-g1')).toBe(true)
    const reloaded = page(s, 'g1-reloaded', 'g1', guestDisk)
    await resumeWith(s, host, reloaded)
    expect(reloaded.controller.getState()).toBe('connected')
    expect(reloaded.kv.store()).toEqual(host.kv.store())
    expect(host.kv.store()).toMatchObject({ before: 1, mine: 1, missed: 2 })
    // The old link went with the resume (not with a timeout), and the peer is listed once.
    expect(eventsOf(host, 'session-peer-dropped').map((e) => [e.peer.id, e.reason])).toEqual([['u-g1', 'resumed']])
    expect(host.controller.getPeers().filter((p) => p.id === 'u-g1')).toHaveLength(1)
    // It was sent what it missed, not a snapshot.
    expect(eventsOf(reloaded, 'session-bootstrap-complete')).toHaveLength(1)
    // And it holds a new token, journaled with its identity: the one it came back with is spent.
    await reloaded.controller.flushJournal()
    const journal = readSession((await guestDisk.journal.read(journalKey(host, 'g1')))!)
    expect(journal.identity.resumeToken).toMatch(/^[\w-]{22}$/)
  })

  it('a wrong token is a duplicate: refused, the old link kept, the journal kept for a later try', async () => {
    const { s, host, guestDisk } = await crashedGuest(12)
    guestDisk.journal.tamper(journalKey(host, 'g1'), (raw) => Object.assign((raw.head as { identity: object }).identity, { resumeToken: 'not-the-token-at-all-x' }))
    const reloaded = page(s, 'g1-reloaded', 'g1', guestDisk)
    await resumeWith(s, host, reloaded)
    expect(endReasons(reloaded)).toEqual(['duplicate-user'])
    expect(eventsOf(host, 'session-peer-dropped')).toEqual([])
    expect(await guestDisk.journal.read(journalKey(host, 'g1'))).toBeDefined()
    // Once the host has dropped the silent old link, the same journal resumes without a token.
    await s.settle(25_000)
    expect(host.controller.getPeers().some((p) => p.id === 'u-g1')).toBe(false)
    const again = page(s, 'g1-again', 'g1', guestDisk)
    await resumeWith(s, host, again)
    expect(again.controller.getState()).toBe('connected')
    expect(again.kv.store()).toEqual(host.kv.store())
  })

  it('no token is a duplicate (a hostile page claiming a user id it does not own)', async () => {
    const { s, host, guestDisk } = await crashedGuest(13)
    guestDisk.journal.tamper(journalKey(host, 'g1'), (raw) => delete (raw.head as { identity: { resumeToken?: string } }).identity.resumeToken)
    const reloaded = page(s, 'g1-reloaded', 'g1', guestDisk)
    await resumeWith(s, host, reloaded)
    expect(endReasons(reloaded)).toEqual(['duplicate-user'])
    expect(host.controller.getPeers().filter((p) => p.id === 'u-g1')).toHaveLength(1)
  })

  it('a token is single-use: replayed after it was spent, it is a duplicate', async () => {
    const { s, host, guestDisk } = await crashedGuest(14)
    // A copy of the crashed page's journal, token and all, taken before the resume spends the token.
    const key = journalKey(host, 'g1')
    const copied = readSession((await guestDisk.journal.read(key))!)
    const stolen = disk()
    await stolen.journal.write(key, { identity: copied.identity, snapshot: copied.snapshot, deltas: copied.deltas, queued: copied.outbox, settled: [], at: 0, bytes: 0 })
    stolen.tab.setItem('session-sync:resume', key)
    const reloaded = page(s, 'g1-reloaded', 'g1', guestDisk)
    await resumeWith(s, host, reloaded)
    expect(reloaded.controller.getState()).toBe('connected')
    const replay = page(s, 'g1-replay', 'g1', stolen)
    await resumeWith(s, host, replay)
    expect(endReasons(replay)).toEqual(['duplicate-user'])
    expect(reloaded.controller.getState()).toBe('connected')
    expect(host.controller.getPeers().filter((p) => p.id === 'u-g1')).toHaveLength(1)
  })

  it('survives a failover: the new host checks a token the old host issued, by the hash the roster carried', async () => {
    const { s, host, guests: [g1, g2, g3], disks } = await journaledSession(15, ['g1', 'g2', 'g3'])
    await s.settle()
    await g3!.controller.flushJournal()
    s.net.crash('g3')
    host.controller.goodbye()
    await s.settle(3_000)
    expect(g1!.controller.getRole()).toBe('host')
    // g1 still holds its mesh link to g3 (not timed out yet): a join of u-g3 needs g3's token.
    expect(g1!.controller.getPeers().some((p) => p.id === 'u-g3')).toBe(true)
    g1!.kv.set('after', 1)
    const reloaded = page(s, 'g3-reloaded', 'g3', disks.get('g3')!)
    await resumeWith(s, g1!, reloaded)
    expect(reloaded.controller.getState()).toBe('connected')
    expect(reloaded.kv.store()).toEqual(g1!.kv.store())
    expect(g2!.kv.store()).toEqual(g1!.kv.store())
    expect(g1!.controller.getPeers().filter((p) => p.id === 'u-g3')).toHaveLength(1)
  })

  it('compares hashes in full, whatever their first difference', () => {
    const a = hashOf('a-token')
    expect(a).toMatch(/^[\w-]{22}$/)
    expect(sameHash(a, hashOf('a-token'))).toBe(true)
    expect(sameHash(a, hashOf('b-token'))).toBe(false)
    expect(sameHash(a, `${a.slice(0, 21)}${a[21] === 'A' ? 'B' : 'A'}`)).toBe(false)
    expect(sameHash(a, a.slice(0, 16))).toBe(false)
  })
})

describe('coming back through a guest', () => {
  const threePeers = async (seed: number) => {
    const { s, host, guests: [g1, g2], disks } = await journaledSession(seed, ['g1', 'g2'])
    return { s, host, g1: g1!, g2: g2!, disks: { g2: disks.get('g2')! } }
  }

  it('a crashed guest resumes through an invite of another guest: the host checks its token and links to it', async () => {
    const { s, disks, host, g1, g2 } = await threePeers(21)
    g2.kv.set('mine', 1)
    await s.settle()
    await g2.controller.flushJournal()
    s.net.crash('g2')
    host.kv.set('missed', 2)
    await s.settle(100)
    const reloaded = page(s, 'g2-reloaded', 'g2', disks.g2)
    await resumeWith(s, g1, reloaded)
    expect(reloaded.controller.getState()).toBe('connected')
    // Its host is the host, not the guest it came through; it is listed once, and holds everything.
    expect(reloaded.controller.getPeers().find((p) => p.role === 'host')?.id).toBe('u-host')
    expect(host.controller.getPeers().filter((p) => p.id === 'u-g2')).toHaveLength(1)
    expect(reloaded.kv.store()).toEqual(host.kv.store())
    expect(host.kv.store()).toMatchObject({ mine: 1, missed: 2 })
    // Only what it missed came: its journal was its bootstrap.
    expect(eventsOf(reloaded, 'session-bootstrap-complete')).toHaveLength(1)
    reloaded.kv.set('after', 3)
    await s.settle()
    expect(g1.kv.store().after).toBe(3)
  })

  it('a guest\'s invite lets no newcomer in, and a wrong token is refused by the host', async () => {
    const { s, disks, host, g1, g2 } = await threePeers(22)
    const newcomer = page(s, 'new', 'new', disk())
    await s.connect(g1, newcomer, 'editor', 500)
    expect(endReasons(newcomer)).toEqual(['guest-invite'])
    expect(host.controller.getPeers().map((p) => p.id).sort()).toEqual(['u-g1', 'u-g2', 'u-host'])

    await g2.controller.flushJournal()
    s.net.crash('g2')
    disks.g2.journal.tamper(journalKey(host, 'g2'), (raw) => Object.assign((raw.head as { identity: object }).identity, { resumeToken: 'not-the-token-at-all-x' }))
    const reloaded = page(s, 'g2-reloaded', 'g2', disks.g2)
    await resumeWith(s, g1, reloaded)
    expect(endReasons(reloaded)).toEqual(['duplicate-user'])
    expect(host.controller.getPeers().filter((p) => p.id === 'u-g2')).toHaveLength(1)
  })

  it('a viewer coming back through a guest is still a viewer, whoever hosts now', async () => {
    const s = new TestSession(23)
    const viewerDisk = disk()
    const host = page(s, 'host', 'host', disk())
    await host.controller.start()
    const g1 = page(s, 'g1', 'g1', disk())
    await s.connect(host, g1)
    const viewer = page(s, 'v1', 'v1', viewerDisk)
    await s.connect(host, viewer, 'viewer')
    await s.settle()
    await viewer.controller.flushJournal()
    s.net.crash('v1')
    const reloaded = page(s, 'v1-reloaded', 'v1', viewerDisk)
    await resumeWith(s, g1, reloaded)
    expect(reloaded.controller.getState()).toBe('connected')
    expect(host.controller.getPeers().find((p) => p.id === 'u-v1')?.access).toBe('viewer')
    reloaded.kv.set('not-allowed', 1)
    await s.settle()
    expect(host.kv.store()).not.toHaveProperty('not-allowed')
  })
})
