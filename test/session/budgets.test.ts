/**
 * Every limit in bytes: what a hostile guest or a careless app sends cannot grow what an
 * honest peer holds past its budget, and nothing is applied that cannot be encoded again.
 * Each test measures the bound (bytes or counts), not just "no crash".
 */
import { describe, expect, it, vi } from 'vitest'
import { decodeAnswer, encodeAnswer, MAX_BLOB_BYTES } from '../../src/invite/invite.js'
import { PayloadLimitError, type SessionDeltaMeta } from '../../src/index.js'
import { decodeMessage } from '../../src/wire/codec.js'
import { MAX_PAYLOAD_DEPTH } from '../../src/wire/shape.js'
import { digestOf } from '../../src/session/digest.js'
import type { SetDelta } from '../helpers/kv-provider.js'
import { TestSession, diagnostics, forge, tap } from '../helpers/session.js'

const MiB = 1024 * 1024
const text = (json: string) => new TextEncoder().encode(json)
/** A raw intent whose payload nests `depth` arrays deep: JSON.stringify of it would overflow the stack. */
const deepIntent = (depth: number) => text(`{"v":1,"t":"intent","id":"deep-1","p":"kv","d":{"key":"k","value":${'['.repeat(depth)}${']'.repeat(depth)}}}`)

describe('structural limits', () => {
  it('refuses an intent nested 100,000 deep at the edge; the host can still snapshot, save and bootstrap a late joiner', async () => {
    const s = await TestSession.started(2)
    forge(s, 'g1', 'host', deepIntent(100_000))
    await s.settle()
    expect(diagnostics(s.host, 'wire-malformed').some((d) => d.peerId === 'u-g1' && /nested deeper/.test(d.message))).toBe(true)
    expect(s.host.kv.applied.filter((a) => a.delta.intentId === 'deep-1')).toEqual([])
    expect((await s.host.controller.save()).entries.length).toBeGreaterThan(0)
    s.host.kv.set('after', 1)
    const late = s.peer('late')
    await s.connect(s.host, late)
    expect(late.controller.getState()).toBe('connected')
    expect(late.kv.store()).toEqual(s.host.kv.store())
  })

  it('the digest walks state to a bounded depth: 100,000 levels is a clear RangeError, not a stack overflow', () => {
    let deep: unknown = 0
    for (let i = 0; i < 100_000; i++) deep = [deep]
    expect(() => digestOf([{ p: 'kv', w: null, d: deep }])).toThrow(new RangeError(`state nested deeper than ${MAX_PAYLOAD_DEPTH} levels`))
    let ok: unknown = 0
    for (let i = 0; i < MAX_PAYLOAD_DEPTH; i++) ok = [ok]
    expect(digestOf([{ p: 'kv', w: null, d: ok }])).toMatch(/^[0-9a-f]{16}$/)
  })

  it('accepts nesting up to the limit and refuses one level more', async () => {
    const s = await TestSession.started(2)
    forge(s, 'g1', 'host', text(`{"v":1,"t":"intent","id":"ok-depth","p":"kv","d":{"key":"k","value":${'['.repeat(MAX_PAYLOAD_DEPTH - 1)}${']'.repeat(MAX_PAYLOAD_DEPTH - 1)}}}`))
    forge(s, 'g1', 'host', text(`{"v":1,"t":"intent","id":"too-deep","p":"kv","d":{"key":"k","value":${'['.repeat(MAX_PAYLOAD_DEPTH)}${']'.repeat(MAX_PAYLOAD_DEPTH)}}}`))
    await s.settle()
    const applied = s.host.kv.applied.map((a) => a.delta.intentId)
    expect(applied).toContain('ok-depth')
    expect(applied).not.toContain('too-deep')
  })

  it('throws PayloadLimitError from emit for a change nested too deep or too large, and sends nothing', async () => {
    const s = await TestSession.started(2, 3)
    const [guest] = s.guests
    let deep: unknown = 0
    for (let i = 0; i < 1000; i++) deep = [deep]
    expect(() => guest!.kv.set('deep', deep)).toThrow(PayloadLimitError)
    expect(() => s.host.kv.set('deep', deep)).toThrow(expect.objectContaining({ code: 'payload-too-deep', name: 'PayloadLimitError' }))
    const big = 'x'.repeat(4 * MiB + 1)
    expect(() => guest!.kv.set('big', big)).toThrow(expect.objectContaining({ code: 'payload-too-large' }))
    expect(() => s.host.kv.set('big', big)).toThrow(expect.objectContaining({ code: 'payload-too-large' }))
    expect(() => guest!.cursor.set('big', big)).toThrow(expect.objectContaining({ code: 'payload-too-large' }))
    await s.settle()
    expect(s.host.kv.store().deep).toBe(deep) // the host's own page holds its change; nobody else got it
    expect(guest!.kv.store().big).toBe(big)
    expect(s.host.kv.store().big).toBe(big)
    expect(guest!.controller.getStats().caches.outbox.entries).toBe(0)
    expect((await s.host.controller.save()).digest).toMatch(/^[0-9a-f]{16}$/) // still encodable: the deep value was never sent
  })

  it('drops a guest change larger than maxDeltaBytes at the edge', async () => {
    const value = 'y'.repeat(MiB)
    const { t, host } = await smallChanges()
    forge(t, 'g1', 'host', { t: 'intent', id: 'huge-1', p: 'kv', d: { key: 'k', value } })
    forge(t, 'g1', 'host', { t: 'view', origin: 'u-g1', n: 1, p: 'cursor', d: { key: 'k', value } })
    await t.settle()
    expect(diagnostics(host, 'wire-oversized').length).toBe(2)
    expect(host.kv.store().k).toBeUndefined()
    expect(host.cursor.store().k).toBeUndefined()
    expect(host.controller.getState()).toBe('connected')
  })

  it('refuses a guest message larger than one change before parsing it, whatever type it claims', async () => {
    const { t, host } = await smallChanges()
    const parse = vi.spyOn(JSON, 'parse')
    forge(t, 'g1', 'host', { t: 'snapshot', seq: 1, ids: [], entries: [{ p: 'kv', w: null, d: { k: 'z'.repeat(MiB) } }] })
    await t.settle()
    const parsedLarge = parse.mock.calls.some(([text]) => typeof text === 'string' && text.length > MiB)
    parse.mockRestore()
    expect(parsedLarge).toBe(false)
    expect(diagnostics(host, 'wire-oversized')).toEqual([expect.objectContaining({ peerId: 'u-g1' })])
    expect(host.controller.getState()).toBe('connected')
  })
})

describe('byte budgets', () => {
  it('keeps view state per peer: 200 view deltas with 0.5 MiB viewer ids are refused, 10,000 distinct keys stay within one peer\'s budget', async () => {
    const s = await TestSession.started(3)
    const hugeId = 'v'.repeat(MiB / 2)
    for (let n = 1; n <= 200; n++) forge(s, 'g1', 'host', { t: 'view', origin: 'u-g1', n, p: 'cursor', d: { key: 'k', value: n, viewerId: hugeId } })
    await s.settle()
    expect(diagnostics(s.host, 'wire-malformed').filter((d) => d.peerId === 'u-g1').length).toBe(200)
    s.guests[1]!.cursor.set('honest', 1)
    await s.settle()
    for (let n = 1; n <= 10_000; n++) forge(s, 'g1', 'host', { t: 'view', origin: 'u-g1', n, p: 'cursor', d: { key: 'k', value: n, viewerId: `w${n}` } })
    await s.settle(2_000)
    const stats = s.host.controller.getStats().caches.viewState
    expect(stats.entries).toBeLessThanOrEqual(2 * stats.budget.entries) // g1's table at its budget, g2's untouched
    expect(stats.bytes).toBeLessThan(2 * stats.budget.entries * 200)
    // g2's entry survived g1's flood: its older view delta is still recognised as old.
    forge(s, 'g2', 'host', { t: 'view', origin: 'u-g2', n: 1, p: 'cursor', d: { key: 'honest', value: 'stale' } })
    await s.settle()
    expect(s.host.cursor.store().honest).toBe(1)
  })

  it('keeps the replay log within its byte budget on host and guest, and both end equal', async () => {
    const t = new TestSession(7)
    const limits = { replayLogBytes: 2 * MiB }
    const host = t.peer('host', { limits })
    await host.controller.start()
    const guest = t.peer('g1', { limits })
    await t.connect(host, guest)
    const value = 'z'.repeat(256 * 1024)
    for (let i = 0; i < 20; i++) guest.kv.set(`k${i}`, value)
    await t.settle(1_000)
    for (const peer of [host, guest]) {
      const log = peer.controller.getStats().caches.replayLog
      expect(log.bytes).toBeLessThanOrEqual(2 * MiB)
      expect(log.entries).toBeLessThan(20)
    }
    expect(guest.kv.store()).toEqual(host.kv.store())
  })

  it('refuses new changes once the outbox is at its byte budget, and loses none it took', async () => {
    const t = new TestSession(8)
    const host = t.peer('host')
    await host.controller.start()
    const guest = t.peer('g1', { limits: { outboxBytes: 256 * 1024 } })
    await t.connect(host, guest)
    t.net.partition(['u-host'], ['u-g1'])
    const value = 'o'.repeat(50 * 1024)
    const taken: string[] = []
    for (let i = 0; i < 10; i++) if (guest.kv.set(`k${i}`, value)) taken.push(`k${i}`)
    const outbox = guest.controller.getStats().caches.outbox
    expect(outbox.bytes).toBeLessThanOrEqual(256 * 1024)
    expect(taken.length).toBe(outbox.entries)
    expect(taken.length).toBeLessThan(10)
    expect(diagnostics(guest, 'outbox-full').length).toBe(10 - taken.length)
  })
})

describe('request budgets', () => {
  it('answers a flood of resend { from: 0 } with a few snapshots, not one each', async () => {
    const s = await TestSession.started(2)
    s.host.kv.set('doc', 'd'.repeat(100 * 1024))
    await s.settle()
    const heard = tap(s, 'g1', 'host')
    for (let i = 0; i < 50; i++) forge(s, 'g1', 'host', { t: 'resend', from: 0 })
    await s.settle(1_000)
    const snapshots = heard.filter((b) => decodeMessage(b, Infinity).t === 'snapshot')
    expect(snapshots.length).toBeLessThanOrEqual(2)
    expect(heard.reduce((sum, b) => sum + b.byteLength, 0)).toBeLessThan(3 * 110 * 1024)
    expect(diagnostics(s.host, 'budget-exceeded').length).toBeLessThanOrEqual(2)
    // An honest guest's request is still answered, in the next window.
    await s.settle(25_000)
    expect(heard.filter((b) => decodeMessage(b, Infinity).t === 'snapshot').length).toBe(snapshots.length + 1)
    expect(s.host.controller.getState()).toBe('connected')
  })

  it('relays only a few offers per guest per window', async () => {
    const s = await TestSession.started(3)
    const heard = tap(s, 'g2', 'host')
    for (let i = 0; i < 200; i++) forge(s, 'g1', 'host', { t: 'signal', to: 'u-g2', kind: 'offer', signal: `offer-${i}` })
    await s.settle(1_000)
    const relayed = heard.filter((b) => decodeMessage(b, Infinity).t === 'relay').length
    expect(relayed).toBeLessThanOrEqual(32)
  })
})

describe('invite and answer codes', () => {
  it('refuses a code that inflates past the cap while inflating', () => {
    const bomb = encodeAnswer({ inviteId: 'inv1', signal: new Uint8Array(8 * MiB) })
    expect(bomb.length).toBeLessThan(20_000)
    let error: unknown
    try {
      decodeAnswer(bomb)
    } catch (e) {
      error = e
    }
    expect(error).toMatchObject({ code: 'answer-damaged' })
    expect(String((error as Error).cause)).toMatch(new RegExp(`inflates past ${MAX_BLOB_BYTES}`))
  })

  it('refuses a code longer than any invite holds before decoding it', () => {
    const long = encodeAnswer({ inviteId: 'inv1', signal: crypto.getRandomValues(new Uint8Array(60_000)) })
    expect(() => decodeAnswer(long)).toThrow(expect.objectContaining({ code: 'answer-damaged' }))
  })
})

describe('abandoned connections', () => {
  it('frees the pending link of a join when the guest leaves before the host answers', async () => {
    const s = new TestSession(11)
    const host = s.peer('host')
    await host.controller.start()
    const guest = s.peer('g1')
    const invite = await host.controller.createInvite()
    await guest.controller.join(invite.url)
    expect(s.net.pendingAttempts().answers).toBe(1)
    await guest.controller.leave()
    expect(s.net.pendingAttempts().answers).toBe(0)
    await host.controller.leave()
    expect(s.net.pendingAttempts()).toEqual({ offers: 0, answers: 0 })
  })
})

describe('long tasks', () => {
  for (const kind of ['deltas', 'view deltas'] as const) it(`applies a burst of 1,500 ${kind} in slices, giving the event loop back between them, in order`, async () => {
    const s = new TestSession(13)
    const host = s.peer('host')
    await host.controller.start()
    // The guest's clock counts the time its provider spends (3 ms a delta) and records each yield.
    let busy = 0
    const yields: number[] = []
    const base = s.net.clockFor('g1')
    const clock = { ...base, now: () => base.now() + busy, yield: () => (yields.push(busy), Promise.resolve()) }
    const guest = s.peer('g1', { clock })
    await s.connect(host, guest)
    // Views come as text, each exactly as our encoder writes it: their short decode must slice them as any message.
    const [from, to] = kind === 'deltas' ? [host.kv, guest.kv] : [host.cursor, guest.cursor]
    const apply = to.applyDelta.bind(to)
    to.applyDelta = (delta, meta) => {
      busy += 3
      return apply(delta, meta)
    }
    for (let i = 0; i < 1_500; i++) from.set(`k${i}`, i)
    await s.settle(2_000)
    expect(to.store()).toEqual(from.store())
    expect(to.applied.map((a) => a.delta.key)).toEqual(Array.from({ length: 1_500 }, (_, i) => `k${i}`))
    // 4,500 ms of work in slices of about 8 ms: no stretch longer than a slice and one delta.
    expect(yields.length).toBeGreaterThan(4_500 / 12)
    const gaps = yields.slice(1).map((at, i) => at - yields[i]!)
    expect(Math.max(...gaps)).toBeLessThanOrEqual(12)
  })

  it('leaves out a provider snapshot nested too deep to encode; the rest bootstraps', async () => {
    const s = await TestSession.started(1)
    let deep: unknown = 0
    for (let i = 0; i < 5_000; i++) deep = [deep]
    s.host.layers.snapshot = () => ({ deep })
    s.host.kv.set('title', 'kept')
    const late = s.peer('late')
    await s.connect(s.host, late)
    expect(late.kv.store()).toEqual({ title: 'kept' })
    expect(diagnostics(s.host, 'payload-too-deep').length).toBeGreaterThan(0)
    expect((await s.host.controller.save()).entries.some((e) => e.p === 'kv')).toBe(true)
  })
})

describe('heartbeats during a burst', () => {
  it('answers a ping at once while thousands of messages wait their turn', async () => {
    const s = await TestSession.started(2)
    const [guest] = s.guests
    let release = () => {}
    const gate = new Promise<void>((resolve) => (release = resolve))
    const apply = guest!.kv.applyDelta.bind(guest!.kv)
    // A provider may apply asynchronously (the contract allows a promise): the first delta takes its time.
    Object.assign(guest!.kv, { applyDelta: (delta: SetDelta, meta: SessionDeltaMeta) => (delta.key === 'k0' ? gate.then(() => apply(delta, meta)) : apply(delta, meta)) })
    for (let i = 0; i < 2_000; i++) s.host.kv.set(`k${i}`, i)
    await s.settle(100)
    expect(guest!.kv.applied.length).toBe(0) // the first delta holds up the queue
    const heard = tap(s, 'host', 'g1')
    forge(s, 'host', 'g1', { t: 'ping', n: 42 })
    await s.settle(100)
    expect(heard.map((b) => decodeMessage(b, Infinity)).filter((m) => m.t === 'pong').map((m) => (m as { n: number }).n)).toContain(42)
    release()
    await s.settle(1_000)
    expect(guest!.kv.store()).toEqual(s.host.kv.store())
  })
})

/** A host that takes changes of at most 64 KiB, and one guest. */
async function smallChanges() {
  const t = new TestSession(5)
  const host = t.peer('host', { limits: { maxDeltaBytes: 64 * 1024 } })
  await host.controller.start()
  await t.connect(host, t.peer('g1'))
  return { t, host }
}
