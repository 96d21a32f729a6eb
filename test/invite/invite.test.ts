import fc from 'fast-check'
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { InviteError, type InviteErrorCode } from '../../src/errors.js'
import { fromBase64url, toBase64url } from '../../src/encoding/bytes.js'
import {
  INVITE_VERSION,
  decodeAnswer,
  decodeInvite,
  encodeAnswer,
  encodeInvite,
  inviteBlobFrom,
  inviteUrl,
  type Answer,
  type Invite,
} from '../../src/invite/invite.js'
import { sdpCodec } from '../../src/transport/sdp-codec.js'
import { chromiumAnswer, chromiumOffer } from '../transport/sdp-samples.js'

const expiresAt = Date.UTC(2031, 0, 2, 3, 4, 5)
const sampleInvite: Invite = {
  inviteId: 'V1StGXR8_Z',
  sessionId: 'Uakgb_J5m9',
  expiresAt,
  signal: sdpCodec.pack(chromiumOffer),
}
const sampleAnswer: Answer = { inviteId: sampleInvite.inviteId, signal: sdpCodec.pack(chromiumAnswer) }

function codeOf(run: () => unknown): InviteErrorCode | 'no error' {
  try {
    run()
    return 'no error'
  } catch (error) {
    if (error instanceof InviteError) return error.code
    throw error
  }
}

/** Either decodes or throws InviteError; any other exception fails the property. */
function decodesOrInviteError(run: () => unknown): void {
  codeOf(run)
}

const id = fc.stringMatching(/^[A-Za-z0-9_-]{0,64}$/)
const anyInvite = fc.record(
  {
    inviteId: id,
    sessionId: id,
    expiresAt: fc.nat(2 ** 40).map((seconds) => seconds * 1000),
    signal: fc.uint8Array({ maxLength: 200 }),
    provision: fc.jsonValue(),
  },
  { requiredKeys: ['inviteId', 'sessionId', 'expiresAt', 'signal'] },
)
const anyAnswer = fc.record({ inviteId: id, signal: fc.uint8Array({ maxLength: 200 }) })

describe('invite blob sizes for real Chromium signals', () => {
  it('fit a 150-character #session= fragment, and a 120-character answer code', () => {
    const blob = encodeInvite(sampleInvite)
    const fragment = `#session=${blob}`
    const answer = encodeAnswer(sampleAnswer)
    const gzipped = gzipSync(chromiumOffer).toString('base64url')
    console.log(
      `offer SDP ${chromiumOffer.length} chars → packed ${sampleInvite.signal.length} bytes; ` +
        `invite blob ${blob.length} chars, ${fragment.length} with #session=; ` +
        `answer SDP ${chromiumAnswer.length} chars → packed ${sampleAnswer.signal.length} bytes, answer code ${answer.length} chars; ` +
        `gzip+base64url of the offer SDP ${gzipped.length} chars`,
    )
    expect(blob.length).toBeLessThanOrEqual(141)
    expect(fragment.length).toBeLessThanOrEqual(150)
    expect(answer.length).toBeLessThanOrEqual(120)
  })

  it('deflates a body only when that makes it shorter', () => {
    const provision = { layers: Array.from({ length: 50 }, (_, i) => ({ name: `layer ${i}`, visible: true })) }
    const withProvision = encodeInvite({ ...sampleInvite, provision })
    expect(withProvision.length).toBeLessThan(JSON.stringify(provision).length / 4)
    expect(decodeInvite(withProvision).provision).toEqual(provision)
  })
})

describe('round trips', () => {
  it('decodeInvite(encodeInvite(x)) gives x back, expiry in whole seconds', () => {
    expect(decodeInvite(encodeInvite(sampleInvite))).toEqual(sampleInvite)
    expect(decodeInvite(encodeInvite({ ...sampleInvite, expiresAt: expiresAt + 999 })).expiresAt).toBe(expiresAt)
    fc.assert(
      fc.property(anyInvite, (invite) => {
        const expected = 'provision' in invite ? { ...invite, provision: JSON.parse(JSON.stringify(invite.provision)) as unknown } : invite
        expect(decodeInvite(encodeInvite(invite))).toEqual(expected)
      }),
    )
  })

  it('decodeAnswer(encodeAnswer(x)) gives x back', () => {
    fc.assert(
      fc.property(anyAnswer, (answer) => {
        expect(decodeAnswer(encodeAnswer(answer))).toEqual(answer)
      }),
    )
  })

  it('tolerates whitespace from wrapped lines', () => {
    const code = encodeAnswer(sampleAnswer)
    expect(decodeAnswer(` ${code.slice(0, 40)}\n${code.slice(40)}\n`)).toEqual(sampleAnswer)
  })

  it('refuses ids that are not short nanoid-alphabet strings', () => {
    expect(() => encodeInvite({ ...sampleInvite, inviteId: 'has space' })).toThrow(RangeError)
    expect(() => encodeAnswer({ ...sampleAnswer, inviteId: 'x'.repeat(65) })).toThrow(RangeError)
  })
})

describe('damage, foreign blobs and versions', () => {
  const blob = encodeInvite({ ...sampleInvite, provision: { theme: 'dark' } })
  const code = encodeAnswer(sampleAnswer)

  it('arbitrary strings give only InviteError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.stringMatching(/^[A-Za-z0-9_-]*$/)), (text) => {
        decodesOrInviteError(() => decodeInvite(text))
        decodesOrInviteError(() => decodeAnswer(text))
        decodesOrInviteError(() => inviteBlobFrom(text))
        decodesOrInviteError(() => decodeInvite(inviteBlobFrom(text)))
      }),
      { numRuns: 2000 },
    )
  })

  it('arbitrary bytes give only InviteError, whatever their first byte', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const text = toBase64url(bytes)
        decodesOrInviteError(() => decodeInvite(text))
        decodesOrInviteError(() => decodeAnswer(text))
      }),
      { numRuns: 2000 },
    )
  })

  it('one changed character is rejected or decodes, never anything else', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_~.%'
    fc.assert(
      fc.property(fc.nat(blob.length - 1), fc.constantFrom(...alphabet), (at, char) => {
        decodesOrInviteError(() => decodeInvite(blob.slice(0, at) + char + blob.slice(at + 1)))
      }),
      { numRuns: 2000 },
    )
  })

  it('one changed byte after the first is reported as damage', () => {
    const bytes = fromBase64url(blob)
    fc.assert(
      fc.property(fc.integer({ min: 1, max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, delta) => {
        const mutated = bytes.slice()
        mutated[at] = (mutated[at]! + delta) & 0xff
        expect(codeOf(() => decodeInvite(toBase64url(mutated)))).toBe('invite-damaged')
      }),
      { numRuns: 2000 },
    )
  })

  it('every truncation is rejected', () => {
    for (let length = 2; length < blob.length; length++) {
      expect(codeOf(() => decodeInvite(blob.slice(0, length)))).toBe('invite-damaged')
    }
    for (let length = 2; length < code.length; length++) {
      expect(codeOf(() => decodeAnswer(code.slice(0, length)))).toBe('answer-damaged')
    }
    expect(codeOf(() => decodeInvite(blob.slice(0, 1)))).toBe('invite-foreign')
    expect(codeOf(() => decodeInvite(''))).toBe('invite-foreign')
  })

  it('a blob of another version is invite-version / answer-version', () => {
    const otherVersion = (text: string) => {
      const bytes = fromBase64url(text)
      bytes[0] = (bytes[0]! & 0xf0) | (INVITE_VERSION + 1)
      return toBase64url(bytes)
    }
    expect(codeOf(() => decodeInvite(otherVersion(blob)))).toBe('invite-version')
    expect(codeOf(() => decodeAnswer(otherVersion(code)))).toBe('answer-version')
  })

  it('an answer code given as an invite is invite-foreign, and the other way round', () => {
    expect(codeOf(() => decodeInvite(code))).toBe('invite-foreign')
    expect(() => decodeInvite(code)).toThrow(/answer code/)
    expect(codeOf(() => decodeAnswer(blob))).toBe('answer-foreign')
    expect(codeOf(() => decodeInvite('hello-world'))).toBe('invite-foreign')
  })
})

describe('links', () => {
  const blob = encodeInvite(sampleInvite)

  it('inviteUrl replaces the fragment with #session=<blob>', () => {
    expect(inviteUrl('https://viewer.example/app?x=1', blob)).toBe(`https://viewer.example/app?x=1#session=${blob}`)
    expect(inviteUrl('https://viewer.example/app#old=1', blob)).toBe(`https://viewer.example/app#session=${blob}`)
  })

  it.each([
    ['a full link', (b: string) => inviteUrl('https://viewer.example/app?x=1#old', b)],
    ['a fragment', (b: string) => `#session=${b}`],
    ['a fragment with other parameters', (b: string) => `#view=3&session=${b}&z=1`],
    ['session=…', (b: string) => `session=${b}`],
    ['a bare blob', (b: string) => b],
    ['a link wrapped by a mail client', (b: string) => ` https://viewer.example/#session=${b.slice(0, 30)}\n  ${b.slice(30)} `],
  ])('inviteBlobFrom reads %s', (_, make) => {
    expect(decodeInvite(inviteBlobFrom(make(blob)))).toEqual(sampleInvite)
  })

  it.each(['https://viewer.example/app', 'https://viewer.example/app#section-2', '#session=', 'view=3', ''])(
    'inviteBlobFrom(%j) is invite-foreign',
    (text) => {
      expect(codeOf(() => inviteBlobFrom(text))).toBe('invite-foreign')
    },
  )
})
