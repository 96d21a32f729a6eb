/**
 * A failing provider stays isolated (issue 22): a provider that throws on the host refuses
 * nothing and re-bootstraps nobody; a real refusal rolls back only the refused provider;
 * and a snapshot's label (seq, intent ids) always matches its content, however slow a
 * provider is to give its state.
 */
import { describe, expect, it } from 'vitest'
import type { SessionDeltaMeta, SessionSyncProvider, SessionViewer } from '../../src/index.js'
import { encodeMessage } from '../../src/wire/codec.js'
import { PROTOCOL_VERSION, type WireMessage } from '../../src/wire/messages.js'
import { KvProvider } from '../helpers/kv-provider.js'
import { TestSession, diagnostics, eventsOf, type TestPeer } from '../helpers/session.js'

/** A key-value provider that throws (or rejects) in the methods named, on the peers that set them. */
class FailingProvider extends KvProvider {
  failIn = new Set<'applyDelta' | 'snapshot' | 'applySnapshot'>()
  reject = false

  private fail(method: 'applyDelta' | 'snapshot' | 'applySnapshot'): void {
    if (this.failIn.has(method)) throw new Error(`${this.id} fails in ${method}`)
  }

  override applyDelta(delta: Parameters<KvProvider['applyDelta']>[0], meta: SessionDeltaMeta): boolean | void {
    const result = super.applyDelta(delta, meta)
    if (this.reject && this.failIn.has('applyDelta')) return Promise.reject(new Error('rejected')) as never
    this.fail('applyDelta')
    return result
  }

  override snapshot(viewer: SessionViewer | null) {
    this.fail('snapshot')
    return super.snapshot(viewer)
  }

  override applySnapshot(data: Record<string, unknown>, viewer: SessionViewer | null) {
    this.fail('applySnapshot')
    super.applySnapshot(data, viewer)
  }
}

/** Host and one guest, each with a `flaky` provider beside the good ones. */
async function withFlaky() {
  const s = new TestSession()
  const flaky = new Map<string, FailingProvider>()
  const make = (name: string): TestPeer => {
    const peer = s.peer(name)
    const provider = new FailingProvider('flaky', 'global', 30)
    peer.controller.registerProvider(provider)
    flaky.set(name, provider)
    return peer
  }
  const host = make('host')
  host.kv.set('title', 'original')
  await host.controller.start()
  const guest = make('g1')
  await s.connect(host, guest)
  return { s, host, guest, hostFlaky: flaky.get('host')!, guestFlaky: flaky.get('g1')! }
}

const bootstraps = (peer: TestPeer) => eventsOf(peer, 'session-bootstrap-complete').length
const remoteKvIds = (peer: TestPeer, origin: string) => peer.kv.applied.filter((a) => a.meta.origin === origin).map((a) => a.delta.intentId)

describe('a provider that fails on the host', () => {
  for (const reject of [false, true]) {
    it(`${reject ? 'rejects' : 'throws'} in applyDelta: the guest re-syncs that provider only; every other delta arrives through applyDelta`, async () => {
      const { s, host, guest, hostFlaky, guestFlaky } = await withFlaky()
      hostFlaky.failIn.add('applyDelta')
      hostFlaky.reject = reject
      const before = bootstraps(guest)
      guestFlaky.set('note', 'from guest')
      // The host goes on changing things while the guest hears of the failure.
      await s.settle(1)
      const made = Array.from({ length: 10 }, (_, i) => host.kv.set(`k${i}`, i))
      await s.settle()
      expect(remoteKvIds(guest, 'u-host')).toEqual(made)
      expect(guest.kv.duplicates).toEqual([])
      expect(guest.kv.snapshotsApplied.length).toBe(1)
      expect(bootstraps(guest)).toBe(before)
      expect(guest.controller.pendingIntents).toBe(0)
      expect(diagnostics(guest, 'intent-failed')).toEqual([expect.objectContaining({ providerId: 'flaky', reason: 'provider-error' })])
      expect(diagnostics(guest, 'intent-refused')).toEqual([])
      // The failing provider alone took the host's state again.
      expect(guestFlaky.store()).toEqual(hostFlaky.store())
      expect(guestFlaky.snapshotsApplied.length).toBe(2)
    })
  }

  it('also throws in snapshot: the guest is told, and nothing else moves', async () => {
    const { s, host, guest, hostFlaky, guestFlaky } = await withFlaky()
    hostFlaky.failIn = new Set(['applyDelta', 'snapshot'])
    const before = bootstraps(guest)
    guestFlaky.set('note', 'from guest')
    await s.settle(1)
    const made = Array.from({ length: 5 }, (_, i) => host.kv.set(`k${i}`, i))
    await s.settle()
    expect(remoteKvIds(guest, 'u-host')).toEqual(made)
    expect(bootstraps(guest)).toBe(before)
    expect(diagnostics(guest, 'resync-failed')).toEqual([expect.objectContaining({ providerId: 'flaky' })])
  })

  it('a change the host sends again after a failure is not applied twice by the host', async () => {
    const { s, host, guest, hostFlaky, guestFlaky } = await withFlaky()
    hostFlaky.failIn.add('applyDelta')
    guestFlaky.set('note', 'from guest')
    await s.settle()
    const id = hostFlaky.applied[0]!.delta.intentId!
    const link = s.net.linkEnd('g1', 'host')!
    link.send(encodeMessage({ v: PROTOCOL_VERSION, t: 'intent', id, p: 'flaky', d: { key: 'note', value: 'again' } } as WireMessage))
    await s.settle()
    expect(hostFlaky.applied.filter((a) => a.delta.intentId === id)).toHaveLength(1)
    expect(guest.controller.getState()).toBe('connected')
    expect(host.controller.getState()).toBe('connected')
  })
})

describe('a whole snapshot that leaves a provider out', () => {
  it('keeps what that provider holds: a change it applied, coming again from a host that lacked it, is not applied twice (seed 739835)', async () => {
    const { s, guest, hostFlaky, guestFlaky } = await withFlaky()
    const id = hostFlaky.set('note', 'once') as string
    await s.settle()
    const { seq } = guestFlaky.applied[0]!.meta
    // As from a host that never had the change (a new one, after a failover): its snapshot()
    // of flaky failed, so the snapshot leaves flaky out; then the change comes again as new.
    const link = s.net.linkEnd('host', 'g1')!
    link.send(encodeMessage({ v: PROTOCOL_VERSION, t: 'snapshot', seq, ids: [], entries: [{ p: 'kv', w: null, d: { title: 'original' } }] } as WireMessage))
    link.send(encodeMessage({ v: PROTOCOL_VERSION, t: 'delta', seq: seq! + 1, epoch: 1, id, origin: 'u-host', changes: [{ p: 'flaky', d: { key: 'note', value: 'once' } }] } as WireMessage))
    await s.settle()
    expect(guest.kv.snapshotsApplied).toHaveLength(2)
    expect(guestFlaky.applied.filter((a) => a.delta.intentId === id)).toHaveLength(1)
    expect(guestFlaky.duplicates).toEqual([])
    expect(guest.controller.getState()).toBe('connected')
  })
})

describe('a host that failed on a change, then follows another', () => {
  it('does not apply that change again when the new host sends it after a snapshot that left the provider out (seed 8156)', async () => {
    const heartbeat = { intervalMs: 1_000, softTimeoutMs: 3_000, hardTimeoutMs: 8_000 }
    const s = new TestSession()
    const flaky = new Map<string, FailingProvider>()
    for (const name of ['host', 'g1', 'g2']) {
      const peer = s.peer(name, { heartbeat })
      const provider = new FailingProvider('flaky', 'global', 30)
      peer.controller.registerProvider(provider)
      flaky.set(name, provider)
      if (name === 'host') await peer.controller.start()
      else await s.connect(s.peers[0]!, peer)
    }
    await s.settle()
    const [host, g1] = s.peers as [TestPeer, TestPeer]
    const hostFlaky = flaky.get('host')!
    // g2's change reaches the host, whose flaky throws on it part-way: declined, not in the history.
    hostFlaky.failIn.add('applyDelta')
    const id = 'late-change-0001'
    const change = { p: 'flaky', d: { key: 'note', value: 'from g2' } }
    s.net.linkEnd('g2', 'host')!.send(encodeMessage({ v: PROTOCOL_VERSION, t: 'intent', id, ...change } as WireMessage))
    await s.settle(50)
    hostFlaky.failIn.clear()
    expect(hostFlaky.applied.filter((a) => a.delta.intentId === id)).toHaveLength(1)
    // The host stands still; g1 hosts, and its flaky cannot give its state.
    flaky.get('g1')!.failIn.add('snapshot')
    s.net.freeze('host')
    await s.settle(heartbeat.hardTimeoutMs + 5_000)
    expect(g1.controller.getRole()).toBe('host')
    // Thawed, the old host follows g1 from a snapshot that leaves flaky out.
    s.net.resume('host')
    await s.settle(3_000)
    expect(host.controller.getRole()).toBe('guest')
    expect(host.kv.snapshotsApplied).toHaveLength(1)
    expect(hostFlaky.snapshotsApplied).toHaveLength(0)
    g1.kv.set('mark', 1)
    await s.settle()
    const { seq } = host.kv.applied.at(-1)!.meta
    // Then g2's change reaches g1 (sent again to it, late) and comes to the old host as a delta.
    s.net.linkEnd('g1', 'host')!.send(encodeMessage({ v: PROTOCOL_VERSION, t: 'delta', seq: seq! + 1, epoch: 2, id, origin: 'u-g2', changes: [change] } as WireMessage))
    await s.settle()
    expect(hostFlaky.applied.filter((a) => a.delta.intentId === id)).toHaveLength(1)
    expect(hostFlaky.duplicates).toEqual([])
    expect(host.controller.getState()).toBe('connected')
  })
})

describe('a refused change', () => {
  it('rolls back only the refused provider; the others keep their deltas', async () => {
    const s = await TestSession.started(2)
    const [guest] = s.guests as [TestPeer]
    s.host.kv.set('title', 'original')
    await s.settle()
    s.host.kv.refuse = true
    const before = bootstraps(guest)
    const layersBefore = guest.layers.snapshotsApplied.length
    guest.kv.set('title', 'vandalised')
    await s.settle(1)
    const made = Array.from({ length: 5 }, (_, i) => s.host.layers.set(`l${i}`, i, 'left'))
    await s.settle()
    expect(guest.kv.store()).toEqual({ title: 'original' })
    expect(diagnostics(guest, 'intent-refused')).toEqual([expect.objectContaining({ providerId: 'kv', reason: 'refused' })])
    expect(guest.layers.applied.filter((a) => a.meta.origin === 'u-host').map((a) => a.delta.intentId)).toEqual(made)
    expect(guest.layers.snapshotsApplied.length).toBe(layersBefore)
    expect(bootstraps(guest)).toBe(before)
  })

  it('keeps changes made while the rollback was on its way', async () => {
    const s = await TestSession.started(2)
    const [guest] = s.guests as [TestPeer]
    const apply = s.host.kv.applyDelta.bind(s.host.kv)
    s.host.kv.applyDelta = (delta, meta) => (delta.key === 'bad' ? false : apply(delta, meta))
    guest.kv.set('bad', 1)
    await s.settle(1)
    guest.kv.set('good', 2)
    s.host.kv.set('host', 3)
    await s.settle()
    expect(guest.kv.store()).toEqual({ good: 2, host: 3 })
    expect(s.host.kv.store()).toEqual({ good: 2, host: 3 })
    expect(guest.kv.duplicates).toEqual([])
  })

  it('a guest cannot make the host send provider state it is not owed, nor more than once per refusal', async () => {
    const s = await TestSession.started(2)
    const [guest] = s.guests as [TestPeer]
    let snapshots = 0
    const snapshot = s.host.kv.snapshot.bind(s.host.kv)
    s.host.kv.snapshot = (viewer) => (snapshots++, snapshot(viewer))
    const link = s.net.linkEnd('g1', 'host')!
    const resync = encodeMessage({ v: PROTOCOL_VERSION, t: 'resync', p: 'kv' } as WireMessage)
    for (let i = 0; i < 50; i++) link.send(resync)
    await s.settle()
    expect(snapshots).toBe(0)
    expect(diagnostics(s.host, 'wire-out-of-role').filter((d) => d.reason === 'not-owed')).toHaveLength(50)
    s.host.kv.refuse = true
    guest.kv.set('x', 1)
    await s.settle()
    expect(snapshots).toBe(1)
    for (let i = 0; i < 50; i++) link.send(resync)
    await s.settle()
    expect(snapshots).toBe(1)
    expect(guest.controller.getState()).toBe('connected')
  })
})

describe('the resync budget', () => {
  it('a rollback over the link budget is served in the next window, not lost', async () => {
    const s = await TestSession.started(2)
    const [guest] = s.guests as [TestPeer]
    s.host.kv.set('title', 'original')
    await s.settle()
    // The guest's link spends its budget on resend requests first.
    const link = s.net.linkEnd('g1', 'host')!
    const resend = encodeMessage({ v: PROTOCOL_VERSION, t: 'resend', from: 1 } as WireMessage)
    for (let i = 0; i < 20; i++) link.send(resend)
    s.host.kv.refuse = true
    guest.kv.set('title', 'vandalised')
    await s.settle()
    expect(diagnostics(s.host, 'budget-exceeded').map((d) => d.reason)).toContain('resync-budget')
    expect(guest.kv.store()).toEqual({ title: 'vandalised' })
    await s.settle(20_000)
    expect(guest.kv.store()).toEqual({ title: 'original' })
    expect(guest.controller.getState()).toBe('connected')
  })
})

/** A provider whose snapshot takes `ms` of the host's time; `during` runs (once) while the first is pending. */
function slowProvider(s: TestSession, name: string, ms: number, during: () => void): SessionSyncProvider {
  const clock = s.net.clockFor(name)
  let first = true
  return {
    id: 'slow', scope: 'global', priority: 1,
    snapshot: () => new Promise((resolve) => {
      if (first) clock.setTimeout(during, ms / 2)
      first = false
      clock.setTimeout(() => resolve({}), ms)
    }),
    applySnapshot: () => {},
    subscribe: () => () => {},
    applyDelta: () => {},
  }
}

/** A counter: not idempotent, so a change applied twice shows. Its snapshot may read late (after an await). */
class Counter implements SessionSyncProvider<never, { n: number }> {
  readonly id = 'counter'
  readonly scope = 'global' as const
  readonly priority = 2
  n = 0
  private emit: ((d: { by: number }) => void) | null = null
  constructor(private readonly readsLate = false) {}
  bump(): void {
    this.n++
    this.emit?.({ by: 1 })
  }
  snapshot(): { n: number } | Promise<{ n: number }> {
    return this.readsLate ? Promise.resolve().then(() => ({ n: this.n })) : { n: this.n }
  }
  applySnapshot(data: { n: number }): void {
    this.n = data.n
  }
  subscribe(emit: (d: { by: number }) => void): () => void {
    this.emit = emit
    return () => (this.emit = null)
  }
  applyDelta(delta: { by?: unknown }): void {
    this.n += Number(delta.by)
  }
}

describe("a snapshot's label", () => {
  for (const readsLate of [false, true]) {
    it(`matches its content when the host changes something while a slow provider is snapshotted (counter reads ${readsLate ? 'late' : 'at once'})`, async () => {
      const s = new TestSession()
      const host = s.peer('host')
      const hostCounter = new Counter(readsLate)
      host.controller.registerProvider(slowProvider(s, 'host', 400, () => hostCounter.bump()) as never)
      host.controller.registerProvider(hostCounter as never)
      await host.controller.start()
      const guest = s.peer('g1')
      const guestCounter = new Counter(readsLate)
      guest.controller.registerProvider(slowProvider(s, 'g1', 0, () => {}) as never)
      guest.controller.registerProvider(guestCounter as never)
      await s.connect(host, guest)
      await s.settle(1_000)
      expect(guest.controller.getState()).toBe('connected')
      expect(hostCounter.n).toBe(1)
      expect(guestCounter.n).toBe(1)
    })
  }
})
