import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { decodeMessage, encodeMessage } from '../../src/wire/codec.js'
import { PROTOCOL_VERSION, type WireMessage } from '../../src/wire/messages.js'
import { WireError } from '../../src/errors.js'
import { TestSession, diagnostics } from '../helpers/session.js'

const LIMIT = 64 * 1024
const V = PROTOCOL_VERSION

const samples: WireMessage[] = [
  { v: V, t: 'join', inviteId: 'inv1', user: { id: 'u1', name: 'Ada', role: 'guest' } },
  { v: V, t: 'hello', sessionId: 's1', epoch: 1, hostId: 'h', rank: ['h', 'u1'], peers: [{ id: 'h', name: 'H', role: 'host' }], mesh: true, seq: 0 },
  { v: V, t: 'candidate', epoch: 1, seq: 3 },
  { v: V, t: 'back', epoch: 1 },
  { v: V, t: 'backing', epoch: 1, for: 'u2' },
  { v: V, t: 'snapshot', seq: 3, ids: ['i0'], entries: [{ p: 'kv', w: null, d: { a: 1 } }, { p: 'layers', w: 'left', d: [1, 2] }] },
  { v: V, t: 'view', origin: 'u1', n: 4, p: 'cursor', d: { x: 1, y: 2 } },
  { v: V, t: 'intent', id: 'i1', p: 'kv', d: { key: 'k', value: 'v' } },
  { v: V, t: 'delta', seq: 9, epoch: 1, id: 'i1', origin: 'u1', changes: [{ p: 'kv', d: { key: 'k' } }] },
  { v: V, t: 'ack', id: 'i1', ok: false, reason: 'refused' },
  { v: V, t: 'resend', from: 4 },
  { v: V, t: 'roster', rank: ['h'], peers: [], mesh: false },
  { v: V, t: 'connect', peer: 'u2' },
  { v: V, t: 'signal', to: 'u2', kind: 'offer', signal: 'v=0' },
  { v: V, t: 'relay', from: 'u1', kind: 'answer', signal: 'v=0' },
  { v: V, t: 'links', peers: ['u2'] },
  { v: V, t: 'bye', reason: 'left' },
  { v: V, t: 'end', reason: 'ended' },
  { v: V, t: 'ping', n: 1 },
  { v: V, t: 'pong', n: 1 },
]

/** Decoding either yields a valid message or throws a WireError — nothing else escapes. */
function decodeOrWireError(bytes: Uint8Array): WireMessage | WireError {
  try {
    return decodeMessage(bytes, LIMIT)
  } catch (error) {
    if (error instanceof WireError) return error
    throw error
  }
}

describe('wire codec', () => {
  it('round-trips every message type', () => {
    for (const message of samples) expect(decodeMessage(encodeMessage(message), LIMIT)).toEqual(message)
  })

  it('refuses by kind: oversized, malformed, wrong version, unknown type', () => {
    const code = (bytes: Uint8Array) => (decodeOrWireError(bytes) as WireError).code
    const text = (s: string) => new TextEncoder().encode(s)
    expect(code(new Uint8Array(LIMIT + 1))).toBe('wire-oversized')
    expect(code(text('{"v":1,'))).toBe('wire-malformed')
    expect(code(text('[1,2]'))).toBe('wire-malformed')
    expect(code(text('{"v":2,"t":"ping","n":1}'))).toBe('wire-version')
    expect(code(text('{"v":1,"t":"launch"}'))).toBe('wire-unknown-type')
    expect(code(text('{"v":1,"t":"ping","n":-1}'))).toBe('wire-malformed')
    expect(code(text('{"v":1,"t":"delta","seq":1,"epoch":1,"id":"x","origin":"o","changes":[]}'))).toBe('wire-malformed')
    expect(code(text(`{"v":1,"t":"intent","id":"${'x'.repeat(65)}","p":"kv","d":{}}`))).toBe('wire-malformed')
  })

  it('never throws anything but WireError on arbitrary bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
      decodeOrWireError(bytes)
    }), { numRuns: 2000 })
  })

  it('never throws anything but WireError on arbitrary JSON', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => {
      decodeOrWireError(new TextEncoder().encode(JSON.stringify(value)))
    }), { numRuns: 2000 })
  })

  it('never throws anything but WireError on mutated valid messages', () => {
    const mutate = fc.tuple(fc.constantFrom(...samples), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat())
    fc.assert(fc.property(mutate, ([message, at, byte, cut]) => {
      const bytes = encodeMessage(message)
      const changed = bytes.slice()
      changed[at % changed.length] = byte
      decodeOrWireError(changed)
      decodeOrWireError(bytes.slice(0, cut % bytes.length))
    }), { numRuns: 3000 })
  })

  it('never lets an invalid message reach a provider or stop a peer', async () => {
    const s = await TestSession.started(2, 3)
    const link = s.net.linkEnd('g1', 'host')!
    let sent = 0
    fc.assert(fc.property(fc.constantFrom(...samples), fc.nat(), fc.integer({ min: 0, max: 255 }), (message, at, byte) => {
      const bytes = encodeMessage(message)
      bytes[at % bytes.length] = byte
      if (decodeOrWireError(bytes) instanceof WireError) {
        link.send(bytes)
        sent++
      }
    }), { numRuns: 400 })
    await s.settle()
    expect(sent).toBeGreaterThan(100)
    expect(s.host.kv.applied.length + s.host.cursor.applied.length + s.host.layers.applied.length).toBe(0)
    expect(diagnostics(s.host)).toHaveLength(sent)
    expect(s.host.controller.getState()).toBe('connected')
    s.guests[0]!.kv.set('after', 'fuzz')
    await s.settle()
    expect(s.host.kv.store()).toEqual({ after: 'fuzz' })
  })
})
