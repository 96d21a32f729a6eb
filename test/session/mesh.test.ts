import { describe, expect, it } from 'vitest'
import { encodeMessage } from '../../src/wire/codec.js'
import { PROTOCOL_VERSION } from '../../src/wire/messages.js'
import type { SessionViewer } from '../../src/index.js'
import { KvProvider } from '../helpers/kv-provider.js'
import { TestSession, diagnostics, eventsOf, type TestPeer } from '../helpers/session.js'

const guestLinks = (s: TestSession) => s.net.openLinks().filter((l) => !l.includes('host'))

async function started(count: number, meshLimit: number, seed = 1) {
  const s = new TestSession(seed)
  const host = s.peer('host', { meshLimit })
  await host.controller.start()
  const guests: TestPeer[] = []
  for (let i = 1; i < count; i++) {
    const guest = s.peer(`g${i}`, { meshLimit })
    await s.connect(host, guest)
    guests.push(guest)
  }
  await s.settle()
  return { s, host, guests }
}

describe('peer-assisted mesh', () => {
  it('links every guest pair through the host, with no extra invite', async () => {
    const { s, guests } = await started(4, 6)
    expect(guestLinks(s)).toEqual(['g1>g2', 'g1>g3', 'g2>g1', 'g2>g3', 'g3>g1', 'g3>g2'])
    for (const g of guests) expect(g.controller.getPeers().filter((p) => !p.self).every((p) => p.linked)).toBe(true)
  })

  it('sends view deltas straight between guests (they arrive with the host cut off)', async () => {
    const { s, host, guests } = await started(4, 6)
    const [g1, g2, g3] = guests as [TestPeer, TestPeer, TestPeer]
    s.net.partition(['host'], ['g2', 'g3'])
    g1.cursor.set('pos', [5, 5])
    await s.settle()
    expect(g2.cursor.store()).toEqual({ pos: [5, 5] })
    expect(g3.cursor.store()).toEqual({ pos: [5, 5] })
    expect(host.cursor.store()).toEqual({ pos: [5, 5] })
    expect(g2.cursor.applied).toHaveLength(1)
  })

  it('switches to a host star above meshLimit and back, losing and duplicating nothing', async () => {
    const { s, host, guests } = await started(3, 3)
    expect(guestLinks(s)).toEqual(['g1>g2', 'g2>g1'])
    const all = [host, ...guests]
    let n = 0
    const lastView = new Map<string, string>()
    const burst = () => {
      for (const p of all) {
        if (!p.controller.isActive()) continue
        lastView.set(p.name, `${p.name}-${++n}`)
        p.cursor.set('pos', lastView.get(p.name))
        p.kv.set(`${p.name}-${n}`, n)
      }
    }
    burst()
    for (const name of ['g3', 'g4']) {
      const guest = s.peer(name, { meshLimit: 3 })
      const joining = s.connect(host, guest)
      burst()
      await joining
      all.push(guest)
      burst()
    }
    await s.settle()
    // a star: guests keep standby links to the two next successors (g1, g2) only
    const pairs = (links: string[]) => links.filter((l) => l.split('>')[0]! < l.split('>')[1]!)
    expect(pairs(guestLinks(s))).toEqual(['g1>g2', 'g1>g3', 'g1>g4', 'g2>g3', 'g2>g4'])
    // g3 and g4 have no link: their view deltas go through the host
    const [g3, g4] = [all[3]!, all[4]!]
    g3.cursor.set('pos', 'via-host')
    await s.settle()
    expect(g4.cursor.store()).toMatchObject({ pos: 'via-host' })
    lastView.set('g3', 'via-host')
    burst()
    await guests[1]!.controller.leave()
    burst()
    await s.settle(1_000)
    // g2 gone: g3 is a successor now, so g3–g4 get a standby link
    expect(pairs(guestLinks(s))).toEqual(['g1>g3', 'g1>g4', 'g3>g4'])
    burst()
    await g4.controller.leave()
    burst()
    await s.settle(1_000)
    expect(pairs(guestLinks(s))).toEqual(['g1>g3'])
    burst()
    await s.settle()
    const alive = all.filter((p) => p.controller.isActive())
    expect(alive.map((p) => p.name)).toEqual(['host', 'g1', 'g3'])
    for (const p of alive) expect(p.kv.store()).toEqual(host.kv.store())
    // every authoritative change applied at most once on every peer (exactly once where not made)
    for (const p of alive) {
      const ids = p.kv.applied.map((a) => a.delta.intentId)
      expect(new Set(ids).size).toBe(ids.length)
    }
    // last write wins: every peer's last view delta from each sender is that sender's last
    for (const p of alive) for (const sender of alive) {
      if (p === sender) continue
      const last = p.cursor.applied.filter((a) => a.meta.origin === `u-${sender.name}`).at(-1)?.delta.value
      expect(last).toBe(lastView.get(sender.name))
    }
  })

  it('refuses to relay for peers outside the session, and guests take relays from their host only', async () => {
    const { s, host, guests } = await started(3, 6)
    s.net.linkEnd('g1', 'host')!.send(encodeMessage({ v: PROTOCOL_VERSION, t: 'signal', to: 'u-stranger', kind: 'offer', signal: 'x' }))
    s.net.linkEnd('g1', 'g2')!.send(encodeMessage({ v: PROTOCOL_VERSION, t: 'relay', from: 'u-g1', kind: 'offer', signal: 'x' }))
    s.net.linkEnd('g1', 'g2')!.send(encodeMessage({ v: PROTOCOL_VERSION, t: 'intent', id: 'sneaky', p: 'kv', d: { key: 'a', value: 1 } }))
    await s.settle()
    expect(diagnostics(host, 'signal-refused')).toHaveLength(1)
    expect(diagnostics(guests[1]!, 'wire-out-of-role')).toHaveLength(2)
    expect(guests[1]!.kv.store()).toEqual({})
  })

  it('resolves glare deterministically: one link per pair', async () => {
    const { s, guests } = await started(3, 6)
    const [g1, g2] = guests as [TestPeer, TestPeer]
    await g1.controller.leave()
    await s.settle()
    const g3 = s.peer('g3')
    await s.connect(s.peers[0]!, g3)
    // both ends are told to offer at once
    s.net.linkEnd('host', 'g2')!.send(encodeMessage({ v: PROTOCOL_VERSION, t: 'connect', peer: 'u-g3' }))
    s.net.linkEnd('host', 'g3')!.send(encodeMessage({ v: PROTOCOL_VERSION, t: 'connect', peer: 'u-g2' }))
    await s.settle(1_000)
    expect(guestLinks(s)).toEqual(['g2>g3', 'g3>g2'])
    expect(diagnostics(g2, 'link-failed')).toEqual([])
  })

  it('asks again for a guest link that closed, a link timeout after it last asked, not before', async () => {
    const { s } = await started(4, 6)
    s.net.cut('g1', 'g2')
    await s.settle(20_000)
    expect(guestLinks(s)).toEqual(['g1>g3', 'g2>g3', 'g3>g1', 'g3>g2'])
    await s.settle(12_000)
    expect(guestLinks(s)).toEqual(['g1>g2', 'g1>g3', 'g2>g1', 'g2>g3', 'g3>g1', 'g3>g2'])
  })

  it('links a guest frozen while its links formed as soon as it is heard again', async () => {
    const timers = { meshLimit: 6, linkTimeoutMs: 5_000 }
    const s = new TestSession(3)
    const host = s.peer('host', timers)
    await host.controller.start()
    for (const name of ['g1', 'g2']) await s.connect(host, s.peer(name, timers))
    const g3 = s.peer('g3', timers)
    const invite = await host.controller.createInvite()
    const { answerCode } = await g3.controller.join(invite.url)
    const accepted = host.controller.acceptAnswer(answerCode)
    await s.settle(1)
    // Admitted, its links to g1 and g2 still to form: the tab stops for longer than a link may take.
    s.net.freeze('g3')
    await s.settle(8_000)
    expect(diagnostics(host, 'link-failed')).toEqual([])
    expect(guestLinks(s).filter((l) => l.includes('g3'))).toEqual([])
    s.net.resume('g3')
    await s.settle(500)
    await accepted
    expect(guestLinks(s).filter((l) => l.includes('g3'))).toEqual(['g1>g3', 'g2>g3', 'g3>g1', 'g3>g2'])
  })

  it('drops offers sent through a lost host, so the new host links a guest pair at once', async () => {
    const timers = { meshLimit: 6, linkTimeoutMs: 5_000 }
    const s = new TestSession(3)
    const host = s.peer('host', timers)
    await host.controller.start()
    const [g1, g2] = [s.peer('g1', timers), s.peer('g2', timers)]
    for (const guest of [g1, g2]) await s.connect(host, guest)
    // g2 stands still while g3 is admitted: the host's roster and its ask to link g3 wait for it.
    s.net.freeze('g2')
    const g3 = s.peer('g3', timers)
    await s.connect(host, g3)
    host.controller.goodbye()
    await s.settle(500)
    // Back, g2 offers to g3 through the host that left (its goodbye comes after), then elects.
    s.net.resume('g2')
    await s.settle(3_000)
    expect(g1.controller.getRole()).toBe('host')
    expect(g2.controller.getPeers().find((p) => p.role === 'host')?.name).toBe('g1')
    // The new host's ask is not lost on the dead offer: the pair links now, not once that offer timed out.
    expect(guestLinks(s).filter((l) => l.startsWith('g2') || l.startsWith('g3'))).toEqual(['g2>g1', 'g2>g3', 'g3>g1', 'g3>g2'])
  })

  it("passes a guest pair's offer and answer at once while the host's queue waits on a slow snapshot", async () => {
    // A provider that answers on timers, in a background tab whose timers wake late: the admission waits on it.
    class SlowSnapshot extends KvProvider {
      delayMs = 0
      override snapshot(viewer: SessionViewer | null): Record<string, unknown> {
        const state = super.snapshot(viewer)
        return new Promise((resolve) => s.clock.setTimeout(() => resolve(state), this.delayMs)) as never
      }
    }
    const timers = { meshLimit: 6, linkTimeoutMs: 5_000 }
    const s = new TestSession(5)
    const host = s.peer('host', timers)
    const slow = new SlowSnapshot('slow')
    host.controller.registerProvider(slow)
    await host.controller.start()
    const g1 = s.peer('g1', timers)
    g1.controller.registerProvider(new KvProvider('slow'))
    await s.connect(host, g1)
    slow.delayMs = 8_000
    const g2 = s.peer('g2', timers)
    g2.controller.registerProvider(new KvProvider('slow'))
    const invite = await host.controller.createInvite()
    const { answerCode } = await g2.controller.join(invite.url)
    const accepted = host.controller.acceptAnswer(answerCode)
    await s.settle(1_000)
    // Admitted and asked to link with g1, its snapshot still to come: the link forms meanwhile, not after the offer timed out.
    expect(g2.controller.getState()).toBe('joining')
    expect(guestLinks(s)).toEqual(['g1>g2', 'g2>g1'])
    await s.settle(8_000)
    await accepted
    expect(g2.controller.getState()).toBe('connected')
    expect(diagnostics(g1, 'link-failed')).toEqual([])
    expect(guestLinks(s)).toEqual(['g1>g2', 'g2>g1'])
  })

  it('drops a peer that says goodbye at once, everywhere', async () => {
    const { s, host, guests } = await started(4, 6)
    const [g1, g2, g3] = guests as [TestPeer, TestPeer, TestPeer]
    const before = s.clock.now()
    g2.controller.goodbye()
    await s.settle(50)
    for (const p of [host, g1, g3]) {
      expect(eventsOf(p, 'session-peer-dropped').map((e) => e.peer.name)).toEqual(['g2'])
      expect(p.controller.getPeers().map((x) => x.name)).not.toContain('g2')
    }
    expect(s.clock.now() - before).toBeLessThan(100)
    expect(guestLinks(s)).toEqual(['g1>g3', 'g3>g1'])
  })
})

describe('connection bounds', () => {
  it('never holds more links than maxLinks, and says so', async () => {
    const s = new TestSession()
    const options = { limits: { maxLinks: 3 } }
    const host = s.peer('host', { meshLimit: 12 })
    await host.controller.start()
    const guests: TestPeer[] = []
    for (let i = 1; i <= 5; i++) {
      const guest = s.peer(`g${i}`, options)
      await s.connect(host, guest)
      guests.push(guest)
    }
    await s.settle(1_000)
    for (const g of guests) expect(s.net.openLinks().filter((l) => l.startsWith(`${g.name}>`)).length).toBeLessThanOrEqual(3)
    expect(guests.some((g) => diagnostics(g, 'link-limit').length > 0)).toBe(true)
    // view deltas still reach everyone, through the host where no direct link exists
    guests[4]!.cursor.set('pos', 'bounded')
    await s.settle()
    for (const g of guests.slice(0, 4)) expect(g.cursor.store()).toEqual({ pos: 'bounded' })
  })
})
