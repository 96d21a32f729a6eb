import { describe, expect, it } from 'vitest'
import { TestSession, diagnostics, eventsOf, type TestPeer } from '../helpers/session.js'
import type { SessionSyncOptions } from '../../src/index.js'

async function withGuest(hostOptions: Partial<SessionSyncOptions>, access: 'editor' | 'viewer' = 'editor') {
  const s = new TestSession()
  const host = s.peer('host', hostOptions)
  host.kv.set('title', 'original')
  await host.controller.start()
  const guest = s.peer('g1')
  await s.connect(host, guest, access)
  return { s, host, guest }
}

describe('admission and authorization', () => {
  it("refuses a viewer's intents, rolls its change back, and still syncs its cursor", async () => {
    const { s, host, guest } = await withGuest({}, 'viewer')
    expect(guest.controller.getSelf().access).toBe('viewer')
    expect(host.controller.getPeers().find((p) => p.name === 'g1')?.access).toBe('viewer')
    guest.kv.set('title', 'vandalised')
    guest.cursor.set('pos', [1, 2])
    await s.settle()
    expect(host.kv.store()).toEqual({ title: 'original' })
    expect(diagnostics(host, 'intent-unauthorized')).toHaveLength(1)
    expect(diagnostics(guest, 'intent-refused')).toEqual([expect.objectContaining({ providerId: 'kv', reason: 'unauthorized', intentId: expect.any(String) })])
    expect(guest.kv.store()).toEqual({ title: 'original' })
    expect(guest.controller.pendingIntents).toBe(0)
    expect(host.cursor.store()).toEqual({ pos: [1, 2] })
  })

  it('lets authorizeIntent refine the rule per provider', async () => {
    const { s, host, guest } = await withGuest({ authorizeIntent: (intent, _peer, allowed) => allowed && intent.providerId !== 'layers' })
    guest.kv.set('a', 1)
    guest.layers.set('opacity', 0, 'left')
    await s.settle()
    expect(host.kv.store()).toMatchObject({ a: 1 })
    expect(host.layers.store('left')).toEqual({})
    expect(guest.layers.store('left')).toEqual({})
  })

  it('asks the admit hook, without holding up the session, and turns away refused guests', async () => {
    const asked: string[] = []
    let decide: (ok: boolean) => void = () => {}
    const s = new TestSession()
    const host = s.peer('host', { admit: (peer) => { asked.push(peer.name); return new Promise<boolean>((r) => (decide = r)) } })
    await host.controller.start()
    const guest = s.peer('g1')
    const invite = await host.controller.createInvite()
    const { answerCode } = await guest.controller.join(invite.url)
    const accepted = host.controller.acceptAnswer(answerCode)
    await s.settle()
    await accepted
    expect(asked).toEqual(['g1'])
    host.kv.set('still', 'working')
    expect(guest.controller.getState()).toBe('joining')
    decide(false)
    await s.settle()
    expect(guest.controller.getState()).toBe('idle')
    expect(eventsOf(guest, 'session-ended').at(-1)?.reason).toBe('refused')
    expect(host.controller.getPeers().map((p) => p.name)).toEqual(['host'])
  })

  it('removes a kicked peer everywhere, tears its links down, and keeps it out', async () => {
    const s = await TestSession.started(4)
    const [g1, g2, g3] = s.guests as [TestPeer, TestPeer, TestPeer]
    s.host.controller.kick('u-g2')
    await s.settle()
    expect(g2.controller.getState()).toBe('idle')
    expect(eventsOf(g2, 'session-ended').at(-1)?.reason).toBe('removed')
    for (const p of [s.host, g1, g3]) expect(p.controller.getPeers().map((x) => x.name)).not.toContain('g2')
    expect(s.net.openLinks().filter((l) => l.includes('g2'))).toEqual([])
    // a new invite does not let the same user back in
    const invite = await s.host.controller.createInvite()
    const { answerCode } = await g2.controller.join(invite.url)
    const accepted = s.host.controller.acceptAnswer(answerCode)
    await s.settle()
    await accepted
    await s.settle()
    expect(g2.controller.getState()).toBe('idle')
    expect(eventsOf(g2, 'session-ended').at(-1)?.reason).toBe('removed')
  })

  it('keeps a removal to its session: the user is welcome in the next one, and shown there by a guest that heard of it', async () => {
    const s = await TestSession.started(3)
    const [g1, g2] = s.guests as [TestPeer, TestPeer]
    s.host.controller.kick('u-g2')
    await s.settle()
    expect(g1.controller.getPeers().map((p) => p.name)).not.toContain('g2')
    await s.host.controller.end()
    await s.settle()
    expect(g1.controller.getState()).toBe('idle')
    // A new session, hosted by the one that removed g2: g2 is admitted, and g1 lists it.
    await s.host.controller.start()
    await s.connect(s.host, g1)
    await s.connect(s.host, g2)
    expect(g2.controller.getState()).toBe('connected')
    expect(eventsOf(g2, 'session-ended').at(-1)?.reason).toBe('removed')
    for (const p of [s.host, g1]) expect(p.controller.getPeers().map((x) => x.name).sort()).toEqual(['g1', 'g2', 'host'])
  })

  it('keeps a kicked peer out after the host that kicked it is gone', async () => {
    const s = await TestSession.started(4)
    const [g1, g2] = s.guests as [TestPeer, TestPeer, TestPeer]
    s.host.controller.kick('u-g2')
    await s.settle()
    s.net.crash('host')
    await s.settle(30_000)
    expect(g1.controller.getRole()).toBe('host')
    await s.connect(g1, g2)
    expect(g2.controller.getState()).toBe('idle')
    expect(eventsOf(g2, 'session-ended').at(-1)?.reason).toBe('removed')
    expect(g1.controller.getPeers().map((p) => p.name)).not.toContain('g2')
  })
})
