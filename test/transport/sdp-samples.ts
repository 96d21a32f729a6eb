/**
 * SDP samples for the codec tests: offers and answers captured from Chromium 156
 * (DataChannel only, non-trickle, loopback namespace), variants crafted from them, and
 * an SDP reader written independently of the codec to compare what matters.
 */
import { readFileSync } from 'node:fs'
import { SocketAddress, isIPv6 } from 'node:net'

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')

export const chromiumOffer = fixture('chromium-offer.sdp')
export const chromiumAnswer = fixture('chromium-answer.sdp')

/** The Chromium offer with its candidate lines replaced and other lines edited. */
export function offerWith(candidates: string[], edit: (sdp: string) => string = (sdp) => sdp): string {
  const lines = chromiumOffer.split('\r\n').filter((line) => !line.startsWith('a=candidate:'))
  const at = lines.findIndex((line) => line.startsWith('a=ice-ufrag:'))
  lines.splice(at, 0, ...candidates.map((c) => `a=candidate:${c}`))
  return edit(lines.join('\r\n'))
}

export const replaceLine = (prefix: string, line: string) => (sdp: string) =>
  sdp.replace(new RegExp(`^${prefix}.*$`, 'm'), line)

const hexDigest = (length: number) => Array.from({ length }, (_, i) => ((i * 37 + 11) & 0xff).toString(16).padStart(2, '0').toUpperCase()).join(':')

export const variants: Record<string, string> = {
  'chromium offer': chromiumOffer,
  'chromium answer': chromiumAnswer,
  'ipv6 host candidates': offerWith([
    '1 1 udp 2122262783 2001:db8:85a3::8a2e:370:7334 52000 typ host generation 0 network-id 2',
    '2 1 udp 2122197247 fe80::1 52001 typ host generation 0 network-id 3',
    '3 1 udp 2122129151 ::1 52002 typ host generation 0',
  ]),
  'several candidates of every type': offerWith([
    '2853044087 1 udp 2122260223 192.168.1.20 50000 typ host generation 0 network-id 1 network-cost 10',
    '1420241891 1 tcp 1518280447 192.168.1.20 9 typ host tcptype active generation 0 network-id 1',
    '11 1 tcp 1518280446 192.168.1.20 50001 typ host tcptype passive generation 0',
    '12 1 tcp 1518280445 192.168.1.20 50002 typ host tcptype so generation 0',
    '842163049 1 udp 1686052607 203.0.113.7 61000 typ srflx raddr 192.168.1.20 rport 50000 generation 0 network-id 1',
    '13 1 udp 1853824767 203.0.113.8 61001 typ prflx raddr 192.168.1.20 rport 50000 generation 0',
    '3423546223 1 udp 41885439 198.51.100.2 3478 typ relay raddr 203.0.113.7 rport 61000 generation 0 network-id 1',
    '3423546224 1 tcp 25108223 198.51.100.2 443 typ relay raddr 2001:db8::7 rport 61002 tcptype passive generation 0',
  ]),
  'mDNS host names': offerWith([
    '1 1 udp 2122260223 1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b.local 54321 typ host generation 0',
    '2 1 udp 2122194687 my-laptop.local 54322 typ host generation 0',
    '3 1 udp 1686052607 203.0.113.7 61000 typ srflx raddr 0.0.0.0 rport 0 generation 0',
  ]),
  'sha-1 fingerprint': offerWith([], replaceLine('a=fingerprint:', `a=fingerprint:sha-1 ${hexDigest(20)}`)),
  'sha-224 fingerprint': offerWith([], replaceLine('a=fingerprint:', `a=fingerprint:sha-224 ${hexDigest(28)}`)),
  'sha-384 fingerprint': offerWith([], replaceLine('a=fingerprint:', `a=fingerprint:sha-384 ${hexDigest(48)}`)),
  'sha-512 fingerprint': offerWith([], replaceLine('a=fingerprint:', `a=fingerprint:SHA-512 ${hexDigest(64)}`)),
  'setup passive': chromiumAnswer.replace('a=setup:active', 'a=setup:passive'),
  'custom sctp-port, max-message-size and mid (Firefox style)': chromiumOffer
    .replace('a=sctp-port:5000', 'a=sctp-port:5001')
    .replace('a=max-message-size:262144', 'a=max-message-size:1073741823')
    .replace('a=group:BUNDLE 0', 'a=group:BUNDLE data')
    .replace('a=mid:0', 'a=mid:data')
    .replaceAll(' udp ', ' UDP '),
  'no max-message-size (RFC 8841 default 64K)': chromiumOffer.replace(/a=max-message-size:\d+\r\n/, ''),
  'LF line ends and a session-level fingerprint': chromiumOffer
    .replace(/a=fingerprint:.*\r\n/, '')
    .replace('a=group:BUNDLE 0', `a=fingerprint:sha-256 ${hexDigest(32)}\r\na=group:BUNDLE 0`)
    .replaceAll('\r\n', '\n'),
}

export interface SdpEssentials {
  ufrag: string
  pwd: string
  fingerprint: string
  setup: string
  mid: string
  sctpPort: number
  maxMessageSize: number
  candidates: string[]
}

/**
 * What must survive packing, read with plain regular expressions. Not among it, by design
 * (see sdp-codec.ts): active TCP candidates and the related addresses of the others.
 */
export function essentials(sdp: string): SdpEssentials {
  const value = (name: string) => new RegExp(`^a=${name}:(.*?)\\s*$`, 'm').exec(sdp)?.[1]
  const [hash = '', digest = ''] = (value('fingerprint') ?? '').split(' ')
  const candidates = [...sdp.matchAll(/^a=candidate:\S+ 1 (\S+) \d+ (\S+) (\d+) typ (\S+)(.*)$/gm)]
    .map(([, protocol, address, port, type, rest]) => {
      const tcptype = /tcptype (\S+)/.exec(rest!)?.[1] ?? ''
      return `${protocol!.toLowerCase()}${tcptype} ${canonical(address!)}:${port} ${type}`
    })
    .filter((candidate) => !candidate.startsWith('tcpactive '))
  return {
    ufrag: value('ice-ufrag')!,
    pwd: value('ice-pwd')!,
    fingerprint: `${hash.toLowerCase()} ${digest.toUpperCase()}`,
    setup: value('setup')!,
    mid: value('mid')!,
    sctpPort: Number(value('sctp-port') ?? 5000),
    maxMessageSize: Number(value('max-message-size') ?? 65536),
    candidates: candidates.sort(),
  }
}

function canonical(address: string): string {
  return isIPv6(address) ? new SocketAddress({ address, family: 'ipv6' }).address : address
}
