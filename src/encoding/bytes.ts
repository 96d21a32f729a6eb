/**
 * Base64url over a 64-character alphabet, and joining byte arrays: what the core itself
 * needs (relay links, framing), and the relay's seal. The writer and reader that the invite
 * and SDP codecs build on are byte-stream.ts, loaded with those. A base module: it imports
 * nothing.
 */
/** 64 distinct characters, so that each one packs into 6 bits. */
export class Alphabet64 {
  private readonly index: ReadonlyMap<string, number>
  constructor(private readonly chars: string) {
    if (new Set(chars).size !== 64 || chars.length !== 64) throw new RangeError('An Alphabet64 needs 64 distinct characters')
    this.index = new Map([...chars].map((c, i) => [c, i]))
  }

  /** Throws RangeError for a character outside the alphabet. */
  indexOf(char: string): number {
    const value = this.index.get(char)
    if (value === undefined) throw new RangeError(`Not an alphabet character: ${JSON.stringify(char)}`)
    return value
  }

  charAt(value: number): string {
    return this.chars[value]!
  }

  has(text: string): boolean {
    return [...text].every((c) => this.index.has(c))
  }
}

/** RFC 4648 §5; also nanoid's alphabet, so ids pack into 6 bits a character. */
export const BASE64URL = new Alphabet64('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_')

export function toBase64url(bytes: Uint8Array): string {
  // Joined once: built by `+=`, the text would stay a tree of a node per few characters for as
  // long as it is kept (an invite's code is, in the host's list of invites), several times its size.
  const out: string[] = []
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0)
    const chars = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6))
    for (let k = 0; k < chars; k++) out.push(BASE64URL.charAt((n >> (18 - 6 * k)) & 63))
  }
  return out.join('')
}

/** Throws RangeError on a character outside the base64url alphabet or an impossible length. */
export function fromBase64url(text: string): Uint8Array {
  if (text.length % 4 === 1) throw new RangeError('Impossible base64url length')
  const out = new Uint8Array(Math.floor((text.length * 6) / 8))
  let bits = 0
  let acc = 0
  let o = 0
  for (const c of text) {
    acc = (acc << 6) | BASE64URL.indexOf(c)
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out[o++] = (acc >> bits) & 0xff
    }
  }
  return out
}

/** base64url that re-encodes to itself (no stray low bits), else null. */
export function fromCanonicalBase64url(text: string): Uint8Array<ArrayBuffer> | null {
  try {
    const bytes = fromBase64url(text)
    return toBase64url(bytes) === text ? new Uint8Array(bytes) : null
  } catch {
    return null
  }
}

/** `chunks` one after another in one array of `total` bytes (their summed length). */
export function concatBytes(chunks: Uint8Array[], total: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(total)
  let at = 0
  for (const chunk of chunks) {
    out.set(chunk, at)
    at += chunk.byteLength
  }
  return out
}

/** Bytes of `text` as UTF-8 (a lone surrogate counts as the 3 bytes of U+FFFD, as TextEncoder writes it). */
export function utf8Length(text: string): number {
  let bytes = text.length
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x80) continue
    if (c < 0x800) bytes += 1
    else if (c >= 0xd800 && c < 0xdc00 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 2 // a pair: 2 units, 4 bytes
      i++
    } else bytes += 2
  }
  return bytes
}

/**
 * Whether `text` is longer than `maxBytes` as UTF-8. A unit is 1 to 3 bytes, so most
 * texts are decided by their length alone; only the others are measured.
 */
export function utf8Over(text: string, maxBytes: number): boolean {
  return text.length > maxBytes || (text.length * 3 > maxBytes && utf8Length(text) > maxBytes)
}

/** Bytes of a message: its own, or its text's as UTF-8. */
export function byteSize(data: Uint8Array | string): number {
  return typeof data === 'string' ? utf8Length(data) : data.byteLength
}

/** Whether a message, bytes or text (as UTF-8), is longer than `maxBytes`. */
export function sizeOver(data: Uint8Array | string, maxBytes: number): boolean {
  return typeof data === 'string' ? utf8Over(data, maxBytes) : data.byteLength > maxBytes
}
