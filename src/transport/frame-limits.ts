/**
 * The bounds of framing (framing.ts) that a transport's options are checked against when it
 * is made: apart from the framer, so a page checks them without loading the framer itself.
 */
import { TransportError } from '../errors.js'

/** Browsers interoperate on DataChannel messages below 16 KiB; every frame stays under it. */
export const FRAME_LIMIT_BYTES = 16 * 1024
export const DEFAULT_FRAME_BYTES = 16_000
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024
export const DEFAULT_REASSEMBLY_TIMEOUT_MS = 30_000
/** A chunk's header: flags, message id, total length, offset. */
export const CHUNK_HEADER_BYTES = 13
/** Lengths and offsets travel as u32. */
export const MAX_ENCODABLE_BYTES = 0xffff_ffff

export type FramingErrorCode =
  | 'frame-malformed'
  | 'frame-unexpected'
  | 'message-oversized'
  | 'too-many-partial-messages'
  | 'reassembly-over-budget'
  | 'reassembly-timeout'
  | 'invalid-option'

export class FramingError extends TransportError {
  declare readonly code: FramingErrorCode
}

/** Throws `invalid-option` unless frames fit the browser limit with room for a header. */
export function checkFrameBytes(frameBytes: number): void {
  if (!Number.isInteger(frameBytes) || frameBytes <= CHUNK_HEADER_BYTES || frameBytes >= FRAME_LIMIT_BYTES) {
    throw new FramingError('invalid-option', `Frame size must be an integer between ${CHUNK_HEADER_BYTES + 1} and ${FRAME_LIMIT_BYTES - 1} bytes.`)
  }
}

/** Throws `invalid-option` unless the limit fits the u32 length field. */
export function checkMessageLimit(maxMessageBytes: number): void {
  if (!Number.isInteger(maxMessageBytes) || maxMessageBytes < 0 || maxMessageBytes > MAX_ENCODABLE_BYTES) {
    throw new FramingError('invalid-option', `The message limit must be an integer between 0 and ${MAX_ENCODABLE_BYTES} bytes.`)
  }
}
