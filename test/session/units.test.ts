import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { LruMap, LruSet } from '../../src/session/bounded.js'
import { Outbox } from '../../src/session/outbox.js'
import { Lifecycle, TRANSITIONS, type SessionState } from '../../src/session/lifecycle.js'
import { ProviderRegistry } from '../../src/providers/registry.js'
import { scanModules } from '../../src/session/compat.js'
import { ReplayLog } from '../../src/session/replay-log.js'
import { DuplicateProviderError, IllegalTransitionError, SessionLockedError } from '../../src/errors.js'
import { SessionSyncController, IncompatibleModulesError, UndeclaredModulesRefusedError } from '../../src/index.js'
import { MemoryNetwork } from '../../src/testing.js'

describe('LruSet (intent dedupe)', () => {
  it('evicts the least recently used key, not the oldest inserted', () => {
    const lru = new LruSet<string>(3)
    lru.touch('a'); lru.touch('b'); lru.touch('c')
    expect(lru.touch('a')).toBe(true) // a is fresh again
    lru.touch('d') // evicts b, the least recently used
    expect(['a', 'b', 'c', 'd'].map((k) => lru.has(k))).toEqual([true, false, true, true])
  })

  it('never holds more than its capacity plus an eighth, and keeps the most recent keys', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 40 }), fc.array(fc.nat({ max: 200 }), { maxLength: 400 }), (cap, keys) => {
      const lru = new LruSet<number>(cap)
      for (const k of keys) lru.touch(k)
      expect(lru.size).toBeLessThanOrEqual(cap + (cap >> 3))
      const distinctRecent = [...new Set([...keys].reverse())].slice(0, cap)
      expect(distinctRecent.every((k) => lru.has(k))).toBe(true)
      if (keys.length) expect(lru.has(keys[keys.length - 1]!)).toBe(true)
    }))
  })

  it('LruMap.setAll holds what a set of each entry in turn would, in the same order and bytes', () => {
    const pairs = fc.array(fc.tuple(fc.string({ maxLength: 3 }), fc.nat({ max: 9 })), { maxLength: 30 })
    fc.assert(fc.property(fc.integer({ min: 1, max: 20 }), pairs, pairs, (cap, before, batch) => {
      const one = new LruMap<string, number>(cap)
      const all = new LruMap<string, number>(cap)
      for (const [k, v] of before) { one.set(k, v); all.set(k, v) }
      for (const [k, v] of batch) one.set(k, v)
      all.setAll(batch)
      const newest = [...new Set(batch.map(([k]) => k).reverse())].reverse()
      // Trimmed once at the end rather than after each set: what it keeps may differ only among the older entries.
      const kept = Math.min(newest.length, all.size)
      expect([...all.keys()].slice(all.size - kept)).toEqual(newest.slice(newest.length - kept))
      expect(all.size).toBeLessThanOrEqual(cap + (cap >> 3))
      if (one.size === all.size) expect([...all.keys()]).toEqual([...one.keys()])
      expect(all.bytes).toBe([...all.keys()].reduce((sum, k) => sum + 48 + 2 * k.length + 8, 0))
    }))
  })

  it('advance keeps the highest number per key, in place: keys leave in the order they first came, bytes stay exact', () => {
    const writes = fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c', 'dd', 'eee'), fc.nat({ max: 20 })), { maxLength: 60 })
    fc.assert(fc.property(fc.integer({ min: 1, max: 4 }), writes, (cap, list) => {
      const map = new LruMap<string, number>(cap)
      // A model: the highest per key, and the order keys first came in, oldest out past the budget (an eighth past it at once).
      const model = new Map<string, number>()
      for (const [k, n] of list) {
        const held = model.get(k)
        const took = map.advance(k, n)
        expect(took).toBe(held === undefined || n > held)
        if (took) model.set(k, n)
        if (model.size > cap + (cap >> 3)) for (const old of [...model.keys()].slice(0, model.size - cap)) model.delete(old)
        expect([...map.keys()]).toEqual([...model.keys()])
        expect([...map.values()]).toEqual([...model.values()])
      }
      expect(map.bytes).toBe([...map.keys()].reduce((sum, k) => sum + 48 + 2 * k.length + 8, 0))
    }))
  })

  it('LruMap refreshes on get', () => {
    const map = new LruMap<string, number>(2)
    map.set('a', 1); map.set('b', 2)
    map.get('a')
    map.set('c', 3)
    expect([map.get('a'), map.get('b'), map.get('c')]).toEqual([1, undefined, 3])
  })
})

describe('Outbox', () => {
  it('keeps entries in order until settled, and reports fullness', () => {
    const box = new Outbox({ entries: 2, bytes: Infinity })
    box.add({ intentId: 'i1', providerId: 'p', payload: {}, json: '{}' })
    expect(box.fits('{}')).toBe(true)
    box.add({ intentId: 'i2', providerId: 'p', payload: {}, json: '{}' })
    expect(box.fits('{}')).toBe(false)
    expect(box.pending().map((e) => e.intentId)).toEqual(['i1', 'i2'])
    expect(box.settle('i1')?.intentId).toBe('i1')
    expect(box.settle('i1')).toBeUndefined()
    expect(box.pending().map((e) => e.intentId)).toEqual(['i2'])
  })
})

describe('ReplayLog', () => {
  it('returns a complete range or nothing', () => {
    const log = new ReplayLog({ entries: 3, bytes: Infinity })
    for (let seq = 1; seq <= 5; seq++) log.add(seq, new Uint8Array([seq]))
    expect(log.range(3, 5)?.map((b) => b[0])).toEqual([3, 4, 5])
    expect(log.range(2, 5)).toBeUndefined()
  })

  it('keeps the newest within both budgets through many deltas, and starts again at a sequence number that does not follow', () => {
    const log = new ReplayLog({ entries: 100, bytes: 100 * (48 + 10) })
    for (let seq = 1; seq <= 5_000; seq++) log.add(seq, `delta-${String(seq).padStart(4, '0')}`)
    const kept = log.all()
    // The bytes budget holds 100 of them; the newest last, in order.
    expect(kept).toHaveLength(100)
    expect(log.stats()).toEqual({ entries: kept.length, bytes: kept.length * 58, budget: log.budget })
    expect(kept.at(-1)).toBe('delta-5000')
    expect(log.range(4_950, 5_000)).toEqual(Array.from({ length: 51 }, (_, i) => `delta-${4_950 + i}`))
    expect(log.range(4_900, 5_000)).toBeUndefined()
    expect(log.range(5_000, 5_001)).toBeUndefined()
    expect(log.range(7, 6)).toEqual([])
    log.add(6_000, 'after a gap')
    expect(log.all()).toEqual(['after a gap'])
    expect(log.range(5_000, 6_000)).toBeUndefined()
    expect(log.range(6_000, 6_000)).toEqual(['after a gap'])
    // One larger than the bytes budget is not kept at all.
    log.add(6_001, 'x'.repeat(100 * 58))
    expect(log.all()).toEqual([])
    expect(log.stats().bytes).toBe(0)
  })
})

describe('Lifecycle', () => {
  const all: SessionState[] = ['idle', 'hosting', 'joining', 'connected', 'reconnecting', 'leaving']

  it('follows idle → hosting → connected → reconnecting → connected → leaving → idle', () => {
    const seen: string[] = []
    const life = new Lifecycle((s, p) => seen.push(`${p}>${s}`))
    for (const s of ['hosting', 'connected', 'reconnecting', 'connected', 'leaving', 'idle'] as const) life.to(s)
    life.to('joining')
    expect(seen).toEqual(['idle>hosting', 'hosting>connected', 'connected>reconnecting', 'reconnecting>connected', 'connected>leaving', 'leaving>idle', 'idle>joining'])
  })

  it('throws on every transition outside the table', () => {
    for (const from of all) for (const to of all) {
      const life = new Lifecycle(() => {})
      const path: Record<SessionState, SessionState[]> = {
        idle: [], hosting: ['hosting'], joining: ['joining'], connected: ['hosting', 'connected'],
        reconnecting: ['hosting', 'connected', 'reconnecting'], leaving: ['hosting', 'leaving'],
      }
      for (const step of path[from]) life.to(step)
      expect(life.state).toBe(from)
      if (TRANSITIONS[from].includes(to)) expect(() => life.to(to)).not.toThrow()
      else expect(() => life.to(to)).toThrow(IllegalTransitionError)
    }
  })
})

describe('ProviderRegistry', () => {
  const provider = (id: string, priority?: number) => ({
    id, scope: 'global' as const, priority, snapshot: () => null, applySnapshot: () => {}, subscribe: () => () => {}, applyDelta: () => {},
  })

  it('orders by ascending priority, ties in registration order', () => {
    const reg = new ProviderRegistry()
    for (const p of [provider('c', 50), provider('a'), provider('b', 10), provider('d', 50)]) reg.add(p)
    expect(reg.ordered().map((p) => p.id)).toEqual(['b', 'c', 'd', 'a'])
  })

  it('refuses a second provider with the same id with a typed error', () => {
    const reg = new ProviderRegistry()
    reg.add(provider('x'))
    expect(() => reg.add(provider('x'))).toThrow(DuplicateProviderError)
  })

  it('unregister through the returned function frees the id', () => {
    const controller = new SessionSyncController({ transport: new MemoryNetwork().transport('a') })
    const off = controller.registerProvider(provider('x'))
    off()
    expect(() => controller.registerProvider(provider('x'))).not.toThrow()
  })
})

describe('compatibility scan and plugin lock', () => {
  it('sorts modules into incompatible and undeclared', () => {
    expect(scanModules([
      { id: 'viewport', sessionCompatible: 'provider' }, { id: 'ruler', sessionCompatible: true },
      { id: 'editor', sessionCompatible: false }, { id: 'legacy' },
    ])).toEqual({ incompatible: ['editor'], undeclared: ['legacy'] })
  })

  it('refuses to start with every false module listed, and asks about undeclared ones', async () => {
    const net = new MemoryNetwork()
    const asked: string[][] = []
    const controller = new SessionSyncController({
      transport: net.transport('a'), clock: net.clock,
      confirmUndeclared: (ids) => { asked.push(ids); return false },
    })
    controller.declareModule({ id: 'editor', sessionCompatible: false })
    controller.declareModule({ id: 'draw', sessionCompatible: false })
    const legacy = { id: 'legacy' }
    controller.declareModule(legacy)
    const refused = await controller.start().catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(IncompatibleModulesError)
    expect((refused as IncompatibleModulesError).modules).toEqual(['editor', 'draw'])
    expect((refused as Error).message).toContain('editor, draw')
    expect(controller.getState()).toBe('idle')
    controller.declareModule({ id: 'editor', sessionCompatible: true })
    controller.declareModule({ id: 'draw', sessionCompatible: 'provider' })
    await expect(controller.start()).rejects.toBeInstanceOf(UndeclaredModulesRefusedError)
    expect(asked).toEqual([['legacy']])
  })

  it('locks plugin loading from hosting until idle', async () => {
    const net = new MemoryNetwork()
    const controller = new SessionSyncController({ transport: net.transport('a'), clock: net.clock })
    expect(() => controller.guardPluginLoad('p')).not.toThrow()
    await controller.start()
    expect(controller.getState()).toBe('hosting')
    expect(() => controller.guardPluginLoad('p')).toThrow(SessionLockedError)
    await controller.end()
    expect(() => controller.guardPluginLoad('p')).not.toThrow()
  })
})
