/** The edge: bytes or text in, a validated WireMessage out, or a WireError. Nothing else escapes. */
import * as v from 'valibot'
import { byteSize, sizeOver } from '../encoding/bytes.js'
import { WireError } from '../errors.js'
import { acceptFast } from './fast-path.js'
import { type MessageOf, PROTOCOL_VERSION, WIRE_TYPES, wireMessageSchema, type WireMessage, type WireType } from './messages.js'

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })
const knownTypes = new Set<string>(WIRE_TYPES)

/** As UTF-8 bytes: what is kept (replay log, journal). */
export function encodeMessage(message: WireMessage): Uint8Array {
  return encoder.encode(encodeText(message))
}

/** An encoded message as UTF-8 bytes, however it came. */
export function bytesOf(encoded: Uint8Array | string): Uint8Array {
  return typeof encoded === 'string' ? encoder.encode(encoded) : encoded
}

/** As the text a link sends as it is (a text frame): no UTF-8 round trip on either side. */
export function encodeText(message: WireMessage): string {
  return JSON.stringify(message)
}

/**
 * A message of type `type`, when `text` is exactly one (the fast path's shape, so nothing
 * `decodeMessage` would refuse); undefined for anything else, which `decodeMessage` then
 * accepts or refuses with its reason. The caller bounds the size first.
 */
export function exactMessage<T extends WireType>(text: string, type: T): MessageOf<T> | undefined {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    return undefined
  }
  return acceptFast(raw as object, type) as MessageOf<T> | undefined
}

/** `maxBytes` bounds the message as UTF-8, whichever form it came in. */
export function decodeMessage(data: Uint8Array | string, maxBytes: number): WireMessage {
  if (sizeOver(data, maxBytes)) {
    throw new WireError('wire-oversized', `Message of ${byteSize(data)} bytes exceeds the limit of ${maxBytes}.`)
  }
  let raw: unknown
  try {
    raw = JSON.parse(typeof data === 'string' ? data : decoder.decode(data))
  } catch (cause) {
    throw new WireError('wire-malformed', 'Message is not valid UTF-8 JSON.', { cause })
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new WireError('wire-malformed', 'Message is not a JSON object.')
  }
  const { v: version, t: type } = raw as { v?: unknown; t?: unknown }
  if (version !== PROTOCOL_VERSION) {
    throw new WireError('wire-version', `Message has protocol version ${String(version)}; this peer speaks ${PROTOCOL_VERSION}.`)
  }
  if (typeof type !== 'string' || !knownTypes.has(type)) {
    throw new WireError('wire-unknown-type', `Unknown message type ${JSON.stringify(type)?.slice(0, 40)}.`)
  }
  const fast = acceptFast(raw, type as WireType)
  if (fast) return fast
  const result = v.safeParse(wireMessageSchema, raw)
  if (!result.success) {
    const issue = result.issues[0]
    const where = issue ? v.getDotPath(issue) ?? '' : ''
    throw new WireError('wire-malformed', `Malformed "${type as WireType}" message${where ? ` at ${where}` : ''}: ${issue?.message ?? 'invalid'}.`)
  }
  return result.output
}
