import { describe, expect, it } from 'vitest'
import { SessionSyncController, type SessionEvents } from '../../src/index.js'
import { MemoryNetwork } from '../../src/testing.js'
import { ContractBoard } from '../helpers/contract-board.js'
import { TestSession, diagnostics, eventsOf, type TestPeer } from '../helpers/session.js'

/** Three boards per peer, written to the published contract: per-viewer, global, and a per-viewer view provider. */
function boards(peer: TestPeer) {
  const notes = new ContractBoard('notes', 'per-viewer')
  const title = new ContractBoard('title', 'global')
  const pointer = new ContractBoard('pointer', 'per-viewer', 90)
  peer.controller.registerProvider(notes.provider)
  peer.controller.registerProvider(title.provider)
  peer.controller.registerProvider(pointer.provider, { view: true })
  return { notes, title, pointer }
}

describe('providers written to the published contract', () => {
  it('route by viewerUniqueId and get intentId, sourceUserId and seq filled by the session', async () => {
    const session = new TestSession()
    const host = session.peer('host')
    const hostBoards = boards(host)
    hostBoards.notes.write('stain', 'H&E', 'right')
    hostBoards.title.write('case', 'S-17')
    await host.controller.start()
    const g1 = session.peer('g1')
    const g2 = session.peer('g2')
    const [b1, b2] = [boards(g1), boards(g2)]
    await session.connect(host, g1)
    await session.connect(host, g2)
    for (const b of [b1, b2]) {
      expect(b.notes.notesOf('right')).toEqual({ stain: 'H&E' })
      expect(b.notes.notesOf('left')).toEqual({})
      expect(b.title.notesOf(undefined)).toEqual({ case: 'S-17' })
    }

    b1.notes.write('grade', '2', 'left')
    await session.settle()
    for (const b of [hostBoards, b2]) expect(b.notes.notesOf('left')).toEqual({ grade: '2' })
    expect(hostBoards.notes.notesOf('right')).toEqual({ stain: 'H&E' })

    // The host applied the guest's intent; the other guest the authoritative delta.
    const [atHost] = hostBoards.notes.applied
    expect(atHost!.delta).toMatchObject({ providerId: 'notes', viewerUniqueId: 'left', viewerId: 'left', sourceUserId: 'u-g1', kind: 'note-set', payload: { key: 'grade', value: '2' } })
    expect(atHost!.delta.intentId).toMatch(/^[\w-]{16}$/)
    expect(atHost!.delta.seq).toBeUndefined()
    expect(atHost!.meta).toEqual({ remote: true, origin: 'u-g1', role: 'host', viewer: 'left', bootstrap: false, intentId: atHost!.delta.intentId })
    const [atG2] = b2.notes.applied
    expect(atG2!.delta).toMatchObject({ providerId: 'notes', viewerUniqueId: 'left', sourceUserId: 'u-g1', intentId: atHost!.delta.intentId, seq: expect.any(Number) })
    expect(atG2!.meta).toMatchObject({ origin: 'u-g1', role: 'guest', viewer: 'left', bootstrap: false, seq: atG2!.delta.seq })
    // The author does not apply its own unchanged change again.
    expect(b1.notes.applied).toEqual([])

    // A global board, from the host: sourceUserId is the host.
    hostBoards.title.write('case', 'S-18')
    await session.settle()
    for (const b of [b1, b2]) {
      expect(b.title.notesOf(undefined)).toEqual({ case: 'S-18' })
      expect(b.title.applied.at(-1)!.delta).toMatchObject({ providerId: 'title', sourceUserId: 'u-host', seq: expect.any(Number) })
    }
    for (const peer of [host, g1, g2]) expect(diagnostics(peer)).toEqual([])
  })

  it('an unmodified provider registered with { view: true } sends view deltas, in its author\'s name, to the right viewer', async () => {
    const session = new TestSession()
    const host = session.peer('host')
    const hostBoards = boards(host)
    await host.controller.start()
    const g1 = session.peer('g1')
    const b1 = boards(g1)
    await session.connect(host, g1)
    b1.pointer.write('at', '0.25,0.5', 'right')
    await session.settle()
    expect(hostBoards.pointer.notesOf('right')).toEqual({ at: '0.25,0.5' })
    const [call] = hostBoards.pointer.applied
    expect(call!.delta).toMatchObject({ providerId: 'pointer', viewerUniqueId: 'right', sourceUserId: 'u-g1' })
    // A view delta: no intent, no sequence number.
    expect(call!.delta.intentId).toBeUndefined()
    expect(call!.meta).toEqual({ remote: true, origin: 'u-g1', role: 'host', viewer: 'right', bootstrap: false })
    expect(diagnostics(host)).toEqual([])
    expect(diagnostics(g1)).toEqual([])
  })

  it('a provider cannot write sourceUserId, intentId or seq for the others', async () => {
    const session = new TestSession()
    const host = session.peer('host')
    const hostBoards = boards(host)
    await host.controller.start()
    const g1 = session.peer('g1')
    await session.connect(host, g1)
    let emit: (delta: SessionDelta) => void = () => {}
    g1.controller.registerProvider({ ...hostBoards.title.provider, id: 'forger', subscribe: (e) => ((emit = e), () => {}) })
    host.controller.registerProvider({ ...hostBoards.title.provider, id: 'forger' })
    // Registered mid-session: subscribed at once.
    emit({ providerId: 'title', intentId: 'chosen', sourceUserId: 'u-host', seq: 99, kind: 'note-set', payload: { key: 'k', value: 'v' } })
    await session.settle()
    const call = hostBoards.title.applied.at(-1)!
    expect(call.delta).toMatchObject({ providerId: 'forger', sourceUserId: 'u-g1' })
    expect(call.delta.intentId).not.toBe('chosen')
    expect(call.delta.seq).toBeUndefined()
  })

  it('meta.bootstrap is true for what arrives before the snapshot, and only then', async () => {
    const session = new TestSession()
    const host = session.peer('host')
    const hostBoards = boards(host)
    hostBoards.notes.write('stain', 'H&E', 'left')
    await host.controller.start()
    const g1 = session.peer('g1')
    const b1 = boards(g1)
    hostBoards.notes.hold()
    await session.connect(host, g1)
    expect(g1.controller.getState()).toBe('joining')
    // The host's pointer moves while the guest waits for its snapshot.
    hostBoards.pointer.write('at', '1,1', 'left')
    await session.settle()
    expect(b1.pointer.applied.map((c) => c.meta.bootstrap)).toEqual([true])
    hostBoards.notes.release()
    await session.settle()
    expect(g1.controller.getState()).toBe('connected')
    expect(b1.notes.notesOf('left')).toEqual({ stain: 'H&E' })
    hostBoards.pointer.write('at', '2,2', 'left')
    await session.settle()
    expect(b1.pointer.applied.map((c) => c.meta.bootstrap)).toEqual([true, false])
    expect(b1.pointer.notesOf('left')).toEqual({ at: '2,2' })
  })
})

describe('the controller as the contract describes it', () => {
  it('names peers in events as the contract does: userId, userName, color', async () => {
    const session = await TestSession.started(2)
    const [g1] = session.guests
    const joined = eventsOf(session.host, 'session-peer-joined').map((e) => e.peer)
    const g1Peer = session.host.controller.getPeers().find((p) => p.id === 'u-g1')!
    expect(joined).toEqual([expect.objectContaining({ id: 'u-g1', userId: 'u-g1', userName: 'g1', color: g1Peer.color })])
    await g1!.controller.leave()
    await session.settle()
    expect(eventsOf(session.host, 'session-peer-dropped').map((e) => e.peer)).toEqual([expect.objectContaining({ userId: 'u-g1', userName: 'g1', color: g1Peer.color })])
  })

  it('works with no arguments: WebRTC, no ICE servers, a notice to show, role none', () => {
    const controller = new SessionSyncController()
    expect(controller.hasIceServers).toBe(false)
    expect(controller.connectivityNotice).toMatch(/No ICE servers/)
    expect(controller.getRole()).toBe('none')
    expect(controller.isActive()).toBe(false)
  })

  it('addHandler/removeHandler/raiseEvent beside on/off, mirrored onto a bus with emit or raiseEvent', async () => {
    const net = new MemoryNetwork()
    const raised: string[] = []
    const emitted: string[] = []
    const osdLike = new SessionSyncController({ transport: net.transport('a'), clock: net.clock, emitter: { raiseEvent: (type) => raised.push(type) } })
    const mittLike = new SessionSyncController({ transport: net.transport('b'), clock: net.clock, emitter: { emit: (type) => emitted.push(type) } })
    const seen: Array<SessionEvents['session-role-changed']> = []
    const handler = (event: SessionEvents['session-role-changed']) => seen.push(event)
    osdLike.addHandler('session-role-changed', handler)
    await osdLike.start()
    await mittLike.start()
    osdLike.removeHandler('session-role-changed', handler)
    await osdLike.leave()
    expect(seen).toEqual([{ role: 'host', previous: 'none' }])
    expect(raised).toEqual(expect.arrayContaining(['session-started', 'session-role-changed', 'session-ended']))
    expect(emitted).toEqual(expect.arrayContaining(['session-started', 'session-role-changed']))
    const direct: unknown[] = []
    osdLike.on('session-host-lost', (e) => direct.push(e))
    osdLike.raiseEvent('session-host-lost', { hostId: 'x' })
    expect(direct).toEqual([{ hostId: 'x' }])
    expect(raised.at(-1)).toBe('session-host-lost')
    expect(osdLike.getRole()).toBe('none')
  })
})
