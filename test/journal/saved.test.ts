/**
 * Saved sessions: a ledger of states kept by name in one browser profile, each opened
 * again as a new live session hosted by this page.
 */
import { describe, expect, it } from 'vitest'
import { JournalError } from '../../src/errors.js'
import { SessionSyncController } from '../../src/index.js'
import { MemoryNetwork } from '../../src/testing.js'
import { KvProvider } from '../helpers/kv-provider.js'
import { TestSession, diagnostics } from '../helpers/session.js'
import { disk, page } from './helpers.js'

describe('saved sessions', () => {
  it('save, list, clone and open: the opened copy is a new live session with that state', async () => {
    const s = new TestSession(2)
    const profile = disk()
    const host = page(s, 'host', 'host', profile)
    await host.controller.start()
    const guest = page(s, 'g1', 'g1', disk())
    await s.connect(host, guest)
    host.kv.set('title', 'Slide 4')
    guest.layers.set('stain', 'HE', 'left')
    await s.settle()
    const saved = await host.controller.saved.saveAs('review')
    expect(saved).toMatchObject({ name: 'review', sessionId: host.controller.sessionId, seq: 2 })
    expect(saved.peers.map((p) => [p.id, p.role])).toEqual([['u-host', 'host'], ['u-g1', 'guest']])
    expect(saved.size).toBeGreaterThan(0)
    await expect(host.controller.saved.saveAs('review')).rejects.toMatchObject({ code: 'saved-duplicate' })
    await host.controller.saved.clone('review', 'review (branch)')
    await expect(host.controller.saved.clone('nope', 'x')).rejects.toMatchObject({ code: 'saved-missing' })
    expect((await host.controller.saved.list()).map((x) => x.name).sort()).toEqual(['review', 'review (branch)'])

    // Another page of the same profile opens the branch.
    const later = page(s, 'later', 'host', profile)
    await later.controller.saved.open('review (branch)')
    expect(later.controller.getRole()).toBe('host')
    expect(later.controller.sessionId).not.toBe(host.controller.sessionId)
    expect(later.kv.store()).toEqual({ title: 'Slide 4' })
    expect(later.layers.store('left')).toEqual({ stain: 'HE' })
    // And it is live: a guest joining it gets that state.
    const newcomer = page(s, 'g2', 'g2', disk())
    await s.connect(later, newcomer)
    expect(newcomer.kv.store()).toEqual({ title: 'Slide 4' })
  })

  it('remove and clear; a missing name is a typed error', async () => {
    const s = new TestSession(2)
    const a = page(s, 'a', 'a', disk())
    a.kv.set('k', 1)
    await a.controller.saved.saveAs('one')
    await a.controller.saved.saveAs('two')
    await a.controller.saved.remove('one')
    const error = await a.controller.saved.remove('one').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(JournalError)
    expect(error).toMatchObject({ code: 'saved-missing' })
    await expect(a.controller.saved.open('one')).rejects.toMatchObject({ code: 'saved-missing' })
    await expect(a.controller.saved.saveAs('  ')).rejects.toMatchObject({ code: 'saved-invalid' })
    await a.controller.saved.clear()
    expect(await a.controller.saved.list()).toEqual([])
  })

  it('imports a "Save & end" file and opens it', async () => {
    const s = new TestSession(4)
    const host = page(s, 'host', 'host', disk())
    await host.controller.start()
    host.kv.set('shape', { x: 1 })
    await s.settle()
    // As the demo writes it: the library's save, plus who was there and the demo's own summary.
    const file = JSON.stringify({ savedAt: '2026-12-06T07:00:00Z', final: true, ...(await host.controller.saveAndEnd()), peers: [{ id: 'u-host', name: 'host', role: 'host' }], demo: {} })
    const other = page(s, 'other', 'other', disk())
    const imported = await other.controller.saved.importFile(file)
    expect(imported.name).toMatch(/^session-/)
    expect(imported.peers).toEqual([{ id: 'u-host', name: 'host', role: 'host' }])
    await expect(other.controller.saved.importFile(file)).rejects.toMatchObject({ code: 'saved-duplicate' })
    await expect(other.controller.saved.importFile('{"entries": 3}', 'bad')).rejects.toMatchObject({ code: 'saved-invalid' })
    await expect(other.controller.saved.importFile('not json', 'bad')).rejects.toMatchObject({ code: 'saved-invalid' })
    await other.controller.saved.open(imported.name)
    expect(other.kv.store()).toEqual({ shape: { x: 1 } })
  })

  it('state for a provider this page lacks is kept and handed over when it registers', async () => {
    const s = new TestSession(6)
    const profile = disk()
    const first = page(s, 'first', 'a', profile)
    const notes = new KvProvider('notes')
    first.controller.registerProvider(notes)
    notes.set('n1', 'hello')
    first.kv.set('k', 1)
    await first.controller.saved.saveAs('with-notes')

    const net = new MemoryNetwork({ seed: 1 })
    const bare = new SessionSyncController({ transport: net.transport('bare'), clock: net.clockFor('bare'), journal: { store: profile.journal, tabStorage: profile.tab } })
    const kv = new KvProvider('kv')
    bare.registerProvider(kv)
    const codes: string[] = []
    bare.on('session-diagnostic', (d) => codes.push(d.code))
    await bare.saved.open('with-notes')
    expect(kv.store()).toEqual({ k: 1 })
    expect(codes).toContain('journal-quarantined')
    // Saved again meanwhile: the kept state is not lost.
    await bare.saved.saveAs('still-with-notes')
    const lateNotes = new KvProvider('notes')
    bare.registerProvider(lateNotes)
    await net.clock.advance(10)
    expect(lateNotes.store()).toEqual({ n1: 'hello' })
    const again = page(s, 'again', 'a', profile)
    const againNotes = new KvProvider('notes')
    again.controller.registerProvider(againNotes)
    await again.controller.saved.open('still-with-notes')
    expect(againNotes.store()).toEqual({ n1: 'hello' })
  })

  it('a saved record of another layout version is refused with a typed error', async () => {
    const s = new TestSession(8)
    const profile = disk()
    const a = page(s, 'a', 'a', profile)
    a.kv.set('k', 1)
    await a.controller.saved.saveAs('x')
    profile.journal.tamperSaved('x', (record) => (record.v = 0))
    await expect(a.controller.saved.open('x')).rejects.toMatchObject({ code: 'journal-version' })
    expect(a.controller.isActive()).toBe(false)
  })

  it('needs the journal: with it off, saved sessions say so', async () => {
    const s = new TestSession(1)
    const off = s.peer('off', { journal: false })
    await expect(off.controller.saved.list()).rejects.toMatchObject({ code: 'journal-off' })
    expect(diagnostics(off)).toEqual([])
  })
})

describe('who took part', () => {
  it('a save lists everyone who took part, with when they joined and left, not only those still here', async () => {
    const s = new TestSession(31)
    const host = page(s, 'host', 'host', disk())
    await host.controller.start()
    const startedAt = s.clock.now()
    const g1 = page(s, 'g1', 'g1', disk())
    const g2 = page(s, 'g2', 'g2', disk())
    await s.connect(host, g1)
    const g1JoinedAt = s.clock.now()
    await s.connect(host, g2)
    await s.settle(1_000)
    await g1.controller.leave()
    await s.settle()
    const g1LeftAt = s.clock.now()
    const saved = await host.controller.saved.saveAs('with everyone')
    const byId = new Map(saved.peers.map((p) => [p.id, p]))
    expect([...byId.keys()].sort()).toEqual(['u-g1', 'u-g2', 'u-host'])
    expect(byId.get('u-host')).toMatchObject({ role: 'host', since: startedAt })
    expect(byId.get('u-host')!.until).toBeUndefined()
    const left = byId.get('u-g1')!
    expect(left.since).toBeLessThanOrEqual(g1JoinedAt)
    expect(left.until).toBeGreaterThan(left.since!)
    expect(left.until).toBeLessThanOrEqual(g1LeftAt)
    expect(byId.get('u-g2')!.until).toBeUndefined()
    // The same list read back from the store.
    const [listed] = await host.controller.saved.list()
    expect(listed!.peers).toEqual(saved.peers)
  })
})
