/**
 * Framing of whole messages onto a message channel with a small frame size (a DataChannel):
 * an outbound queue that splits messages into frames, control lane first; the reassembler
 * (reassembler.ts) joins them again within bounds; the frames are in frame-layout.ts. Pure:
 * no browser globals, time only through a Clock.
 *
 * Batches are why a burst of small messages costs a few DataChannel sends rather than one
 * each: the browser's per-send cost, not the bytes, bounds the message rate.
 */
import { byteSize, concatBytes, sizeOver, utf8Over } from '../encoding/bytes.js'
import { BATCH_FLAG, BATCH_LENGTH_BYTES, BULK_FLAG, CHUNK_FLAG, TEXT_FLAG, WHOLE_HEADER_BYTES } from './frame-layout.js'
import {
  CHUNK_HEADER_BYTES,
  checkFrameBytes,
  checkMessageLimit,
  DEFAULT_FRAME_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_REASSEMBLY_TIMEOUT_MS,
  FramingError,
  type FramingErrorCode,
} from './frame-limits.js'
import type { Lane, LinkMessage, TransferProgress } from './transport.js'

// The bounds live in frame-limits.ts (a page checks options against them without the framer).
export { checkFrameBytes, checkMessageLimit, DEFAULT_FRAME_BYTES, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_REASSEMBLY_TIMEOUT_MS, FramingError, type FramingErrorCode }
export { FRAME_LIMIT_BYTES } from './frame-limits.js'
export { DEFAULT_MAX_PARTIAL_MESSAGES, type Delivery, Reassembler, type ReassemblyLimits } from './reassembler.js'

/** Text up to this many UTF-16 units may go as a text frame: as UTF-8, at most 3 bytes a unit, it stays under the frame limit. */
const TEXT_FRAME_MAX_UNITS = 4 * 1024
/** A lone surrogate: text that is not well-formed goes as the UTF-8 TextEncoder makes of it, never as a text frame. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/
/** `String.prototype.isWellFormed` (the browser's own scan) where there is one. */
const scanWellFormed: (text: string) => boolean =
  typeof String.prototype.isWellFormed === 'function' ? (text) => text.isWellFormed() : (text) => !LONE_SURROGATE.test(text)
/** The last text found well-formed: a message broadcast to every link is scanned once, not once a link. */
let lastWellFormed = ''

/** Up to this many units, a loop here looks for any surrogate first (see wellFormed). */
const SHORT_TEXT_UNITS = 512

function wellFormed(text: string): boolean {
  if (text === lastWellFormed) return true
  // Most messages are short and hold no surrogate at all: a loop here says so sooner than a
  // call to the browser's scan, which a message after a pause meets cold (~2 µs, measured).
  if ((text.length > SHORT_TEXT_UNITS || hasSurrogate(text)) && !scanWellFormed(text)) return false
  lastWellFormed = text
  return true
}

function hasSurrogate(text: string): boolean {
  for (let i = 0; i < text.length; i++) if ((text.charCodeAt(i) & 0xf800) === 0xd800) return true
  return false
}
const utf8Encoder = new TextEncoder()

export interface OutboundFrame {
  frame: Uint8Array<ArrayBuffer> | string
  /** Set for frames of multi-frame messages: bytes of the message sent once this frame is. */
  progress?: TransferProgress
}

interface QueuedMessage {
  /** Text while it may still go as a text frame (encoded when it joins a batch), or while it goes in text chunks. */
  message: Uint8Array | string
  readonly lane: Lane
  readonly id: number
  /** Bytes sent so far. */
  offset: number
  /** Text longer than a frame: encoded straight into its chunk frames (headers filled as they go), and its UTF-8 size. */
  chunkedText?: { readonly frames: Uint8Array<ArrayBuffer>[]; readonly size: number }
}

/**
 * Messages waiting to be written, split lazily into frames. `next()` serves the control
 * lane before the bulk lane, so a control message waits for at most one bulk frame.
 */
export class OutboundQueue {
  private readonly lanes: Record<Lane, QueuedMessage[]> = { control: [], bulk: [] }
  private nextId = 0

  constructor(
    private readonly frameBytes = DEFAULT_FRAME_BYTES,
    private readonly maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES,
  ) {
    checkFrameBytes(frameBytes)
    checkMessageLimit(maxMessageBytes)
  }

  /**
   * Whether `data` would go as one text frame of its own, as it is, with nothing queued
   * before it: its sender may write it at once and queue nothing.
   */
  loneTextFrame(data: LinkMessage, lane: Lane): data is string {
    return typeof data === 'string' && !this.pending && this.textFrame(data, lane) && !utf8Over(data, this.maxMessageBytes)
  }

  /** Text stays text only where it may go as a text frame, as it is. */
  private textFrame(data: string, lane: Lane): boolean {
    return lane === 'control' && data.length <= TEXT_FRAME_MAX_UNITS && wellFormed(data)
  }

  /** Throws `message-oversized` (and queues nothing) above the message limit. */
  enqueue(data: LinkMessage, lane: Lane): void {
    const asText = typeof data === 'string' && this.textFrame(data, lane)
    // Text that may be longer than a frame is encoded straight into chunk frames (no UTF-8
    // copy of the whole, no count of its bytes first), and decoded on the other side as they
    // come. (A frame must hold the longest character, or a chunk could carry none.)
    if (typeof data === 'string' && !asText && data.length * 3 > this.frameBytes - WHOLE_HEADER_BYTES && this.frameBytes - CHUNK_HEADER_BYTES >= 4) {
      // UTF-8 takes at least a byte a unit: refused before anything is encoded.
      if (data.length > this.maxMessageBytes) throw this.oversized(`at least ${data.length}`)
      const chunkedText = this.encodeFrames(data)
      if (chunkedText.size > this.maxMessageBytes) throw this.oversized(String(chunkedText.size))
      if (chunkedText.size > this.frameBytes - WHOLE_HEADER_BYTES) return this.push('', lane, chunkedText)
      // It fits one frame after all: its bytes go as a whole message, not encoded again.
      return this.push(concatBytes(chunkedText.frames.map((frame) => frame.subarray(CHUNK_HEADER_BYTES)), chunkedText.size), lane)
    }
    const message = typeof data === 'string' && !asText ? utf8Encoder.encode(data) : data
    if (sizeOver(message, this.maxMessageBytes)) throw this.oversized(String(byteSize(message)))
    this.push(message, lane)
  }

  /** Whether a frame is waiting. */
  get pending(): boolean {
    return this.lanes.control.length > 0 || this.lanes.bulk.length > 0
  }

  private push(message: Uint8Array | string, lane: Lane, chunkedText?: QueuedMessage['chunkedText']): void {
    const queued: QueuedMessage = { message, lane, id: this.nextId, offset: 0 }
    if (chunkedText) queued.chunkedText = chunkedText
    this.lanes[lane].push(queued)
    this.nextId = (this.nextId + 1) >>> 0
  }

  private oversized(bytes: string): FramingError {
    return new FramingError('message-oversized', `Message of ${bytes} bytes exceeds the limit of ${this.maxMessageBytes} bytes.`)
  }

  next(): OutboundFrame | undefined {
    const queue = this.lanes.control.length > 0 ? this.lanes.control : this.lanes.bulk
    const head = queue[0]
    if (!head) return undefined
    const { lane } = head
    const laneFlag = lane === 'bulk' ? BULK_FLAG : 0
    if (head.chunkedText) return this.textChunk(queue, head, laneFlag)
    const text = typeof head.message === 'string' ? head.message : undefined
    if (text !== undefined && queue.length === 1) {
      queue.shift()
      return { frame: text }
    }
    const message = bytesOf(head)
    if (head.offset === 0 && message.byteLength <= this.frameBytes - WHOLE_HEADER_BYTES) {
      const { count, bytes } = this.batchable(queue)
      if (count > 1) return { frame: batchFrame(queue.splice(0, count), bytes, laneFlag) }
      queue.shift()
      if (text !== undefined) return { frame: text }
      const frame = new Uint8Array(WHOLE_HEADER_BYTES + message.byteLength)
      frame[0] = laneFlag
      frame.set(message, WHOLE_HEADER_BYTES)
      return { frame }
    }
    const start = head.offset
    const end = Math.min(message.byteLength, start + this.frameBytes - CHUNK_HEADER_BYTES)
    const frame = new Uint8Array(CHUNK_HEADER_BYTES + end - start)
    const view = new DataView(frame.buffer)
    view.setUint8(0, laneFlag | CHUNK_FLAG)
    view.setUint32(1, head.id)
    view.setUint32(5, message.byteLength)
    view.setUint32(9, start)
    frame.set(message.subarray(start, end), CHUNK_HEADER_BYTES)
    head.offset = end
    if (end === message.byteLength) queue.shift()
    return { frame, progress: { direction: 'send', bytes: end, total: message.byteLength } }
  }

  clear(): void {
    this.lanes.control.length = 0
    this.lanes.bulk.length = 0
  }

  /** A text's UTF-8 in chunk frames, header space left at the front of each: as many whole characters as fit each. */
  private encodeFrames(text: string): { frames: Uint8Array<ArrayBuffer>[]; size: number } {
    const room = this.frameBytes - CHUNK_HEADER_BYTES
    const frames: Uint8Array<ArrayBuffer>[] = []
    let size = 0
    for (let read = 0; read < text.length; ) {
      // At most `room` units (each at least a byte), never ending between the two halves of a pair.
      let end = Math.min(text.length, read + room)
      if (end - read > 1 && isHighSurrogate(text.charCodeAt(end - 1))) end--
      const frame = new Uint8Array(CHUNK_HEADER_BYTES + room)
      const { read: units, written } = utf8Encoder.encodeInto(text.substring(read, end), frame.subarray(CHUNK_HEADER_BYTES))
      if (units === 0) throw new FramingError('frame-malformed', 'A text message could not be split into frames.') // (cannot happen: a frame holds any character)
      read += units
      size += written
      frames.push(written === room ? frame : frame.subarray(0, CHUNK_HEADER_BYTES + written))
    }
    return { frames, size }
  }

  /** The next frame of a text message longer than a frame, its header filled in. */
  private textChunk(queue: QueuedMessage[], head: QueuedMessage, laneFlag: number): OutboundFrame {
    const { frames, size } = head.chunkedText!
    const frame = frames.shift()!
    const view = new DataView(frame.buffer)
    view.setUint8(0, laneFlag | CHUNK_FLAG | TEXT_FLAG)
    view.setUint32(1, head.id)
    view.setUint32(5, size)
    view.setUint32(9, head.offset)
    head.offset += frame.byteLength - CHUNK_HEADER_BYTES
    if (frames.length === 0) queue.shift()
    return { frame, progress: { direction: 'send', bytes: head.offset, total: size } }
  }

  /** How many whole messages from the head of `queue` fit one batch frame together, and its size. */
  private batchable(queue: QueuedMessage[]): { count: number; bytes: number } {
    let bytes = WHOLE_HEADER_BYTES
    let count = 0
    for (const queued of queue) {
      if (queued.chunkedText) break
      const next = bytes + BATCH_LENGTH_BYTES + bytesOf(queued).byteLength
      if (next > this.frameBytes) break
      bytes = next
      count++
    }
    return { count, bytes }
  }
}

const isHighSurrogate = (unit: number) => unit >= 0xd800 && unit < 0xdc00

/** A queued message's bytes: text that joins a batch (or is split) is encoded once, here. */
function bytesOf(queued: QueuedMessage): Uint8Array {
  if (typeof queued.message === 'string') queued.message = utf8Encoder.encode(queued.message)
  return queued.message
}

function batchFrame(messages: QueuedMessage[], bytes: number, laneFlag: number): Uint8Array<ArrayBuffer> {
  const frame = new Uint8Array(bytes)
  const view = new DataView(frame.buffer)
  frame[0] = laneFlag | BATCH_FLAG
  let at = WHOLE_HEADER_BYTES
  for (const queued of messages) {
    const message = bytesOf(queued)
    view.setUint16(at, message.byteLength)
    frame.set(message, at + BATCH_LENGTH_BYTES)
    at += BATCH_LENGTH_BYTES + message.byteLength
  }
  return frame
}
