import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ByteReader, ByteWriter } from '../../src/encoding/byte-stream.js'
import { Alphabet64, BASE64URL, fromBase64url, toBase64url } from '../../src/encoding/bytes.js'

describe('byte helpers', () => {
  it('sixBitText packs 6 bits a character and reads back', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9_-]{0,100}$/), (text) => {
        const bytes = new ByteWriter().sixBitText(text, BASE64URL).finish()
        expect(bytes.length).toBe((text.length < 128 ? 1 : 2) + Math.ceil((text.length * 6) / 8))
        const reader = new ByteReader(bytes)
        expect(reader.sixBitText(BASE64URL, 100)).toBe(text)
        expect(reader.remaining).toBe(0)
      }),
    )
  })

  it('sixBitText refuses characters outside the alphabet and over-long text', () => {
    expect(() => new ByteWriter().sixBitText('a+b', BASE64URL)).toThrow(RangeError)
    const long = new ByteWriter().sixBitText('abcdef', BASE64URL).finish()
    expect(() => new ByteReader(long).sixBitText(BASE64URL, 5)).toThrow(RangeError)
  })

  it('u16 is big-endian and bounded', () => {
    expect(new ByteWriter().u16(0x1234).finish()).toEqual(Uint8Array.of(0x12, 0x34))
    expect(new ByteReader(Uint8Array.of(0xff, 0xfe)).u16()).toBe(0xfffe)
    expect(() => new ByteWriter().u16(0x10000)).toThrow(RangeError)
  })

  it('base64url round-trips any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        expect(fromBase64url(toBase64url(bytes))).toEqual(bytes)
      }),
    )
  })

  it('an Alphabet64 needs 64 distinct characters', () => {
    expect(() => new Alphabet64('abc')).toThrow(RangeError)
    expect(() => new Alphabet64('a'.repeat(64))).toThrow(RangeError)
  })
})
