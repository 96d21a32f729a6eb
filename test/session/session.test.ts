import { describe, expect, it } from 'vitest'
import { encodeMessage } from '../../src/wire/codec.js'
import { PROTOCOL_VERSION } from '../../src/wire/messages.js'
import { InviteTooLongError, type Link } from '../../src/index.js'
import { TestSession, diagnostics, eventsOf, type TestPeer } from '../helpers/session.js'

const states = (peers: TestPeer[]) => peers.map((p) => p.controller.getState())

describe('a session on the in-memory network', () => {
  it('bootstraps every guest to the host state, applying snapshots in ascending priority', async () => {
    const session = new TestSession()
    const host = session.peer('host')
    host.kv.set('title', 'Slide 7')
    host.layers.set('opacity', 0.4, 'left')
    host.layers.set('opacity', 0.9, 'right')
    await host.controller.start()
    const log: string[] = []
    const guests = [session.peer('g1'), session.peer('g2')]
    for (const g of guests) {
      ;(g.kv as unknown as { log: string[] }).log.push = (...x: string[]) => log.push(...x)
      ;(g.layers as unknown as { log: string[] }).log.push = (...x: string[]) => log.push(...x)
      await session.connect(host, g)
    }
    expect(states([host, ...guests])).toEqual(['connected', 'connected', 'connected'])
    for (const g of guests) {
      expect(g.kv.store()).toEqual({ title: 'Slide 7' })
      expect(g.layers.store('left')).toEqual({ opacity: 0.4 })
      expect(g.layers.store('right')).toEqual({ opacity: 0.9 })
      expect(eventsOf(g, 'session-bootstrap-complete')).toHaveLength(1)
      expect(g.controller.getRole()).toBe('guest')
    }
    // layers (priority 10) before kv (20) before cursor (50), per viewer for per-viewer providers
    expect(log.slice(0, 3)).toEqual(['snapshot:layers:left', 'snapshot:layers:right', 'snapshot:kv:*'])
    expect(host.controller.getPeers().map((p) => [p.name, p.role, p.rank])).toEqual([
      ['host', 'host', 0], ['g1', 'guest', 1], ['g2', 'guest', 2],
    ])
    expect(guests[1]!.controller.getPeers().map((p) => p.name)).toEqual(['host', 'g1', 'g2'])
  })

  it('applies a guest intent exactly once on every peer, tagged with the originator', async () => {
    const s = await TestSession.started(3)
    const [g1, g2] = s.guests
    const intentId = g1!.kv.set('color', 'red')
    expect(intentId).toMatch(/^[\w-]{13,20}$/)
    expect(g1!.controller.pendingIntents).toBe(1)
    await s.settle()
    for (const peer of [s.host, g2!]) {
      const applies = peer.kv.applied.filter((a) => a.delta.intentId === intentId)
      expect(applies).toHaveLength(1)
      expect(applies[0]!.meta.origin).toBe('u-g1')
      expect(peer.kv.store()).toEqual({ color: 'red' })
    }
    expect(s.host.kv.applied[0]!.meta.role).toBe('host')
    expect(g2!.kv.applied[0]!.meta.role).toBe('guest')
    // the originator applied it locally already; its outbox clears on the host's delta
    expect(g1!.kv.applied).toHaveLength(0)
    expect(g1!.controller.pendingIntents).toBe(0)
  })

  it('lets the host transform an intent: the emitted result is authoritative everywhere', async () => {
    const s = await TestSession.started(3)
    s.host.kv.transform = (d) => ({ ...d, value: String(d.value).toUpperCase() })
    const [g1, g2] = s.guests
    g1!.kv.set('name', 'ada')
    await s.settle()
    for (const peer of [s.host, g1!, g2!]) expect(peer.kv.store()).toEqual({ name: 'ADA' })
    expect(g1!.kv.applied.map((a) => a.meta.origin)).toEqual(['u-g1'])
  })

  it('clears a refused intent with an ack and tells the guest', async () => {
    const s = await TestSession.started(2)
    s.host.kv.refuse = true
    const g1 = s.guests[0]!
    const intentId = g1.kv.set('x', 1)
    await s.settle()
    expect(g1.controller.pendingIntents).toBe(0)
    expect(diagnostics(g1, 'intent-refused')).toEqual([expect.objectContaining({ providerId: 'kv', reason: 'refused', intentId })])
    expect(s.host.kv.store()).toEqual({})
  })

  it('applies the same intent once when it is delivered twice, as an intent or as a delta', async () => {
    const s = await TestSession.started(3)
    const [g1, g2] = s.guests
    const intentId = g1!.kv.set('k', 'v') as string
    await s.settle()
    const hostLinks = s.net.openLinks()
    expect(hostLinks).toContain('g1>host')
    // the guest's outbox flush (e.g. after a reconnect) re-sends the same intent
    const intent = encodeMessage({ v: PROTOCOL_VERSION, t: 'intent', id: intentId, p: 'kv', d: { key: 'k', value: 'v' } })
    linkOf(s, 'g1', 'host').send(intent)
    // and the host's delta arrives again under a new sequence number (a replay after failover)
    const delta = encodeMessage({ v: PROTOCOL_VERSION, t: 'delta', seq: 2, epoch: 1, id: intentId, origin: 'u-g1', changes: [{ p: 'kv', d: { key: 'k', value: 'v' } }] })
    linkOf(s, 'host', 'g2').send(delta)
    await s.settle()
    expect(s.host.kv.applied.filter((a) => a.delta.intentId === intentId)).toHaveLength(1)
    expect(g2!.kv.applied.filter((a) => a.delta.intentId === intentId)).toHaveLength(1)
  })

  it("does not apply its own change again when the host's ack that it holds it overtakes its delta (seed 2236880)", async () => {
    const s = await TestSession.started(2)
    const g1 = s.guests[0]!
    // The host applies the change, but its delta never reaches the guest: a gap the guest does not know of yet.
    s.net.setFault('host', 'g1', { drop: 1 })
    const intentId = g1.kv.set('k', 'v') as string
    await s.settle()
    s.net.setFault('host', 'g1', undefined)
    // The outbox flushed again (a hello, the first bootstrap's end): the host answers that it holds it.
    linkOf(s, 'g1', 'host').send(encodeMessage({ v: PROTOCOL_VERSION, t: 'intent', id: intentId, p: 'kv', d: { key: 'k', value: 'v' } }))
    await s.settle()
    expect(g1.controller.pendingIntents).toBe(1)
    // The next delta shows the gap; the resend brings the guest's own change, already in its state.
    s.host.kv.set('after', 1)
    await s.settle()
    expect(diagnostics(g1, 'seq-gap')).toHaveLength(1)
    expect(g1.kv.applied.filter((a) => a.delta.intentId === intentId)).toEqual([])
    expect(g1.kv.store()).toEqual({ k: 'v', after: 1 })
    expect(g1.controller.pendingIntents).toBe(0)
  })

  it('sends view deltas without a host round trip, last write wins per sender', async () => {
    const s = await TestSession.started(3)
    const [g1, g2] = s.guests
    g1!.cursor.set('pos', [1, 2])
    g1!.cursor.set('pos', [3, 4])
    await s.settle()
    for (const peer of [s.host, g2!]) {
      expect(peer.cursor.store()).toEqual({ pos: [3, 4] })
      expect(peer.cursor.applied.every((a) => a.meta.view && a.meta.origin === 'u-g1' && a.delta.intentId === undefined)).toBe(true)
    }
    expect(g1!.controller.pendingIntents).toBe(0)
    // no authoritative delta was made for it
    expect(s.host.kv.applied).toHaveLength(0)
    // a stale (older) view delta from the same sender is ignored
    const stale = encodeMessage({ v: PROTOCOL_VERSION, t: 'view', origin: 'u-g1', n: 1, p: 'cursor', d: { key: 'pos', value: [0, 0] } })
    linkOf(s, 'g1', 'host').send(stale)
    await s.settle()
    expect(s.host.cursor.store()).toEqual({ pos: [3, 4] })
  })

  it('queues intents made before bootstrap and flushes them after', async () => {
    const s = new TestSession()
    const host = s.peer('host')
    await host.controller.start()
    const guest = s.peer('g1')
    const invite = await host.controller.createInvite()
    const { answerCode } = await guest.controller.join(invite.url)
    expect(guest.controller.getState()).toBe('joining')
    guest.kv.set('early', true)
    expect(guest.controller.pendingIntents).toBe(1)
    const accepted = host.controller.acceptAnswer(answerCode)
    await s.settle()
    await accepted
    await s.settle()
    expect(host.kv.store()).toEqual({ early: true })
    expect(guest.controller.pendingIntents).toBe(0)
  })

  it('recovers from a gap in host sequence numbers instead of diverging', async () => {
    const s = await TestSession.started(2)
    const g1 = s.guests[0]!
    s.net.setFault('host', 'g1', { drop: 1 })
    s.host.kv.set('a', 1)
    s.host.kv.set('b', 2)
    await s.settle()
    s.net.setFault('host', 'g1', undefined)
    s.host.kv.set('c', 3)
    await s.settle()
    expect(diagnostics(g1, 'seq-gap')).toHaveLength(1)
    expect(g1.kv.store()).toEqual({ a: 1, b: 2, c: 3 })
    expect(g1.kv.applied.map((a) => a.meta.seq)).toEqual([1, 2, 3])
  })

  it('re-bootstraps a guest whose gap is older than the replay log', async () => {
    const s = new TestSession()
    const host = s.peer('host', { limits: { replayLogSize: 2 } })
    await host.controller.start()
    const g1 = s.peer('g1')
    await s.connect(host, g1)
    s.net.setFault('host', 'g1', { drop: 1 })
    for (let i = 0; i < 5; i++) host.kv.set(`k${i}`, i)
    await s.settle()
    s.net.setFault('host', 'g1', undefined)
    host.kv.set('last', true)
    await s.settle()
    expect(g1.kv.store()).toEqual(host.kv.store())
    expect(eventsOf(g1, 'session-bootstrap-complete')).toHaveLength(2)
  })

  it('isolates a provider that throws, in any method, sync or async', async () => {
    const s = new TestSession()
    const host = s.peer('host')
    const bad = {
      id: 'bad', scope: 'global' as const,
      snapshot: () => { throw new Error('snapshot boom') },
      applySnapshot: async () => { throw new Error('never called') },
      subscribe: () => () => {},
      applyDelta: async () => { throw new Error('async boom') },
    }
    host.controller.registerProvider(bad)
    host.kv.set('ok', 1)
    await host.controller.start()
    const g1 = s.peer('g1')
    g1.controller.registerProvider({ ...bad, subscribe: () => { throw new Error('subscribe boom') } })
    await s.connect(host, g1)
    expect(g1.controller.getState()).toBe('connected')
    expect(g1.kv.store()).toEqual({ ok: 1 })
    expect(diagnostics(host, 'provider-error').map((d) => d.message)).toEqual([expect.stringContaining('snapshot boom')])
    expect(diagnostics(g1, 'provider-error').map((d) => d.message)).toEqual([expect.stringContaining('subscribe boom')])
    // a throwing applyDelta on the host refuses that intent only
    const wire = encodeMessage({ v: PROTOCOL_VERSION, t: 'intent', id: 'intent-bad-1', p: 'bad', d: {} })
    linkOf(s, 'g1', 'host').send(wire)
    g1.kv.set('after', 2)
    await s.settle()
    expect(diagnostics(host, 'provider-error')).toHaveLength(2)
    expect(host.kv.store()).toEqual({ ok: 1, after: 2 })
    expect(states([host, g1])).toEqual(['connected', 'connected'])
  })

  it('gives a provider that applies asynchronously (a promise or a bare thenable) its next change only once the last settled, in order', async () => {
    const s = new TestSession()
    const host = s.peer('host')
    const g1 = s.peer('g1')
    const log: string[] = []
    const emits = new Map<string, (delta: Record<string, unknown>) => unknown>()
    const provider = (id: string, applyDelta: (delta: Record<string, unknown>) => void | Promise<void>) => ({
      id, scope: 'global' as const, snapshot: () => ({}), applySnapshot: () => {}, applyDelta, subscribe: () => () => {},
    })
    const later = (id: string, n: unknown, resolve: () => void) => s.clock.setTimeout(() => (log.push(`end ${id} ${String(n)}`), resolve()), 30)
    g1.controller.registerProvider(provider('promise', (d) => (log.push(`start promise ${String(d.n)}`), new Promise<void>((resolve) => later('promise', d.n, resolve)))))
    // A thenable that is no Promise: what a provider built on another library may return.
    g1.controller.registerProvider(provider('thenable', (d) => (log.push(`start thenable ${String(d.n)}`), { then: (resolve: () => void) => later('thenable', d.n, resolve) } as unknown as Promise<void>)))
    for (const id of ['promise', 'thenable']) host.controller.registerProvider({ ...provider(id, () => {}), subscribe: (emit) => (emits.set(id, emit), () => {}) })
    const applyKv = g1.kv.applyDelta.bind(g1.kv)
    g1.kv.applyDelta = (delta, meta) => (log.push(`kv ${String(delta.key)}`), applyKv(delta, meta))
    await host.controller.start()
    await s.connect(host, g1)
    emits.get('promise')!({ n: 1 })
    emits.get('thenable')!({ n: 2 })
    emits.get('promise')!({ n: 3 })
    host.kv.set('after', true)
    await s.settle(500)
    expect(log).toEqual(['start promise 1', 'end promise 1', 'start thenable 2', 'end thenable 2', 'start promise 3', 'end promise 3', 'kv after'])
    expect(g1.kv.store()).toEqual({ after: true })
  })

  it('drops out-of-role and spoofed messages with a diagnostic, and goes on', async () => {
    const s = await TestSession.started(3)
    const [g1, g2] = s.guests
    // a guest may not send authoritative deltas or rosters
    linkOf(s, 'g1', 'host').send(encodeMessage({ v: PROTOCOL_VERSION, t: 'delta', seq: 9, epoch: 1, id: 'forged', origin: 'u-host', changes: [{ p: 'kv', d: { key: 'pwn', value: 1 } }] }))
    // nor claim another sender
    linkOf(s, 'g1', 'host').send(encodeMessage({ v: PROTOCOL_VERSION, t: 'view', origin: 'u-g2', n: 99, p: 'cursor', d: { key: 'pos', value: 'spoof' } }))
    // nor send garbage
    linkOf(s, 'g1', 'host').send(new TextEncoder().encode('{"v":1,"t":"intent","id":""}'))
    linkOf(s, 'g1', 'host').send(new Uint8Array([0xff, 0xfe]))
    linkOf(s, 'g1', 'host').send(new TextEncoder().encode('{"v":2,"t":"intent"}'))
    await s.settle()
    // One diagnostic each. Undecodable input is reported on arrival, the others in their turn
    // behind earlier messages, so the order across the two kinds is not fixed.
    expect(diagnostics(s.host).map((d) => d.code).sort()).toEqual(['wire-malformed', 'wire-malformed', 'wire-out-of-role', 'wire-out-of-role', 'wire-version'])
    expect(s.host.kv.store()).toEqual({})
    expect(g2!.cursor.store()).toEqual({})
    g1!.kv.set('still', 'works')
    await s.settle()
    expect(g2!.kv.store()).toEqual({ still: 'works' })
  })

  it('holds a view delta sent as text (the short decode) to the same bound, shape and gate as any message', async () => {
    const s = await TestSession.started(3)
    const [g1, g2] = s.guests
    const asText = (fields: Record<string, unknown>) => JSON.stringify({ v: PROTOCOL_VERSION, t: 'view', ...fields })
    const toHost = linkOf(s, 'g1', 'host')
    toHost.send(asText({ origin: 'u-g2', n: 99, p: 'cursor', d: { key: 'pos', value: 'spoof' } })) // another's view
    toHost.send(asText({ origin: 'u-g1', n: 99, p: 'kv', d: { key: 'pwn', value: 1 } })) // not a view provider
    toHost.send(asText({ origin: 'u-g1', n: -1, p: 'cursor', d: { key: 'pos', value: 'x' } })) // not a view: n is no count
    toHost.send(asText({ origin: 'u-g1', n: 99, p: 'cursor', d: { key: 'pos', value: 'x'.repeat(4 * 1024 * 1024 + 2048) } })) // over maxDeltaBytes and its envelope
    await s.settle()
    expect(diagnostics(s.host).map((d) => d.code).sort()).toEqual(['wire-malformed', 'wire-out-of-role', 'wire-out-of-role', 'wire-oversized'])
    expect(s.host.kv.store()).toEqual({})
    expect(s.host.cursor.store()).toEqual({})
    // Its own view, as our encoder writes it, goes through, and on to g2 through the host.
    toHost.send(asText({ origin: 'u-g1', n: 100, p: 'cursor', d: { key: 'pos', value: 'mine' } }))
    await s.settle()
    expect(s.host.cursor.store()).toEqual({ pos: 'mine' })
    expect(g1!.controller.getState()).toBe('connected')
    expect(g2!.controller.getState()).toBe('connected')
  })

  it('reports a fault while handling a message as internal-error, for text (the short decode) and bytes alike, and goes on', async () => {
    const s = await TestSession.started(2)
    const [g1] = s.guests
    // A provider whose scope throws once armed: reading it is the library's first step with it.
    let armed = false
    const odd = { id: 'odd', view: true, snapshot: () => ({}), applySnapshot: () => {}, subscribe: () => () => {}, applyDelta: () => {} }
    Object.defineProperty(odd, 'scope', { get: () => (armed ? (() => { throw new Error('scope unreadable') })() : 'global') })
    g1!.controller.registerProvider(odd as never)
    armed = true
    const fromHost = linkOf(s, 'host', 'g1')
    fromHost.send(JSON.stringify({ v: PROTOCOL_VERSION, t: 'view', origin: 'u-host', n: 1, p: 'odd', d: { x: 1 } })) // text: the short decode
    fromHost.send(encodeMessage({ v: PROTOCOL_VERSION, t: 'view', origin: 'u-host', n: 2, p: 'odd', d: { x: 2 } })) // bytes: the general decode
    await s.settle()
    expect(diagnostics(g1!, 'internal-error').map((d) => d.message)).toEqual([expect.stringContaining('scope unreadable'), expect.stringContaining('scope unreadable')])
    s.host.kv.set('after', 1)
    s.host.cursor.set('pos', 2)
    await s.settle()
    expect(g1!.kv.store()).toEqual({ after: 1 })
    expect(g1!.cursor.store()).toEqual({ pos: 2 })
  })

  it('returns everyone to idle with a reason on leave and on end', async () => {
    const s = await TestSession.started(3)
    const [g1, g2] = s.guests
    await g1!.controller.leave()
    await s.settle()
    expect(g1!.controller.getState()).toBe('idle')
    expect(eventsOf(g1!, 'session-ended')[0]!.reason).toBe('left')
    expect(eventsOf(s.host, 'session-peer-dropped').map((e) => [e.peer.name, e.reason])).toEqual([['g1', 'left']])
    expect(eventsOf(g2!, 'session-peer-dropped').map((e) => e.peer.name)).toEqual(['g1'])
    expect(g1!.kv.subscribed).toBe(false)
    await s.host.controller.end()
    await s.settle()
    expect(states([s.host, g1!, g2!])).toEqual(['idle', 'idle', 'idle'])
    expect(eventsOf(s.host, 'session-ended')[0]!.reason).toBe('ended')
    expect(eventsOf(g2!, 'session-ended')[0]!.reason).toBe('host-ended')
    expect(eventsOf(g2!, 'session-state-changed').map((e) => e.state)).toEqual(['joining', 'connected', 'leaving', 'idle'])
    expect(s.net.openLinks()).toEqual([])
  })

  it('carries on as host of one when the host says goodbye and nobody else is left', async () => {
    const s = await TestSession.started(2)
    s.host.controller.goodbye()
    await s.settle(2_000)
    const g1 = s.guests[0]!
    expect(eventsOf(g1, 'session-host-lost')).toEqual([{ hostId: 'u-host' }])
    expect(eventsOf(g1, 'session-role-changed').at(-1)).toEqual({ role: 'host', previous: 'guest' })
    expect(g1.controller.getState()).toBe('connected')
    expect(g1.controller.getPeers().map((p) => [p.name, p.role])).toEqual([['g1', 'host']])
    // the plugin lock stays engaged until the session ends
    expect(() => g1.controller.guardPluginLoad('x')).toThrow()
  })

  it('ends with a reason, rather than host a copy, when the host vanishes without a word and nobody else is left', async () => {
    // The host may only be cut off from us: a guest alone is no majority of two.
    const s = await TestSession.started(2)
    s.net.cut('host', 'g1')
    await s.settle(5_000)
    const g1 = s.guests[0]!
    expect(eventsOf(g1, 'session-host-lost')).toEqual([{ hostId: 'u-host' }])
    expect(g1.controller.getRole()).toBe('none')
    expect(eventsOf(g1, 'session-ended').at(-1)?.reason).toBe('isolated')
    expect(diagnostics(g1, 'election-failed')[0]?.message).toMatch(/ask for a new invite/)
    expect(s.host.controller.getRole()).toBe('host')
  })

  it('says how the link to the host ended when it ends before the host let the guest in', async () => {
    const s = new TestSession()
    const host = s.peer('host')
    await host.controller.start()
    const g1 = s.peer('g1')
    // The host's hello is on its way when the link goes: the guest was never let in.
    s.net.setFault('host', 'g1', { delay: 60_000 })
    const invite = await host.controller.createInvite()
    const { answerCode } = await g1.controller.join(invite.url)
    const accepted = host.controller.acceptAnswer(answerCode)
    await s.settle()
    await accepted
    expect(g1.controller.getState()).toBe('joining')
    s.net.cut('host', 'g1', 'channel closing')
    await s.settle()
    expect(g1.controller.getState()).toBe('idle')
    expect(eventsOf(g1, 'session-ended').map((e) => e.reason)).toEqual(['host-lost'])
    expect(diagnostics(g1, 'host-lost').map((d) => d.message)).toEqual([expect.stringContaining('(channel closing)')])
    expect(host.controller.getState()).toBe('connected')
  })

  it('replays the same seed to an identical event trace', async () => {
    const run = async (seed: number) => {
      const s = await TestSession.started(4, seed)
      s.guests[0]!.kv.set('a', 1)
      s.guests[1]!.cursor.set('pos', [1, 1])
      s.host.layers.set('blend', 'multiply', 'left')
      s.guests[2]!.layers.set('blend', 'screen', 'right')
      await s.settle()
      await s.guests[1]!.controller.leave()
      await s.settle()
      await s.host.controller.end()
      await s.settle()
      return s.trace
    }
    const a = await run(7)
    const b = await run(7)
    const c = await run(8)
    expect(a.length).toBeGreaterThan(30)
    expect(b).toEqual(a)
    expect(c).not.toEqual(a)
  })
})

/** The test's hand on one end of a link, to inject raw bytes as that peer. */
function linkOf(s: TestSession, from: string, to: string): Link {
  const link = s.net.linkEnd(from, to)
  if (!link) throw new Error(`no open link ${from}>${to}`)
  return link
}

describe('edges of the contract', () => {
  it('reports snapshot entries for providers or viewers this page lacks, and goes on', async () => {
    const s = new TestSession()
    const host = s.peer('host')
    host.controller.registerProvider({ id: 'extra', scope: 'global', snapshot: () => ({ x: 1 }), applySnapshot: () => {}, subscribe: () => () => {}, applyDelta: () => {} })
    host.controller.addViewer({ uniqueId: 'third' })
    host.layers.set('opacity', 1, 'third')
    await host.controller.start()
    const g1 = s.peer('g1')
    await s.connect(host, g1)
    expect(g1.controller.getState()).toBe('connected')
    expect(diagnostics(g1, 'unknown-provider').map((d) => d.providerId)).toEqual(['extra'])
    expect(diagnostics(g1, 'unknown-viewer')).toHaveLength(1)
    // More changes for that viewer are skipped too, without saying so again each time.
    for (let n = 2; n <= 5; n++) host.layers.set('opacity', n, 'third')
    await s.settle()
    expect(diagnostics(g1, 'unknown-viewer')).toHaveLength(1)
    expect(g1.controller.getState()).toBe('connected')
  })

  it('mirrors every event to an external emitter', async () => {
    const mirrored: string[] = []
    const s = new TestSession()
    const host = s.peer('host', { emitter: { emit: (type) => mirrored.push(type) } })
    await host.controller.start()
    expect(mirrored).toEqual(host.events.map((e) => e.type))
    expect(mirrored).toContain('session-started')
  })

  it('carries app provisioning in the invite, refuses an over-long link with a paste code, and accepts that code', async () => {
    const s = new TestSession()
    const host = s.peer('host', { provision: () => ({ plugins: ['ruler', 'layers'] }), maxInviteUrlLength: 60 })
    await host.controller.start()
    const error = await host.controller.createInvite().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(InviteTooLongError)
    const { invite } = error as InviteTooLongError
    expect((error as InviteTooLongError).code).toBe('invite-too-long')
    const g1 = s.peer('g1')
    const joined = await g1.controller.join(invite.code)
    expect(joined.provision).toEqual({ plugins: ['ruler', 'layers'] })
    const accepted = host.controller.acceptAnswer(joined.answerCode)
    await s.settle()
    await accepted
    await s.settle()
    expect(g1.controller.getState()).toBe('connected')
  })

  it('refuses a second answer to one invite, an expired invite and a damaged code, changing nothing', async () => {
    const s = await TestSession.started(2)
    const invite = await s.host.controller.createInvite()
    const late = s.peer('late')
    const other = s.peer('other')
    const first = await late.controller.join(invite.url)
    const second = await other.controller.join(invite.url)
    const accepted = s.host.controller.acceptAnswer(first.answerCode)
    await s.settle()
    await accepted
    await expect(s.host.controller.acceptAnswer(second.answerCode)).rejects.toMatchObject({ code: 'invite-used' })
    await expect(s.host.controller.acceptAnswer(second.answerCode.slice(0, 20))).rejects.toMatchObject({ code: 'answer-damaged' })
    const stale = await s.host.controller.createInvite()
    await s.settle(16 * 60_000)
    await expect(s.peer('slow').controller.join(stale.url)).rejects.toMatchObject({ code: 'invite-expired' })
    expect(s.host.controller.getPeers().map((p) => p.name)).toEqual(['host', 'g1', 'late'])
  })

  it('tells the second person on a used pasted invite what may be wrong, and stops waiting when the invite would have expired', async () => {
    const s = new TestSession(3)
    const host = s.peer('host', { inviteTtlMs: 5 * 60_000 })
    await host.controller.start()
    const invite = await host.controller.createInvite()
    const first = s.peer('first')
    const second = s.peer('second')
    const { answerCode } = await first.controller.join(invite.url)
    const joined = await second.controller.join(invite.url)
    const accepted = host.controller.acceptAnswer(answerCode)
    await s.settle()
    await accepted
    await expect(host.controller.acceptAnswer(joined.answerCode)).rejects.toMatchObject({ code: 'invite-used' })
    await s.settle(2 * 60_000)
    expect(eventsOf(second, 'session-answer-unclaimed')).toEqual([
      expect.objectContaining({ answerCode: joined.answerCode, relayed: false, waitedMs: 120_000, message: expect.stringContaining('someone else may have used this invite') }),
    ])
    expect(second.controller.getState()).toBe('joining')
    await s.settle(3 * 60_000 + 30_000)
    expect(eventsOf(second, 'session-ended').at(-1)?.reason).toBe('join-timeout')
    expect(eventsOf(first, 'session-answer-unclaimed')).toEqual([])
  })
})

describe('deltas that are not JSON', () => {
  it('are refused with a diagnostic on the host, as view deltas and from guests, leaving no sequence gap', async () => {
    const s = await TestSession.started(2)
    const g1 = s.guests[0]!
    s.host.kv.set('bad', 10n)
    s.host.cursor.set('pos', 10n)
    g1.kv.set('bad', 10n)
    s.host.kv.set('good', 1)
    await s.settle()
    expect(diagnostics(s.host, 'invalid-delta')).toHaveLength(2)
    expect(diagnostics(g1, 'invalid-delta')).toHaveLength(1)
    expect(g1.controller.pendingIntents).toBe(0)
    expect(g1.kv.applied.map((a) => [a.delta.key, a.meta.seq])).toEqual([['good', 1]])
    expect(diagnostics(g1, 'seq-gap')).toEqual([])
  })
})
