import fc from 'fast-check'
import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import { WireError } from '../../src/errors.js'
import { decodeMessage, exactMessage } from '../../src/wire/codec.js'
import { acceptFast } from '../../src/wire/fast-path.js'
import { PROTOCOL_VERSION, wireMessageSchema, type WireType } from '../../src/wire/messages.js'

const HOT: WireType[] = ['view', 'intent', 'delta', 'ack', 'ping', 'pong', 'snapshot']
const text = new TextEncoder()

/** Values near every bound the schemas set: ids of 0, 1, 64, 65 characters, counts around 0 and 2^53, odd types. */
const edgy = fc.oneof(
  fc.constantFrom('', 'a', 'x'.repeat(64), 'x'.repeat(65), 'y'.repeat(200), 'y'.repeat(201), '__proto__', 'constructor'),
  fc.constantFrom(0, -0, 1, -1, 0.5, 2 ** 53 - 1, 2 ** 53, Number.MAX_VALUE),
  fc.constantFrom(true, false, null, [], {}, [{}], { p: 'kv', d: {} }),
  fc.string({ maxLength: 70 }),
  fc.integer(),
  fc.jsonValue({ maxDepth: 2 }),
)
/** Mostly valid, sometimes just past a bound. */
const id = fc.oneof({ arbitrary: fc.string({ minLength: 1, maxLength: 12 }), weight: 6 }, fc.constantFrom('x'.repeat(64), 'x'.repeat(65), ''))
const count = fc.oneof({ arbitrary: fc.nat(), weight: 6 }, fc.constantFrom(2 ** 53 - 1, 2 ** 53, -1, 1.5))
/** `{ d: { d: … } }`, `depth` objects deep in all. */
const nested = (depth: number): object => (depth <= 1 ? {} : { d: nested(depth - 1) })
/** Payloads, including the keys valibot's record drops, arrays it accepts as records, and the schema's own bounds. */
const payload = fc.oneof(
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
  fc.constantFrom({ constructor: 1 }, { prototype: 2 }, JSON.parse('{"__proto__":{"x":1},"a":1}') as object, [1, 2], [], null, 'text'),
  fc.constantFrom(nested(64), nested(65), { viewerId: 'v'.repeat(64) }, { viewerId: 'v'.repeat(65) }, { viewerUniqueId: 'u'.repeat(65) }, { viewerId: 7 }, { viewerId: null }),
)
const change = fc.record({ p: id, d: payload })

const valid = {
  view: fc.record({ origin: id, n: count, p: id, d: payload }),
  intent: fc.record({ id, p: id, d: payload }),
  delta: fc.record({ seq: count, epoch: count, id, origin: id, changes: fc.oneof({ arbitrary: fc.array(change, { minLength: 0, maxLength: 4 }), weight: 6 }, fc.constantFrom(256, 257).map((n) => Array.from({ length: n }, () => ({ p: 'kv', d: {} })))) }),
  ack: fc.record({ id, ok: fc.boolean(), reason: fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('y'.repeat(200), 'y'.repeat(201))) }, { requiredKeys: ['id', 'ok'] }),
  ping: fc.record({ n: count }),
  pong: fc.record({ n: count }),
  snapshot: fc.record({
    seq: count,
    ids: fc.oneof({ arbitrary: fc.array(id, { maxLength: 4 }), weight: 6 }, fc.constantFrom(100_000, 100_001).map((n) => Array.from({ length: n }, (_, i) => `i${i}`))),
    entries: fc.array(fc.oneof({ arbitrary: fc.record({ p: id, w: fc.oneof(id, fc.constant(null)), d: fc.jsonValue({ maxDepth: 2 }) }), weight: 6 }, edgy), { maxLength: 3 }),
  }),
} satisfies Record<string, fc.Arbitrary<Record<string, unknown>>>

/** A hot message, valid or bent: a field replaced, dropped or added, or a change bent likewise. */
const message = fc
  .tuple(fc.constantFrom(...HOT), fc.nat(5), fc.string({ maxLength: 10 }), edgy)
  .chain(([type, mutation, key, value]) =>
    valid[type as keyof typeof valid].map((fields) => {
      const out: Record<string, unknown> = { v: PROTOCOL_VERSION, t: type, ...fields }
      const keys = Object.keys(fields)
      const target = keys[key.length % Math.max(1, keys.length)]
      if (mutation === 1 && target) out[target] = value
      if (mutation === 2 && target) delete out[target]
      if (mutation === 3) out[key || 'extra'] = value
      if (mutation === 4 && Array.isArray(out.changes) && out.changes.length) {
        out.changes = [...(out.changes as object[]), key ? { p: 'kv', d: {}, [key]: value } : value]
      }
      return out
    }),
  )

/** What the edge sees: the message after a trip through JSON. */
const overTheWire = (raw: Record<string, unknown>) => JSON.parse(JSON.stringify(raw)) as Record<string, unknown>

describe('wire fast path', () => {
  it('accepts only what valibot accepts, with the same output, and leaves every refusal to valibot', () => {
    let taken = 0
    let refused = 0
    let laned = 0
    fc.assert(
      fc.property(message, (sent) => {
        const raw = overTheWire(sent)
        const fast = acceptFast(raw, raw.t as WireType)
        const slow = v.safeParse(wireMessageSchema, raw)
        if (fast) {
          taken++
          expect(slow.success).toBe(true)
          expect(fast).toEqual(slow.output)
        }
        if (!slow.success) refused++
        // The decoder's answer is valibot's answer, whichever path it took.
        let decoded: unknown
        try {
          decoded = decodeMessage(text.encode(JSON.stringify(raw)), 1 << 20)
        } catch (error) {
          expect(error).toBeInstanceOf(WireError)
          decoded = undefined
        }
        expect(decoded === undefined).toBe(!slow.success)
        if (slow.success) expect(decoded).toEqual(slow.output)
        // The lane (session/links.ts) takes a view or a delta exactly when the fast path does, and nothing else.
        for (const type of ['view', 'delta'] as const) {
          const taken = exactMessage(JSON.stringify(raw), type)
          if (taken) {
            laned++
            expect(slow.success && raw.t === type).toBe(true)
            expect(taken).toEqual(slow.output)
          } else expect(raw.t === type ? fast : undefined).toBeUndefined()
        }
      }),
      { numRuns: 3_000 },
    )
    // Both kinds of case were generated in numbers: the property was not held vacuously.
    expect(taken).toBeGreaterThan(600)
    expect(refused).toBeGreaterThan(300)
    expect(laned).toBeGreaterThan(50)
  })

  it('takes nothing for the lane that is not JSON, not an object, cut short, or of another type', () => {
    const view = { v: 1, t: 'view', origin: 'u1', n: 4, p: 'cursor', d: { x: 1 } }
    const delta = { v: 1, t: 'delta', seq: 9, epoch: 1, id: 'i1', origin: 'u1', changes: [{ p: 'kv', d: { key: 'k' } }] }
    expect(exactMessage(JSON.stringify(view), 'view')).toEqual(view)
    expect(exactMessage(JSON.stringify(delta), 'delta')).toEqual(delta)
    expect(exactMessage(JSON.stringify(view), 'delta')).toBeUndefined()
    expect(exactMessage(JSON.stringify(delta), 'view')).toBeUndefined()
    for (const text of ['{"v":1,"t":"view"', '{"v":1,"t":"view","origin":"u1"}', 'null', '[]', '7', '"view"', '', '{"v":1,"t":"view","origin":"u1","n":4,"p":"cursor","d":{"x":1},"d":[]}']) {
      expect(exactMessage(text, 'view'), text).toBeUndefined()
    }
  })

  it('takes the fast path for the usual shapes of every hot type', () => {
    const usual: Record<string, unknown>[] = [
      { v: 1, t: 'view', origin: 'u1', n: 4, p: 'cursor', d: { x: 1, y: 2 } },
      { v: 1, t: 'intent', id: 'i1', p: 'kv', d: { key: 'k', value: 'v' } },
      { v: 1, t: 'delta', seq: 9, epoch: 1, id: 'i1', origin: 'u1', changes: [{ p: 'kv', d: { key: 'k' } }] },
      { v: 1, t: 'ack', id: 'i1', ok: false, reason: 'refused' },
      { v: 1, t: 'ack', id: 'i1', ok: true },
      { v: 1, t: 'ack', id: 'i1', ok: true, seq: 7 },
      { v: 1, t: 'ping', n: 1 },
      { v: 1, t: 'pong', n: 1 },
      { v: 1, t: 'snapshot', seq: 3, ids: ['i1', 'i2'], entries: [{ p: 'kv', w: null, d: { k: 'v' } }, { p: 'viewport', w: 'slide-1', d: [1, 2] }] },
    ]
    for (const raw of usual) expect(acceptFast(raw, raw.t as WireType)).toBe(raw)
    // Not hot: always valibot's; nor is a name every object inherits.
    expect(acceptFast({ v: 1, t: 'resend', from: 1 }, 'resend')).toBeUndefined()
    expect(acceptFast({ v: 1, t: 'constructor' }, 'constructor' as WireType)).toBeUndefined()
  })
})
