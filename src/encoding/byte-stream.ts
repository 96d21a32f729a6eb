/**
 * Small symmetric binary helpers (after lib0's encoding/decoding): a writer that grows and
 * a reader that throws RangeError on truncated input. The invite and SDP codecs build on
 * these and never hand-roll bytes; they load on first use, and so does this module.
 */
import type { Alphabet64 } from './bytes.js'

export class ByteWriter {
  private buf = new Uint8Array(64)
  private len = 0

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n))
    next.set(this.buf.subarray(0, this.len))
    this.buf = next
  }

  u8(value: number): this {
    this.ensure(1)
    this.buf[this.len++] = value & 0xff
    return this
  }

  /** Unsigned LEB128, for integers up to 2^53. */
  varUint(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`varUint out of range: ${value}`)
    while (value >= 0x80) {
      this.u8((value % 0x80) | 0x80)
      value = Math.floor(value / 0x80)
    }
    return this.u8(value)
  }

  /** Big-endian, for ports. */
  u16(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffff) throw new RangeError(`u16 out of range: ${value}`)
    return this.u8(value >> 8).u8(value)
  }

  bytes(value: Uint8Array): this {
    this.ensure(value.length)
    this.buf.set(value, this.len)
    this.len += value.length
    return this
  }

  /** Length-prefixed bytes. */
  varBytes(value: Uint8Array): this {
    return this.varUint(value.length).bytes(value)
  }

  /** Length-prefixed UTF-8. */
  string(value: string): this {
    return this.varBytes(new TextEncoder().encode(value))
  }

  /** Length-prefixed text over a 64-character alphabet, 6 bits a character. */
  sixBitText(text: string, alphabet: Alphabet64): this {
    this.varUint(text.length)
    let acc = 0
    let bits = 0
    for (let i = 0; i < text.length; i++) {
      acc = ((acc << 6) | alphabet.indexOf(text[i]!)) & 0xfff
      bits += 6
      if (bits >= 8) {
        bits -= 8
        this.u8(acc >> bits)
      }
    }
    return bits > 0 ? this.u8(acc << (8 - bits)) : this
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len)
  }
}

export class ByteReader {
  private pos = 0
  constructor(private readonly buf: Uint8Array) {}

  get remaining(): number {
    return this.buf.length - this.pos
  }

  u8(): number {
    if (this.pos >= this.buf.length) throw new RangeError('Unexpected end of data')
    return this.buf[this.pos++]!
  }

  varUint(): number {
    let value = 0
    let scale = 1
    for (let i = 0; i < 8; i++) {
      const byte = this.u8()
      value += (byte & 0x7f) * scale
      if (byte < 0x80) return value
      scale *= 0x80
    }
    throw new RangeError('varUint too long')
  }

  u16(): number {
    return (this.u8() << 8) | this.u8()
  }

  bytes(n: number): Uint8Array {
    if (n > this.remaining) throw new RangeError('Unexpected end of data')
    const out = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }

  varBytes(): Uint8Array {
    return this.bytes(this.varUint())
  }

  string(): string {
    return new TextDecoder('utf-8', { fatal: true }).decode(this.varBytes())
  }

  sixBitText(alphabet: Alphabet64, maxLength: number): string {
    const length = this.varUint()
    if (length > maxLength) throw new RangeError(`Text of ${length} characters exceeds ${maxLength}`)
    const packed = this.bytes(Math.ceil((length * 6) / 8))
    let text = ''
    let acc = 0
    let bits = 0
    for (const byte of packed) {
      acc = ((acc << 8) | byte) & 0xffff
      bits += 8
      while (bits >= 6 && text.length < length) {
        bits -= 6
        text += alphabet.charAt((acc >> bits) & 63)
      }
    }
    return text
  }
}
