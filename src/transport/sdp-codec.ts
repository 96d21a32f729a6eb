/**
 * Compact codec for the one kind of signal our WebRTC transport makes: a complete,
 * non-trickle SDP of a DataChannel-only session. Of some 700 characters of SDP, only the
 * ICE credentials, the DTLS fingerprint and role, the SCTP parameters and the candidates
 * carry information; everything else is rebuilt as a canonical SDP that Chromium accepts.
 * A Chromium offer with two host candidates packs into about 70 bytes. Offer and answer
 * need no type mark: their rebuilt SDPs differ only in the setup role they carry.
 *
 * Two things in a Chromium SDP are left out, so that a srflx or relay candidate fits a short
 * invite beside the host one (e2e/nat/): active TCP candidates, which pair only with passive
 * ones, and a browser offers none; and the related address of a reflexive or relayed
 * candidate, which ICE never uses (RFC 8445 §5.1.3) and which tells a stranger the private
 * address behind the NAT. The rebuilt SDP carries 0.0.0.0:0 there, as Chromium does itself
 * when it hides the address.
 */
import { InviteError, TransportError } from '../errors.js'
import { ByteReader, ByteWriter } from '../encoding/byte-stream.js'
import { Alphabet64 } from '../encoding/bytes.js'
import type { Signal, SignalCodec } from './transport.js'

const SETUP_ROLES = ['actpass', 'active', 'passive'] as const
/** Digest lengths are implied by the hash, so only its index travels. */
const FINGERPRINT_HASHES = [
  ['sha-1', 20],
  ['sha-224', 28],
  ['sha-256', 32],
  ['sha-384', 48],
  ['sha-512', 64],
] as const
const CANDIDATE_TYPES = ['host', 'srflx', 'prflx', 'relay'] as const
const CANDIDATE_TRANSPORTS = ['udp', 'tcp-active', 'tcp-passive', 'tcp-so'] as const
const ADDRESS_KINDS = ['ipv4', 'ipv6', 'mdns', 'hostname'] as const

type SetupRole = (typeof SETUP_ROLES)[number]
type HashName = (typeof FINGERPRINT_HASHES)[number][0]
type CandidateType = (typeof CANDIDATE_TYPES)[number]
type CandidateTransport = (typeof CANDIDATE_TRANSPORTS)[number]
type AddressKind = (typeof ADDRESS_KINDS)[number]

/** ice-char (RFC 8839): exactly 64 characters, so ufrag and pwd pack at 6 bits each. */
const ICE_CHARS = new Alphabet64('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/')
const MAX_ICE_CREDENTIAL = 256
const MAX_CANDIDATES = 64
const DEFAULT_MID = '0'
/** RFC 8841: without the attributes, the SCTP port is 5000 and the message limit 64K. */
const DEFAULT_SCTP_PORT = 5000
const ABSENT_MAX_MESSAGE_SIZE = 65536
/** What Chromium announces; the common case costs no bytes. */
const DEFAULT_MAX_MESSAGE_SIZE = 262144
/** Header bits (see writeDescription) that announce a non-default value in the body. */
const CUSTOM_BIT = { sctpPort: 5, maxMessageSize: 6, mid: 7 } as const
/** RFC 8445 §5.1.2.2 recommended type preferences. */
const TYPE_PREFERENCE: Record<CandidateType, number> = { host: 126, prflx: 110, srflx: 100, relay: 0 }

const MID_PATTERN = /^[A-Za-z0-9!#$%&'*+.^_`{|}~-]{1,32}$/
const MDNS_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.local$/
/** Also guards rebuilt SDP against line injection from a crafted blob. */
const HOSTNAME_PATTERN = /^[A-Za-z0-9._-]{1,253}$/
const DATACHANNEL_MEDIA = /^m=application \d+ UDP\/DTLS\/SCTP webrtc-datachannel$/

interface IceCandidate {
  transport: CandidateTransport
  type: CandidateType
  address: string
  port: number
}

interface DataChannelDescription {
  iceUfrag: string
  icePwd: string
  fingerprint: { hash: HashName; digest: Uint8Array }
  setup: SetupRole
  mid: string
  sctpPort: number
  maxMessageSize: number
  /** By type preference, then original priority: the order carries the priorities (see candidateLine). */
  candidates: IceCandidate[]
}

export const sdpCodec = {
  /** A complete DataChannel SDP as some 70 bytes. @throws TransportError for SDP it cannot represent. */
  pack(signal: Signal): Uint8Array {
    const writer = new ByteWriter()
    writeDescription(writer, parseSdp(signal))
    return writer.finish()
  },
  /** The canonical SDP the bytes describe. @throws InviteError for bytes it cannot read. */
  unpack(bytes: Uint8Array): Signal {
    try {
      const reader = new ByteReader(bytes)
      const description = readDescription(reader)
      if (reader.remaining !== 0) throw new RangeError(`${reader.remaining} stray bytes after the signal`)
      return formatSdp(description)
    } catch (cause) {
      throw new InviteError('invite-damaged', `unreadable connection signal: ${messageOf(cause)}`, { cause })
    }
  },
} satisfies SignalCodec

// ---- SDP text → description -------------------------------------------------------

function unsupported(why: string): never {
  throw new TransportError('sdp-unsupported', `Cannot pack this signal for an invite: ${why}.`)
}

function parseSdp(sdp: string): DataChannelDescription {
  const lines = sdp.split(/\r?\n/).map((line) => line.trim())
  const media = lines.filter((line) => line.startsWith('m='))
  if (media.length !== 1 || !DATACHANNEL_MEDIA.test(media[0]!)) {
    unsupported('it is not an SDP with exactly one webrtc-datachannel section')
  }
  const attribute = (name: string): string | undefined =>
    lines.find((line) => line.startsWith(`a=${name}:`))?.slice(name.length + 3).trim()
  const required = (name: string): string => attribute(name) ?? unsupported(`it has no a=${name}`)

  return {
    iceUfrag: iceCredential('ice-ufrag', required('ice-ufrag')),
    icePwd: iceCredential('ice-pwd', required('ice-pwd')),
    fingerprint: parseFingerprint(required('fingerprint')),
    setup: enumValue(SETUP_ROLES, required('setup'), 'a=setup'),
    mid: checkedMid(required('mid')),
    sctpPort: integerAttribute('sctp-port', attribute('sctp-port'), DEFAULT_SCTP_PORT, 0xffff),
    maxMessageSize: integerAttribute('max-message-size', attribute('max-message-size'), ABSENT_MAX_MESSAGE_SIZE),
    candidates: parseCandidates(lines.filter((line) => line.startsWith('a=candidate:'))),
  }
}

function iceCredential(name: string, value: string): string {
  if (value.length > MAX_ICE_CREDENTIAL || !ICE_CHARS.has(value)) unsupported(`a=${name} is not ice-chars`)
  return value
}

function checkedMid(mid: string): string {
  if (!MID_PATTERN.test(mid)) unsupported(`a=mid ${JSON.stringify(mid)} is not a short token`)
  return mid
}

function enumValue<T extends string>(values: readonly T[], value: string, what: string): T {
  const found = values.find((v) => v === value.toLowerCase())
  return found ?? unsupported(`${what} ${JSON.stringify(value)} is not one of ${values.join(', ')}`)
}

function integerAttribute(name: string, value: string | undefined, absent: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return absent
  const number = Number(value)
  if (!/^\d+$/.test(value) || number > max) unsupported(`a=${name}:${value} is out of range`)
  return number
}

function parseFingerprint(value: string): DataChannelDescription['fingerprint'] {
  const [name = '', hex = ''] = value.split(/\s+/)
  const hash = enumValue(FINGERPRINT_HASHES.map(([n]) => n), name, 'fingerprint hash')
  const pairs = hex.split(':')
  if (pairs.length !== digestLength(hash) || !pairs.every((pair) => /^[0-9A-Fa-f]{2}$/.test(pair))) {
    unsupported(`the ${hash} fingerprint is malformed`)
  }
  return { hash, digest: fromHex(pairs.join('')) }
}

function digestLength(hash: HashName): number {
  return FINGERPRINT_HASHES.find(([name]) => name === hash)![1]
}

function parseCandidates(lines: string[]): IceCandidate[] {
  const parsed = lines
    .map((line) => line.slice('a=candidate:'.length).split(/\s+/))
    // With BUNDLE and rtcp-mux a DataChannel uses component 1 only.
    .filter(([, component]) => component === '1')
    .map((fields) => ({ priority: Number(fields[3]), candidate: parseCandidate(fields) }))
    .filter(({ candidate }) => candidate.transport !== 'tcp-active')
  if (parsed.length > MAX_CANDIDATES) unsupported(`it has more than ${MAX_CANDIDATES} candidates`)
  return parsed.sort((a, b) => rankOf(b.candidate, b.priority) - rankOf(a.candidate, a.priority)).map(({ candidate }) => candidate)
}

/** Type first, as the rebuilt priorities will have it; the original priority within a type. */
function rankOf(candidate: IceCandidate, priority: number): number {
  return TYPE_PREFERENCE[candidate.type] * 2 ** 32 + priority
}

/** `foundation component transport priority address port typ type [name value]…` (RFC 8839 §5.1) */
function parseCandidate(fields: string[]): IceCandidate {
  const [, , protocol = '', , address = '', port = '', typ, type = '', ...extensions] = fields
  if (typ !== 'typ') unsupported('a candidate line is malformed')
  const named = new Map<string, string>()
  for (let i = 0; i + 1 < extensions.length; i += 2) named.set(extensions[i]!, extensions[i + 1]!)
  const transport = protocol.toLowerCase() === 'tcp' ? `tcp-${named.get('tcptype') ?? ''}` : protocol
  return {
    transport: enumValue(CANDIDATE_TRANSPORTS, transport, 'candidate transport'),
    type: enumValue(CANDIDATE_TYPES, type, 'candidate type'),
    address: checkedAddress(address),
    port: portNumber(port),
  }
}

function portNumber(text: string): number {
  const port = Number(text)
  if (!/^\d+$/.test(text) || port > 0xffff) unsupported(`candidate port ${JSON.stringify(text)} is out of range`)
  return port
}

function checkedAddress(address: string): string {
  if (addressKind(address) === undefined) unsupported(`candidate address ${JSON.stringify(address)} is not an IP or host name`)
  return address
}

// ---- description ⇄ bytes -----------------------------------------------------------

/**
 * One varUint of bit fields, so a description with Chromium's defaults spends one byte:
 * setup (2 bits), fingerprint hash (3), then one flag each for a sctp-port,
 * max-message-size or mid that differs from the default and follows in the body.
 */
function writeDescription(writer: ByteWriter, d: DataChannelDescription): void {
  const customSctpPort = d.sctpPort !== DEFAULT_SCTP_PORT
  const customMaxMessageSize = d.maxMessageSize !== DEFAULT_MAX_MESSAGE_SIZE
  const customMid = d.mid !== DEFAULT_MID
  const header =
    SETUP_ROLES.indexOf(d.setup) |
    (FINGERPRINT_HASHES.findIndex(([name]) => name === d.fingerprint.hash) << 2) |
    (Number(customSctpPort) << CUSTOM_BIT.sctpPort) |
    (Number(customMaxMessageSize) << CUSTOM_BIT.maxMessageSize) |
    (Number(customMid) << CUSTOM_BIT.mid)
  writer.varUint(header).sixBitText(d.iceUfrag, ICE_CHARS).sixBitText(d.icePwd, ICE_CHARS).bytes(d.fingerprint.digest)
  if (customSctpPort) writer.u16(d.sctpPort)
  if (customMaxMessageSize) writer.varUint(d.maxMessageSize)
  if (customMid) writer.string(d.mid)
  writer.varUint(d.candidates.length)
  for (const candidate of d.candidates) writeCandidate(writer, candidate)
}

function readDescription(reader: ByteReader): DataChannelDescription {
  const header = reader.varUint()
  if (header >> (CUSTOM_BIT.mid + 1) !== 0) throw new RangeError('unknown header flags')
  const setup = enumAt(SETUP_ROLES, header & 3)
  const [hash, length] = enumAt(FINGERPRINT_HASHES, (header >> 2) & 7)
  const iceUfrag = reader.sixBitText(ICE_CHARS, MAX_ICE_CREDENTIAL)
  const icePwd = reader.sixBitText(ICE_CHARS, MAX_ICE_CREDENTIAL)
  const digest = reader.bytes(length).slice()
  const sctpPort = header & (1 << CUSTOM_BIT.sctpPort) ? reader.u16() : DEFAULT_SCTP_PORT
  const maxMessageSize = header & (1 << CUSTOM_BIT.maxMessageSize) ? reader.varUint() : DEFAULT_MAX_MESSAGE_SIZE
  const mid = header & (1 << CUSTOM_BIT.mid) ? matching(MID_PATTERN, reader.string(), 'mid') : DEFAULT_MID
  const count = reader.varUint()
  if (count > MAX_CANDIDATES) throw new RangeError(`${count} candidates`)
  const candidates = Array.from({ length: count }, () => readCandidate(reader))
  return { iceUfrag, icePwd, fingerprint: { hash, digest }, setup, mid, sctpPort, maxMessageSize, candidates }
}

/** One byte of kinds: type (2 bits), transport (2), address kind (2), two bits that must be 0. */
function writeCandidate(writer: ByteWriter, c: IceCandidate): void {
  const kind = addressKind(c.address)!
  writer.u8(CANDIDATE_TYPES.indexOf(c.type) | (CANDIDATE_TRANSPORTS.indexOf(c.transport) << 2) | (ADDRESS_KINDS.indexOf(kind) << 4))
  writeAddress(writer, kind, c.address).u16(c.port)
}

function readCandidate(reader: ByteReader): IceCandidate {
  const kinds = reader.u8()
  if (kinds >> 6 !== 0) throw new RangeError('unknown candidate flags')
  const type = enumAt(CANDIDATE_TYPES, kinds & 3)
  const transport = enumAt(CANDIDATE_TRANSPORTS, (kinds >> 2) & 3)
  return { type, transport, address: readAddress(reader, enumAt(ADDRESS_KINDS, (kinds >> 4) & 3)), port: reader.u16() }
}

function enumAt<T>(values: readonly T[], index: number): T {
  if (index >= values.length) throw new RangeError(`enum index ${index} out of range`)
  return values[index]!
}

function matching(pattern: RegExp, text: string, what: string): string {
  if (!pattern.test(text)) throw new RangeError(`invalid ${what}`)
  return text
}

// ---- addresses ---------------------------------------------------------------------

function addressKind(address: string): AddressKind | undefined {
  if (parseIpv4(address)) return 'ipv4'
  if (parseIpv6(address)) return 'ipv6'
  // Chromium hides local IPs behind random UUID .local names: 16 bytes instead of 42 chars.
  if (MDNS_PATTERN.test(address)) return 'mdns'
  if (HOSTNAME_PATTERN.test(address)) return 'hostname'
  return undefined
}

function writeAddress(writer: ByteWriter, kind: AddressKind, address: string): ByteWriter {
  switch (kind) {
    case 'ipv4':
      return writer.bytes(parseIpv4(address)!)
    case 'ipv6':
      return writer.bytes(parseIpv6(address)!)
    case 'mdns':
      return writer.bytes(fromHex(address.slice(0, 36).replaceAll('-', '')))
    case 'hostname':
      return writer.string(address)
  }
}

function readAddress(reader: ByteReader, kind: AddressKind): string {
  switch (kind) {
    case 'ipv4':
      return reader.bytes(4).join('.')
    case 'ipv6':
      return formatIpv6(reader.bytes(16))
    case 'mdns': {
      const hex = toHex(reader.bytes(16))
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}.local`
    }
    case 'hostname':
      return matching(HOSTNAME_PATTERN, reader.string(), 'host name')
  }
}

/** Dotted quad in canonical form only; anything else travels as a host name, unchanged. */
function parseIpv4(address: string): Uint8Array | undefined {
  const parts = address.split('.')
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)) return undefined
  return Uint8Array.from(parts, Number)
}

function parseIpv6(address: string): Uint8Array | undefined {
  const halves = address.split('::')
  if (halves.length > 2) return undefined
  const groupsOf = (half: string | undefined) => (half ? half.split(':') : [])
  const head = groupsOf(halves[0])
  const tail = groupsOf(halves[1])
  const missing = 8 - head.length - tail.length
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined
  const groups = [...head, ...Array<string>(missing).fill('0'), ...tail]
  if (!groups.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g))) return undefined
  const bytes = new Uint8Array(16)
  groups.forEach((g, i) => {
    const value = parseInt(g, 16)
    bytes[2 * i] = value >> 8
    bytes[2 * i + 1] = value & 0xff
  })
  return bytes
}

/** RFC 5952: lowercase, no leading zeros, the longest run (≥ 2) of zero groups as `::`. */
function formatIpv6(bytes: Uint8Array): string {
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i]! << 8) | bytes[2 * i + 1]!).toString(16))
  let best = { start: -1, length: 1 }
  for (let start = 0; start < 8; start++) {
    let length = 0
    while (start + length < 8 && groups[start + length] === '0') length++
    if (length > best.length) best = { start, length }
  }
  if (best.start < 0) return groups.join(':')
  return `${groups.slice(0, best.start).join(':')}::${groups.slice(best.start + best.length).join(':')}`
}

// ---- description → SDP text --------------------------------------------------------

function formatSdp(d: DataChannelDescription): string {
  const digest = toHex(d.fingerprint.digest).toUpperCase().replace(/..(?!$)/g, '$&:')
  const lines = [
    'v=0',
    'o=- 1 1 IN IP4 0.0.0.0',
    's=-',
    't=0 0',
    `a=group:BUNDLE ${d.mid}`,
    'a=msid-semantic: WMS',
    // JSEP's placeholders for "no default candidate": the a=candidate lines say where.
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
    'c=IN IP4 0.0.0.0',
    ...d.candidates.map(candidateLine),
    'a=end-of-candidates',
    `a=ice-ufrag:${d.iceUfrag}`,
    `a=ice-pwd:${d.icePwd}`,
    `a=fingerprint:${d.fingerprint.hash} ${digest}`,
    `a=setup:${d.setup}`,
    `a=mid:${d.mid}`,
    `a=sctp-port:${d.sctpPort}`,
    `a=max-message-size:${d.maxMessageSize}`,
  ]
  return `${lines.join('\r\n')}\r\n`
}

/**
 * Foundations and priorities are not sent. Each candidate gets its own foundation, and a
 * priority per RFC 8445 §5.1.2.1 from its type, with a local preference falling with its
 * rank so that candidates of one type keep the order of their original priorities. (So a
 * TCP host candidate ranks above a UDP srflx one, where Chromium ranks them the other way
 * round; ICE checks every pair either way.)
 */
function candidateLine(c: IceCandidate, rank: number): string {
  const component = 1
  const priority = TYPE_PREFERENCE[c.type] * 2 ** 24 + (65535 - rank) * 2 ** 8 + (256 - component)
  const [protocol, tcpType] = c.transport.split('-')
  const related = c.type === 'host' ? '' : ' raddr 0.0.0.0 rport 0'
  const tcp = tcpType ? ` tcptype ${tcpType}` : ''
  return `a=candidate:${rank + 1} ${component} ${protocol} ${priority} ${c.address} ${c.port} typ ${c.type}${related}${tcp}`
}

/** `hex`: already validated, without separators. */
function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (pair) => parseInt(pair, 16))
}

/** Lowercase, without separators. */
function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
