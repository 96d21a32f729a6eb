import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { VirtualClock } from '../../src/runtime/virtual-clock.js'
import {
  FRAME_LIMIT_BYTES,
  FramingError,
  OutboundQueue,
  Reassembler,
  type OutboundFrame,
  type ReassemblyLimits,
} from '../../src/transport/framing.js'
import type { Lane, LinkMessage } from '../../src/transport/transport.js'

function drain(queue: OutboundQueue): OutboundFrame[] {
  const frames: OutboundFrame[] = []
  for (let next = queue.next(); next; next = queue.next()) frames.push(next)
  return frames
}

function receiver(limits: ReassemblyLimits = {}) {
  const clock = new VirtualClock()
  const expired: FramingError[] = []
  const reassembler = new Reassembler(clock, (error) => expired.push(error), limits)
  return { clock, expired, reassembler }
}

function framesOf(message: Uint8Array, lane: Lane = 'bulk'): Array<Uint8Array | string> {
  const queue = new OutboundQueue()
  queue.enqueue(message, lane)
  return drain(queue).map((f) => f.frame)
}

function codeOf(action: () => unknown): string | undefined {
  try {
    action()
  } catch (error) {
    return error instanceof FramingError ? error.code : `not a FramingError: ${String(error)}`
  }
  return undefined
}

const bytes = (length: number, fill = 1) => new Uint8Array(length).fill(fill)
/** Messages as base64 text: compared as strings, which is fast where element-wise deep equality of large arrays is not. */
const b64 = (messages: LinkMessage[] | undefined) => messages?.map((m) => (typeof m === 'string' ? Buffer.from(m) : Buffer.from(m.buffer, m.byteOffset, m.byteLength)).toString('base64'))
/** A frame's size on the channel: text frames travel as UTF-8. */
const sizeOf = (frame: Uint8Array | string) => (typeof frame === 'string' ? new TextEncoder().encode(frame).byteLength : frame.byteLength)

describe('framing', () => {
  it('splits any message into frames under 16 KiB and joins them byte for byte', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70_000 }), fc.constantFrom<Lane>('control', 'bulk'), (message, lane) => {
        const { reassembler } = receiver()
        const deliveries = framesOf(message, lane).map((frame) => {
          expect(sizeOf(frame)).toBeLessThan(FRAME_LIMIT_BYTES)
          return reassembler.accept(frame)
        })
        const last = deliveries.at(-1)
        expect(last?.lane).toBe(lane)
        expect(b64(last?.messages)).toEqual(b64([message]))
        expect(deliveries.slice(0, -1).every((d) => d?.messages.length === 0)).toBe(true)
      }),
      { numRuns: 60 },
    )
  })

  it('sends a small message as one frame, without progress', () => {
    const queue = new OutboundQueue()
    expect(queue.next()).toBeUndefined()
    queue.enqueue(bytes(100, 0xff), 'bulk')
    const frames = drain(queue)
    expect(frames).toHaveLength(1)
    expect(frames[0]!.progress).toBeUndefined()
    expect(frames[0]!.frame).toHaveLength(101)
  })

  it('sends a lone small control message sent as text as a text frame, arriving as text; bytes always as binary', () => {
    const text = JSON.stringify({ v: 1, t: 'view', d: { x: 'é€😀' } })
    const json = new TextEncoder().encode(text)
    const lone = (message: LinkMessage, lane: Lane = 'control') => {
      const queue = new OutboundQueue()
      queue.enqueue(message, lane)
      return drain(queue).map((f) => f.frame)
    }
    const [frame] = lone(text)
    expect(frame).toBe(text)
    expect(receiver().reassembler.accept(frame!)).toEqual({ lane: 'control', messages: [text] })
    // Bytes stay bytes, even valid UTF-8: a message arrives in the form it was sent.
    expect(typeof lone(json)[0]).not.toBe('string')
    expect(receiver().reassembler.accept(lone(json)[0]!)?.messages).toEqual([json])
    // Text that may not go as a text frame goes as its UTF-8, and arrives as bytes.
    for (const [message, lane] of [[text, 'bulk'], ['A'.repeat(5_000), 'control'], ['a\ud800b', 'control']] as const) {
      const frames = lone(message, lane)
      expect(typeof frames[0]).not.toBe('string')
      expect(receiver().reassembler.accept(frames[0]!)?.messages).toEqual([new TextEncoder().encode(message)])
    }
    // Messages queued together share a binary batch frame, text or not.
    const queue = new OutboundQueue()
    queue.enqueue(text, 'control')
    queue.enqueue(json, 'control')
    queue.enqueue(text, 'control')
    const batch = drain(queue)
    expect(batch).toHaveLength(1)
    expect(typeof batch[0]!.frame).not.toBe('string')
    expect(receiver().reassembler.accept(batch[0]!.frame)?.messages).toEqual([json, json, json])
    // Text over the message limit is refused on either end like any other message.
    expect(codeOf(() => new OutboundQueue(16_000, 10).enqueue('é'.repeat(6), 'control'))).toBe('message-oversized')
    expect(codeOf(() => receiver({ maxMessageBytes: 10 }).reassembler.accept('x'.repeat(11)))).toBe('message-oversized')
    expect(codeOf(() => receiver({ maxMessageBytes: 10 }).reassembler.accept('é'.repeat(6)))).toBe('message-oversized')
    expect(receiver({ maxMessageBytes: 10 }).reassembler.accept('é'.repeat(5))?.messages).toEqual(['é'.repeat(5)])
  })

  it('says which message a link may write at once: text that goes as a text frame as it is, with nothing queued', () => {
    const text = JSON.stringify({ v: 1, t: 'view', d: { x: 'é€😀' } })
    const queue = new OutboundQueue()
    expect(queue.loneTextFrame(text, 'control')).toBe(true)
    // Not text, not on its own, or not a text frame as it is: it queues, as enqueue frames it.
    expect(queue.loneTextFrame(new TextEncoder().encode(text), 'control')).toBe(false)
    expect(queue.loneTextFrame(text, 'bulk')).toBe(false)
    expect(queue.loneTextFrame('A'.repeat(5_000), 'control')).toBe(false)
    expect(queue.loneTextFrame('a\ud800b', 'control')).toBe(false)
    expect(new OutboundQueue(16_000, 10).loneTextFrame('é'.repeat(6), 'control')).toBe(false)
    queue.enqueue(text, 'bulk')
    expect(queue.loneTextFrame(text, 'control')).toBe(false)
    drain(queue)
    expect(queue.loneTextFrame(text, 'control')).toBe(true)
  })

  it('sends text longer than a frame in text chunks, encoded as they go, and it arrives as text (what its UTF-8 reads as)', () => {
    // A leading U+FEFF is text like any other: it must arrive, not be taken for a byte-order mark.
    const piece = fc.constantFrom('a', 'xyz', 'é', '€', '😀', '\ud800', '\udc00', '\udbff\udfff', '\ufeff')
    fc.assert(
      fc.property(fc.array(piece, { minLength: 1, maxLength: 400 }), fc.integer({ min: 17, max: 64 }), fc.constantFrom<Lane>('control', 'bulk'), (pieces, frameBytes, lane) => {
        // (Control text of up to 4 K units goes whole as a text frame: see above.)
        const text = (lane === 'control' ? 'x'.repeat(4_097) : '') + pieces.join('')
        const utf8 = new TextEncoder().encode(text)
        const queue = new OutboundQueue(frameBytes)
        queue.enqueue(text, lane)
        const frames = drain(queue)
        const { reassembler } = receiver()
        const deliveries = frames.map((f) => {
          expect(sizeOf(f.frame)).toBeLessThanOrEqual(frameBytes)
          return reassembler.accept(f.frame)
        })
        if (utf8.byteLength <= frameBytes - 1) {
          // It fits one frame: a whole binary frame of its UTF-8, as text too long for a text frame goes.
          expect(frames).toHaveLength(1)
          expect(b64(deliveries[0]?.messages)).toEqual(b64([utf8]))
          return
        }
        expect(frames.every((f) => typeof f.frame !== 'string' && (f.frame[0]! & 0b1000) !== 0)).toBe(true)
        expect(frames.at(-1)!.progress).toEqual({ direction: 'send', bytes: utf8.byteLength, total: utf8.byteLength })
        expect(deliveries.at(-1)).toEqual({ lane, messages: [new TextDecoder('utf-8', { ignoreBOM: true }).decode(utf8)], progress: { direction: 'receive', bytes: utf8.byteLength, total: utf8.byteLength } })
        expect(reassembler.bytesInFlight).toBe(0)
      }),
      { numRuns: 300 },
    )
  })

  it('drops a message sent as text whose bytes are not UTF-8, and stays usable', () => {
    const queue = new OutboundQueue(20)
    queue.enqueue('é'.repeat(20), 'bulk')
    const frames = drain(queue).map((f) => f.frame as Uint8Array)
    const damaged = frames[1]!.slice()
    damaged[13] = 0xff
    const { reassembler } = receiver()
    reassembler.accept(frames[0]!)
    expect(codeOf(() => reassembler.accept(damaged))).toBe('frame-malformed')
    expect(reassembler.bytesInFlight).toBe(0)
    expect(reassembler.partialMessages).toBe(0)
    // The rest of it is discarded quietly; the next message arrives.
    expect(frames.slice(2).map((f) => reassembler.accept(f))).toEqual(frames.slice(2).map(() => undefined))
    const next = new OutboundQueue(20)
    next.enqueue('ok'.repeat(20), 'bulk')
    expect(drain(next).map((f) => reassembler.accept(f.frame)).at(-1)?.messages).toEqual(['ok'.repeat(20)])
    // The text mark belongs to chunks only.
    expect(codeOf(() => reassembler.accept(new Uint8Array([0b1000, 0x41])))).toBe('frame-malformed')
  })

  it('reports progress on both ends of a multi-frame message', () => {
    const queue = new OutboundQueue()
    queue.enqueue(bytes(40_000), 'bulk')
    const frames = drain(queue)
    expect(frames.map((f) => f.progress?.bytes)).toEqual([15_987, 31_974, 40_000])
    const { reassembler } = receiver()
    const received = frames.map((f) => reassembler.accept(f.frame)!.progress)
    expect(received).toEqual([15_987, 31_974, 40_000].map((b) => ({ direction: 'receive', bytes: b, total: 40_000 })))
  })

  it('serves control frames before queued bulk frames, interleaving at frame granularity', () => {
    const queue = new OutboundQueue()
    queue.enqueue(bytes(100_000, 2), 'bulk')
    const first = queue.next()!
    queue.enqueue(bytes(10, 3), 'control')
    queue.enqueue(bytes(20_000, 4), 'control')
    const rest = drain(queue)
    const { reassembler } = receiver()
    const messages = [first, ...rest]
      .map((f) => reassembler.accept(f.frame))
      .flatMap((d) => (d ? d.messages.map((m) => [d.lane, sizeOf(m)]) : []))
    expect(messages).toEqual([
      ['control', 10],
      ['control', 20_000],
      ['bulk', 100_000],
    ])
    // The bulk message had one frame out; the control messages (three frames) go next.
    expect(rest.slice(0, 3).map((f) => (typeof f.frame === 'string' ? 0 : f.frame[0]! & 0b01))).toEqual([0, 0, 0])
  })

  it('packs messages queued together into shared frames, each lane in order, and splits them again', () => {
    const message = fc.record({ lane: fc.constantFrom<Lane>('control', 'bulk'), size: fc.oneof(fc.nat(300), fc.nat(20_000)), fill: fc.nat(255) })
    fc.assert(
      fc.property(fc.array(message, { maxLength: 60 }), (sent) => {
        const queue = new OutboundQueue()
        for (const m of sent) queue.enqueue(bytes(m.size, m.fill), m.lane)
        const frames = drain(queue)
        const { reassembler } = receiver()
        const received: Record<Lane, LinkMessage[]> = { control: [], bulk: [] }
        for (const { frame } of frames) {
          expect(sizeOf(frame)).toBeLessThan(FRAME_LIMIT_BYTES)
          const delivery = reassembler.accept(frame)!
          received[delivery.lane].push(...delivery.messages)
        }
        for (const lane of ['control', 'bulk'] as const) {
          expect(b64(received[lane])).toEqual(b64(sent.filter((m) => m.lane === lane).map((m) => bytes(m.size, m.fill))))
        }
      }),
      { numRuns: 40 },
    )
    // A burst of small deltas: a hundred messages, a handful of frames.
    const queue = new OutboundQueue()
    for (let i = 0; i < 100; i++) queue.enqueue(bytes(100, i), 'control')
    expect(drain(queue).length).toBeLessThanOrEqual(Math.ceil((100 * 102) / 16_000))
  })

  it('refuses a damaged batch frame whole, with a FramingError, and stays usable', () => {
    const { reassembler } = receiver({ maxMessageBytes: 50 })
    const damaged = [
      Uint8Array.of(0b100), // a batch of nothing
      Uint8Array.of(0b100, 0), // cut inside a length
      Uint8Array.of(0b100, 0, 3, 1, 2), // a message running past the end
      Uint8Array.of(0b100, 0, 1, 7, 0, 60, ...bytes(60)), // the second message over the limit
      Uint8Array.of(0b110, 0, 1, 7), // chunk and batch at once
    ]
    expect(damaged.map((frame) => codeOf(() => reassembler.accept(frame)))).toEqual([
      'frame-malformed',
      'frame-malformed',
      'frame-malformed',
      'message-oversized',
      'frame-malformed',
    ])
    expect(reassembler.accept(Uint8Array.of(0b101, 0, 1, 7, 0, 0, 0, 2, 8, 9))).toEqual({
      lane: 'bulk',
      messages: [Uint8Array.of(7), new Uint8Array(0), Uint8Array.of(8, 9)],
    })
  })

  it('refuses to queue a message above the limit', () => {
    const queue = new OutboundQueue(16_000, 1000)
    expect(codeOf(() => queue.enqueue(bytes(1001), 'bulk'))).toBe('message-oversized')
    queue.enqueue(bytes(1000), 'bulk')
    expect(drain(queue)).toHaveLength(1)
  })

  it('drops an oversized incoming message once, quietly discards its rest, and stays usable', () => {
    const { reassembler } = receiver({ maxMessageBytes: 20_000 })
    const [head, ...tail] = framesOf(bytes(50_000))
    expect(codeOf(() => reassembler.accept(head!))).toBe('message-oversized')
    for (const frame of tail) expect(reassembler.accept(frame)).toBeUndefined()
    const next = framesOf(bytes(20_000, 9)).map((f) => reassembler.accept(f))
    expect(b64(next.at(-1)?.messages)).toEqual(b64([bytes(20_000, 9)]))
  })

  it('drops the least recently progressed message when too many arrive at once, and reports it', () => {
    const { expired: dropped, reassembler } = receiver({ maxPartialMessages: 2 })
    const queue = new OutboundQueue()
    for (let i = 0; i < 3; i++) queue.enqueue(bytes(20_000, i), 'bulk')
    // As if three senders interleaved: the first frames of three messages, then the rest of the third.
    const frames = drain(queue)
    const firsts = frames.filter((f) => f.progress?.bytes === 15_987)
    expect(firsts).toHaveLength(3)
    reassembler.accept(firsts[0]!.frame)
    reassembler.accept(firsts[1]!.frame)
    reassembler.accept(firsts[2]!.frame)
    expect(dropped.map((e) => e.code)).toEqual(['too-many-partial-messages'])
    expect(reassembler.partialMessages).toBe(2)
    expect(b64(reassembler.accept(frames.at(-1)!.frame)?.messages)).toEqual(b64([bytes(20_000, 2)]))
    // The dropped one's remaining frame is discarded quietly.
    expect(reassembler.accept(frames[1]!.frame)).toBeUndefined()
  })

  it('allocates as chunks arrive: eight 14-byte headers announcing 64 MiB each hold 8 bytes, not 512 MiB', () => {
    const { reassembler } = receiver()
    const header = (id: number) => {
      const frame = new Uint8Array(14)
      const view = new DataView(frame.buffer)
      view.setUint8(0, 0b011)
      view.setUint32(1, id)
      view.setUint32(5, 64 * 1024 * 1024)
      view.setUint32(9, 0)
      return frame
    }
    const before = process.memoryUsage().arrayBuffers
    for (let id = 100; id < 108; id++) expect(reassembler.accept(header(id))?.messages).toEqual([])
    expect(reassembler.bytesInFlight).toBe(8)
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1024 * 1024)
    // A legitimate large message on the same link still arrives whole, its own slot freed by dropping the stalest header.
    const message = bytes(200_000, 7)
    const delivered = framesOf(message).map((frame) => reassembler.accept(frame))
    expect(b64(delivered.at(-1)?.messages)).toEqual(b64([message]))
  })

  it('keeps the bytes of partly received messages under the budget, dropping the stalest, and a large message still arrives', () => {
    const budget = 100_000
    const { expired: dropped, reassembler } = receiver({ maxBytesInFlight: budget, maxPartialMessages: 64 })
    // Junk: many half-sent messages of 60 kB, each left after its first frames.
    let peak = 0
    for (let i = 0; i < 20; i++) {
      const queue = new OutboundQueue()
      for (let k = 0; k <= i; k++) queue.enqueue(bytes(1), 'bulk') // distinct message ids
      queue.enqueue(bytes(60_000, i), 'bulk')
      const frames = drain(queue).filter((f) => f.progress)
      for (const { frame } of frames.slice(0, 3)) {
        reassembler.accept(frame)
        peak = Math.max(peak, reassembler.bytesInFlight)
      }
    }
    expect(peak).toBeLessThanOrEqual(budget)
    expect(dropped.length).toBeGreaterThan(10)
    expect(dropped.every((e) => e.code === 'reassembly-over-budget')).toBe(true)
    // A 90 kB message (within the budget alone) on the same link arrives whole.
    const message = bytes(90_000, 5)
    const queue = new OutboundQueue()
    for (let k = 0; k < 50; k++) queue.enqueue(bytes(1), 'bulk')
    queue.enqueue(message, 'bulk')
    const delivered = drain(queue).filter((f) => f.progress).map((f) => {
      const delivery = reassembler.accept(f.frame)
      peak = Math.max(peak, reassembler.bytesInFlight)
      return delivery
    })
    expect(b64(delivered.at(-1)?.messages)).toEqual(b64([message]))
    expect(peak).toBeLessThanOrEqual(budget)
    expect(reassembler.bytesInFlight).toBe(0)
  })

  it('refuses a message larger than the budget at its first frame and discards the rest quietly', () => {
    const { reassembler } = receiver({ maxBytesInFlight: 30_000 })
    const [head, ...tail] = framesOf(bytes(40_000))
    expect(codeOf(() => reassembler.accept(head!))).toBe('message-oversized')
    for (const frame of tail) expect(reassembler.accept(frame)).toBeUndefined()
    expect(reassembler.bytesInFlight).toBe(0)
  })

  it('drops a stalled message after the timeout, reports it, and discards its late frames', async () => {
    const { clock, expired, reassembler } = receiver({ timeoutMs: 1000 })
    const [first, second, third] = framesOf(bytes(40_000))
    reassembler.accept(first!)
    await clock.advance(999)
    reassembler.accept(second!) // a frame restarts the timer
    await clock.advance(999)
    expect(expired).toEqual([])
    expect(reassembler.bytesInFlight).toBe(2 * 15_987)
    await clock.advance(1)
    expect(expired.map((e) => e.code)).toEqual(['reassembly-timeout'])
    expect(reassembler.bytesInFlight).toBe(0)
    expect(reassembler.accept(third!)).toBeUndefined() // late frame of the dropped message
    expect(clock.pending).toBe(0)
  })

  it('rejects frames out of sequence', () => {
    const { reassembler } = receiver()
    const [first, second, third] = framesOf(bytes(40_000))
    expect(codeOf(() => reassembler.accept(second!))).toBe('frame-unexpected')
    reassembler.accept(first!)
    expect(codeOf(() => reassembler.accept(third!))).toBe('frame-unexpected')
    expect(codeOf(() => reassembler.accept(first!))).toBe('frame-unexpected')
  })

  it('throws nothing but FramingError on arbitrary frames', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 30 }), (frames) => {
        const { reassembler } = receiver({ maxMessageBytes: 1 << 20, maxPartialMessages: 3 })
        for (const frame of frames) {
          const code = codeOf(() => reassembler.accept(frame))
          if (code !== undefined) expect(code).not.toMatch(/^not a FramingError/)
        }
        reassembler.clear()
      }),
      { numRuns: 500 },
    )
  })

  it('refuses option values it cannot honour', () => {
    expect(codeOf(() => new OutboundQueue(FRAME_LIMIT_BYTES))).toBe('invalid-option')
    expect(codeOf(() => new OutboundQueue(13))).toBe('invalid-option')
    expect(codeOf(() => new OutboundQueue(16_000, 2 ** 32))).toBe('invalid-option')
    expect(codeOf(() => new Reassembler(new VirtualClock(), () => {}, { maxMessageBytes: -1 }))).toBe('invalid-option')
    expect(codeOf(() => new Reassembler(new VirtualClock(), () => {}, { maxBytesInFlight: 2 ** 32 }))).toBe('invalid-option')
    // The default budget (the message limit plus a margin) stays within what the length field can say.
    expect(codeOf(() => new Reassembler(new VirtualClock(), () => {}, { maxMessageBytes: 2 ** 32 - 1 }))).toBeUndefined()
  })
})
