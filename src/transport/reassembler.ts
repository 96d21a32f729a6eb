/**
 * The receiving half of framing.ts: frames joined into messages again, within bounds per
 * link. Pure: no browser globals, time only through a Clock.
 */
import { concatBytes, utf8Length, utf8Over } from '../encoding/bytes.js'
import type { Clock, TimerHandle } from '../runtime/clock.js'
import { BATCH_FLAG, BATCH_LENGTH_BYTES, BULK_FLAG, CHUNK_FLAG, TEXT_FLAG, WHOLE_HEADER_BYTES } from './frame-layout.js'
import { CHUNK_HEADER_BYTES, checkMessageLimit, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_REASSEMBLY_TIMEOUT_MS, FramingError, type FramingErrorCode, MAX_ENCODABLE_BYTES } from './frame-limits.js'
import type { Lane, LinkMessage, TransferProgress } from './transport.js'

export const DEFAULT_MAX_PARTIAL_MESSAGES = 8
const IN_FLIGHT_MARGIN_BYTES = 1024 * 1024

export interface ReassemblyLimits {
  maxMessageBytes?: number
  maxPartialMessages?: number
  /**
   * The sum of bytes held for partly received messages. Default: the message limit plus
   * 1 MiB, so one message of the largest size and a control message chunked past it fit.
   */
  maxBytesInFlight?: number
  /** A partial message with no new frame for this long is dropped. */
  timeoutMs?: number
}

export interface Delivery {
  lane: Lane
  /** Whole messages, in order: the frame's own (a text frame's as text), a batch's, or a chunked one's once its last frame is in. */
  messages: LinkMessage[]
  /** Set for frames of multi-frame messages. */
  progress?: TransferProgress
}

interface PartialMessage {
  readonly lane: Lane
  readonly total: number
  /** The payloads received so far, joined once the last one is in: memory follows the bytes that came, not the length announced. */
  readonly chunks: Uint8Array[]
  /** A text message's decoder and the text decoded so far (its chunks are not kept). */
  readonly text?: { readonly decoder: TextDecoder; readonly pieces: string[] }
  received: number
  timer: TimerHandle
}

/** Ids of dropped messages remembered, so their remaining frames are discarded quietly. */
const DROPPED_IDS_REMEMBERED = 32

interface ChunkState {
  /** In order of the last frame received: the least recently progressed first. */
  readonly partials: Map<number, PartialMessage>
  /** Ids of dropped messages (the last DROPPED_IDS_REMEMBERED). */
  readonly dropped: Set<number>
}

/**
 * Joins frames into messages. Memory grows only with the bytes that arrive, within two
 * bounds per link: the number of partial messages and the sum of their bytes. At either
 * bound the partial message that progressed least recently is dropped (an honest sender
 * interleaves at most one message per lane, always progressing), so junk left half-sent
 * cannot lock out a legitimate large message. Bad input never throws anything but a
 * FramingError; the frames left of a dropped message are discarded quietly, and the
 * reassembler stays usable.
 */
export class Reassembler {
  /** Made with the first chunk frame: most links never carry a message longer than a frame. */
  private chunked: ChunkState | undefined
  private readonly maxMessageBytes: number
  private readonly maxPartialMessages: number
  private readonly maxBytesInFlight: number
  private readonly timeoutMs: number
  private held = 0

  /** `onDropped` hears about partial messages dropped by the timeout or to make room for another. */
  constructor(
    private readonly clock: Clock,
    private readonly onDropped: (error: FramingError) => void,
    limits: ReassemblyLimits = {},
  ) {
    this.maxMessageBytes = limits.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
    this.maxPartialMessages = limits.maxPartialMessages ?? DEFAULT_MAX_PARTIAL_MESSAGES
    this.maxBytesInFlight = limits.maxBytesInFlight ?? Math.min(this.maxMessageBytes + IN_FLIGHT_MARGIN_BYTES, MAX_ENCODABLE_BYTES)
    this.timeoutMs = limits.timeoutMs ?? DEFAULT_REASSEMBLY_TIMEOUT_MS
    checkMessageLimit(this.maxMessageBytes)
    checkMessageLimit(this.maxBytesInFlight)
  }

  /** Bytes held for partly received messages. */
  get bytesInFlight(): number {
    return this.held
  }

  /** The most it holds for partly received messages at once. */
  get budgetBytes(): number {
    return this.maxBytesInFlight
  }

  /** Partly received messages. */
  get partialMessages(): number {
    return this.chunked?.partials.size ?? 0
  }

  private get chunking(): ChunkState {
    return (this.chunked ??= { partials: new Map(), dropped: new Set() })
  }

  /** A text frame is one whole message: it only has to be within the limit. Throws FramingError when it is not. */
  acceptText(frame: string): string {
    if (utf8Over(frame, this.maxMessageBytes)) this.checkSize(utf8Length(frame))
    return frame
  }

  /** Undefined for frames of a message being discarded. Throws FramingError on bad frames. */
  accept(frame: Uint8Array | string): Delivery | undefined {
    if (typeof frame === 'string') return { lane: 'control', messages: [this.acceptText(frame)] }
    const flags = frame[0]
    // 0–5: whole, chunk or batch, either lane; chunk and batch together (6, 7) mean nothing;
    // text (8) only marks a chunk (10, 11).
    const known = flags !== undefined && (flags & TEXT_FLAG ? (flags & ~(TEXT_FLAG | BULK_FLAG)) === CHUNK_FLAG : flags <= (BULK_FLAG | BATCH_FLAG))
    if (!known) throw new FramingError('frame-malformed', 'Received a frame with an unknown header.')
    const lane: Lane = flags & BULK_FLAG ? 'bulk' : 'control'
    if (flags & BATCH_FLAG) return { lane, messages: this.unbatch(frame) }
    if (!(flags & CHUNK_FLAG)) {
      const length = frame.byteLength - WHOLE_HEADER_BYTES
      this.checkSize(length)
      return { lane, messages: [part(frame, WHOLE_HEADER_BYTES, length)] }
    }
    if (frame.byteLength <= CHUNK_HEADER_BYTES) {
      throw new FramingError('frame-malformed', 'Received a chunk frame without payload.')
    }
    const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength)
    const id = view.getUint32(1)
    const total = view.getUint32(5)
    const offset = view.getUint32(9)
    const payload = frame.subarray(CHUNK_HEADER_BYTES)
    const end = offset + payload.byteLength
    if (end > total) throw new FramingError('frame-malformed', 'Received a chunk beyond its message length.')
    if (offset > 0 && this.chunking.dropped.has(id) && !this.chunking.partials.has(id)) return undefined

    const isText = (flags & TEXT_FLAG) !== 0
    const partial = offset === 0 ? this.start(id, lane, total, isText) : this.chunking.partials.get(id)
    if (!partial || partial.lane !== lane || partial.total !== total || partial.received !== offset || (partial.text !== undefined) !== isText) {
      throw new FramingError('frame-unexpected', `Received a chunk of message ${id} out of sequence.`)
    }
    this.makeRoom(id, payload.byteLength)
    if (partial.text) this.decodeInto(id, partial.text, payload, end === total)
    else partial.chunks.push(payload)
    partial.received = end
    this.held += payload.byteLength
    this.clock.clearTimeout(partial.timer)
    // Re-inserted, so the map stays ordered by the last frame received.
    this.chunking.partials.delete(id)
    const progress: TransferProgress = { direction: 'receive', bytes: end, total }
    if (end < total) {
      partial.timer = this.expireLater(id)
      this.chunking.partials.set(id, partial)
      return { lane, messages: [], progress }
    }
    this.held -= partial.received
    return { lane, messages: [partial.text ? partial.text.pieces.join('') : join(partial.chunks, total)], progress }
  }

  /** Decodes a text message's chunk as it comes; text that is not UTF-8 drops the message. */
  private decodeInto(id: number, text: NonNullable<PartialMessage['text']>, payload: Uint8Array, last: boolean): void {
    try {
      text.pieces.push(text.decoder.decode(payload, { stream: !last }))
    } catch {
      this.drop(id)
      throw new FramingError('frame-malformed', `Message ${id} was sent as text but is not UTF-8; dropped.`)
    }
  }

  /** A batch frame's messages; all or none: a length running past the frame refuses the whole frame. */
  private unbatch(frame: Uint8Array): Uint8Array[] {
    const lengths = new DataView(frame.buffer, frame.byteOffset, frame.byteLength)
    const messages: Uint8Array[] = []
    let at = WHOLE_HEADER_BYTES
    while (at < frame.byteLength) {
      if (at + BATCH_LENGTH_BYTES > frame.byteLength) throw new FramingError('frame-malformed', 'Received a batch frame cut inside a length.')
      const length = lengths.getUint16(at)
      at += BATCH_LENGTH_BYTES
      if (at + length > frame.byteLength) throw new FramingError('frame-malformed', 'Received a batch frame whose message runs past its end.')
      this.checkSize(length)
      messages.push(part(frame, at, length))
      at += length
    }
    if (messages.length === 0) throw new FramingError('frame-malformed', 'Received an empty batch frame.')
    return messages
  }

  /** Drops every partial message and its timer. */
  clear(): void {
    for (const partial of this.chunked?.partials.values() ?? []) this.clock.clearTimeout(partial.timer)
    this.chunked = undefined
    this.held = 0
  }

  private start(id: number, lane: Lane, total: number, text: boolean): PartialMessage {
    if (this.chunking.partials.has(id)) {
      throw new FramingError('frame-unexpected', `Message ${id} started again before it was complete.`)
    }
    this.chunking.dropped.delete(id)
    if (total > this.maxMessageBytes || total > this.maxBytesInFlight) {
      this.forget(id)
      const limit = Math.min(this.maxMessageBytes, this.maxBytesInFlight)
      throw new FramingError('message-oversized', `Dropped an incoming message of ${total} bytes: the limit is ${limit} bytes.`)
    }
    const victim = this.chunking.partials.size >= this.maxPartialMessages ? this.stalest() : undefined
    if (victim !== undefined) {
      this.dropReporting(victim, 'too-many-partial-messages', `More than ${this.maxPartialMessages} messages were arriving at once; message ${victim} was dropped.`)
    }
    const partial: PartialMessage = { lane, total, chunks: [], received: 0, timer: this.expireLater(id), ...(text ? { text: { decoder: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }), pieces: [] } } : {}) }
    this.chunking.partials.set(id, partial)
    return partial
  }

  /** Drops the least recently progressed other messages until `bytes` more fit the budget. */
  private makeRoom(id: number, bytes: number): void {
    while (this.held + bytes > this.maxBytesInFlight) {
      // The message alone fits (its total was checked at its start); only others can be in the way.
      const victim = this.stalest(id)
      if (victim === undefined) return
      this.dropReporting(victim, 'reassembly-over-budget', `Partly received messages exceeded ${this.maxBytesInFlight} bytes; message ${victim} was dropped.`)
    }
  }

  /** The least recently progressed partial message other than `except`. */
  private stalest(except?: number): number | undefined {
    for (const id of this.chunking.partials.keys()) if (id !== except) return id
    return undefined
  }

  private dropReporting(id: number, code: FramingErrorCode, message: string): void {
    this.drop(id)
    this.onDropped(new FramingError(code, message))
  }

  private drop(id: number): void {
    const partial = this.chunking.partials.get(id)
    if (!partial) return
    this.clock.clearTimeout(partial.timer)
    this.held -= partial.received
    this.chunking.partials.delete(id)
    this.forget(id)
  }

  /** Remembers a dropped message's id (a bounded number of them) to discard its remaining frames. */
  private forget(id: number): void {
    this.chunking.dropped.add(id)
    if (this.chunking.dropped.size > DROPPED_IDS_REMEMBERED) this.chunking.dropped.delete(this.chunking.dropped.values().next().value!)
  }

  private expireLater(id: number): TimerHandle {
    return this.clock.setTimeout(() => this.expire(id), this.timeoutMs)
  }

  private expire(id: number): void {
    const partial = this.chunking.partials.get(id)
    if (partial) this.dropReporting(id, 'reassembly-timeout', `Message ${id} stalled at ${partial.received} of ${partial.total} bytes and was dropped.`)
  }

  private checkSize(length: number): void {
    if (length > this.maxMessageBytes) {
      throw new FramingError(
        'message-oversized',
        `Dropped an incoming message of ${length} bytes: the limit is ${this.maxMessageBytes} bytes.`,
      )
    }
  }
}

/** The chunks of a message as one array; a single chunk is used as it is. */
function join(chunks: Uint8Array[], total: number): Uint8Array {
  return chunks.length === 1 ? chunks[0]! : concatBytes(chunks, total)
}

/** A plain Uint8Array over part of a frame, no copy (a Buffer's slice() would not be one). */
function part(frame: Uint8Array, offset: number, length: number): Uint8Array {
  return new Uint8Array(frame.buffer, frame.byteOffset + offset, length)
}
