import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { InviteError, TransportError } from '../../src/errors.js'
import { sdpCodec } from '../../src/transport/sdp-codec.js'
import { chromiumOffer, essentials, offerWith, replaceLine, variants } from './sdp-samples.js'

const roundTrip = (signal: string) => sdpCodec.unpack(sdpCodec.pack(signal))

function expectError(run: () => unknown, type: typeof InviteError | typeof TransportError, code: string): void {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(type)
    expect((error as InviteError).code).toBe(code)
    return
  }
  expect.fail(`expected ${type.name} ${code}`)
}

/** Unpack must either give a string or throw InviteError('invite-damaged'); nothing else. */
function unpackOrDamaged(bytes: Uint8Array): void {
  try {
    expect(typeof sdpCodec.unpack(bytes)).toBe('string')
  } catch (error) {
    expect(error).toBeInstanceOf(InviteError)
    expect((error as InviteError).code).toBe('invite-damaged')
  }
}

describe('sdpCodec round trip', () => {
  it.each(Object.entries(variants))('keeps what matters: %s', (_, sdp) => {
    expect(essentials(roundTrip(sdp))).toEqual(essentials(sdp))
  })

  it('keeps the candidates of the Chromium offer', () => {
    expect(essentials(roundTrip(chromiumOffer)).candidates).toEqual(['udp 127.0.0.1:46908 host'])
  })

  it('is stable: a rebuilt SDP packs to the same bytes', () => {
    for (const sdp of Object.values(variants)) {
      const packed = sdpCodec.pack(sdp)
      expect(sdpCodec.pack(sdpCodec.unpack(packed))).toEqual(packed)
    }
  })

  it('rebuilds a canonical data-channel SDP with valid candidate priorities', () => {
    const sdp = roundTrip(variants['several candidates of every type']!)
    expect(sdp).toMatch(/^v=0\r\no=- \S+ \S+ IN IP4 \S+\r\ns=-\r\nt=0 0\r\n/)
    expect(sdp).toContain('\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n')
    expect(sdp).toContain('\r\na=end-of-candidates\r\n')
    expect(sdp.endsWith('\r\n')).toBe(true)
    const priorities = [...sdp.matchAll(/^a=candidate:\S+ 1 \S+ (\d+) \S+ \d+ typ (\w+)/gm)].map(([, p, type]) => ({ p: Number(p), type }))
    const typePreference = { host: 126, prflx: 110, srflx: 100, relay: 0 } as Record<string, number>
    for (const { p, type } of priorities) {
      expect(p).toBeLessThan(2 ** 31)
      expect(Math.floor(p / 2 ** 24)).toBe(typePreference[type!])
      expect(p % 256).toBe(255) // 256 - component 1
    }
  })

  it('keeps the order of priorities among candidates of one type', () => {
    const sdp = offerWith(['1 1 udp 2122194687 10.0.0.2 2 typ host', '2 1 udp 2122260223 10.0.0.1 1 typ host'])
    const addresses = [...roundTrip(sdp).matchAll(/^a=candidate:\S+ 1 udp (\d+) (\S+)/gm)]
    expect(addresses.map(([, , address]) => address)).toEqual(['10.0.0.1', '10.0.0.2'])
    expect(Number(addresses[0]![1])).toBeGreaterThan(Number(addresses[1]![1]))
  })

  it('leaves out active TCP candidates and related addresses, which ICE between browsers never uses', () => {
    const sdp = roundTrip(variants['several candidates of every type']!)
    const lines = sdp.split('\r\n').filter((line) => line.startsWith('a=candidate:'))
    expect(lines.filter((line) => line.includes('tcptype active'))).toEqual([])
    const related = lines.filter((line) => !line.includes(' typ host')).map((line) => / raddr (\S+) rport (\d+)/.exec(line)?.slice(1))
    expect(related).toEqual(Array(4).fill(['0.0.0.0', '0'])) // srflx, prflx, two relay
    // The private address behind the NAT appears as a host candidate only.
    expect(lines.filter((line) => line.includes('192.168.1.20')).every((line) => line.includes(' typ host'))).toBe(true)
    expect(sdpCodec.pack(variants['several candidates of every type']!).length).toBe(sdpCodec.pack(sdp).length)
  })

  it('packs a srflx candidate as small as a host one', () => {
    const host = offerWith(['1 1 udp 2122260223 192.0.2.10 50000 typ host'])
    const srflx = offerWith(['1 1 udp 1686052607 203.0.113.7 61000 typ srflx raddr 192.0.2.10 rport 50000'])
    expect(sdpCodec.pack(srflx).length).toBe(sdpCodec.pack(host).length)
  })

  it('drops RTCP (component 2) candidates, which a bundled data channel never uses', () => {
    const sdp = offerWith(['1 1 udp 2122260223 10.0.0.1 1000 typ host', '1 2 udp 2122260222 10.0.0.1 1001 typ host'])
    expect(essentials(roundTrip(sdp)).candidates).toEqual(['udp 10.0.0.1:1000 host'])
  })

  it('packs a UUID mDNS name into 16 bytes', () => {
    const named = offerWith(['1 1 udp 2122260223 1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b.local 54321 typ host'])
    const numbered = offerWith(['1 1 udp 2122260223 2001:db8::1 54321 typ host'])
    expect(sdpCodec.pack(named).length).toBe(sdpCodec.pack(numbered).length)
  })
})

describe('sdpCodec.pack refuses what it cannot represent with TransportError sdp-unsupported', () => {
  const cases: Record<string, string> = {
    'no fingerprint': chromiumOffer.replace(/a=fingerprint:.*\r\n/, ''),
    'no ICE password': chromiumOffer.replace(/a=ice-pwd:.*\r\n/, ''),
    'an audio section': chromiumOffer.replace('m=application', 'm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nm=application'),
    'an audio-only SDP': chromiumOffer.replace(/m=application.*/, 'm=audio 9 UDP/TLS/RTP/SAVPF 111'),
    'not SDP at all': 'hello',
    'simple-peer JSON rather than SDP': JSON.stringify({ type: 'offer', sdp: chromiumOffer }),
    'an unknown hash': chromiumOffer.replace('sha-256', 'md5'),
    'a short digest': chromiumOffer.replace(/(a=fingerprint:sha-256 )\S+/, '$1AB:CD'),
    'a ufrag outside ice-char': chromiumOffer.replace(/a=ice-ufrag:.*/, 'a=ice-ufrag:ab-cd'),
    'setup holdconn': chromiumOffer.replace('a=setup:actpass', 'a=setup:holdconn'),
    'a candidate without typ': offerWith(['1 1 udp 2122260223 10.0.0.1 1000 host']),
    'a tcp candidate without tcptype': offerWith(['1 1 tcp 2122260223 10.0.0.1 1000 typ host']),
    'an unknown candidate type': offerWith(['1 1 udp 2122260223 10.0.0.1 1000 typ magic']),
    'a port out of range': offerWith(['1 1 udp 2122260223 10.0.0.1 70000 typ host']),
    'a non-ASCII host name': offerWith(['1 1 udp 2122260223 häuschen.local 1000 typ host']),
    'a mid with spaces': replaceLine('a=mid:', 'a=mid:zero one')(chromiumOffer),
    'a sctp-port out of range': chromiumOffer.replace('a=sctp-port:5000', 'a=sctp-port:99999'),
  }
  it.each(Object.entries(cases))('%s', (_, signal) => {
    expectError(() => sdpCodec.pack(signal), TransportError, 'sdp-unsupported')
  })
})

describe('sdpCodec.unpack throws only InviteError invite-damaged', () => {
  it('on arbitrary bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), unpackOrDamaged), { numRuns: 2000 })
  })

  it('on every truncation of a packed offer', () => {
    const packed = sdpCodec.pack(variants['several candidates of every type']!)
    for (let length = 0; length < packed.length; length++) {
      expectError(() => sdpCodec.unpack(packed.subarray(0, length)), InviteError, 'invite-damaged')
    }
  })

  it('on a packed offer with one byte changed', () => {
    const packed = sdpCodec.pack(variants['mDNS host names']!)
    fc.assert(
      fc.property(fc.nat(packed.length - 1), fc.integer({ min: 1, max: 255 }), (at, delta) => {
        const mutated = packed.slice()
        mutated[at] = (mutated[at]! + delta) & 0xff
        unpackOrDamaged(mutated)
      }),
      { numRuns: 1000 },
    )
  })

  it('with trailing bytes', () => {
    const packed = sdpCodec.pack(chromiumOffer)
    expectError(() => sdpCodec.unpack(Uint8Array.of(...packed, 0)), InviteError, 'invite-damaged')
  })
})

describe('sdpCodec property: generated data-channel SDPs survive packing', () => {
  const iceChars = (minLength: number) => fc.stringMatching(new RegExp(`^[A-Za-z0-9+/]{${minLength},64}$`))
  const hexDigest = fc.constantFrom(20, 28, 32, 48, 64).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }))
  const address = fc.oneof(
    fc.ipV4(),
    fc.ipV6().filter((a) => !a.includes('.')),
    fc.uuid({ version: 4 }).map((u) => `${u}.local`),
    fc.domain(),
  )
  const candidate = fc
    .record({
      transport: fc.constantFrom('udp', 'tcp tcptype active', 'tcp tcptype passive', 'tcp tcptype so'),
      type: fc.constantFrom('host', 'srflx', 'prflx', 'relay'),
      address,
      port: fc.nat(65535),
      related: address,
      relatedPort: fc.nat(65535),
      priority: fc.nat(2 ** 31 - 1),
    })
    .map(({ transport, type, address, port, related, relatedPort, priority }) => {
      const [protocol, ...tcp] = transport.split(' ')
      const raddr = type === 'host' ? '' : ` raddr ${related} rport ${relatedPort}`
      return `0 1 ${protocol} ${priority} ${address} ${port} typ ${type}${raddr}${tcp.length ? ` ${tcp.join(' ')}` : ''} generation 0`
    })
  const sdp = fc
    .record({
      ufrag: iceChars(4),
      pwd: iceChars(22),
      digest: hexDigest,
      setup: fc.constantFrom('actpass', 'active', 'passive'),
      sctpPort: fc.nat(65535),
      maxMessageSize: fc.nat(),
      candidates: fc.array(candidate, { maxLength: 8 }),
    })
    .map(({ ufrag, pwd, digest, setup, sctpPort, maxMessageSize, candidates }) => {
      const hash = { 20: 'sha-1', 28: 'sha-224', 32: 'sha-256', 48: 'sha-384', 64: 'sha-512' }[digest.length]
      const hex = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join(':')
      return offerWith(candidates, (text) =>
        [
          replaceLine('a=ice-ufrag:', `a=ice-ufrag:${ufrag}`),
          replaceLine('a=ice-pwd:', `a=ice-pwd:${pwd}`),
          replaceLine('a=fingerprint:', `a=fingerprint:${hash} ${hex}`),
          replaceLine('a=setup:', `a=setup:${setup}`),
          replaceLine('a=sctp-port:', `a=sctp-port:${sctpPort}`),
          replaceLine('a=max-message-size:', `a=max-message-size:${maxMessageSize}`),
        ].reduce((acc, edit) => edit(acc), text),
      )
    })

  it('keeps every essential field', () => {
    fc.assert(
      fc.property(sdp, (text) => {
        expect(essentials(roundTrip(text))).toEqual(essentials(text))
      }),
      { numRuns: 500 },
    )
  })
})
