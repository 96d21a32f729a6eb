/**
 * Invite and answer blobs: what a host puts in the `#session=` link and what a guest
 * sends back. Both share one envelope (see sealEnvelope); expiry and single use are the
 * controller's business, not this module's.
 */
import { deflateRaw, Inflate } from 'pako'
import { InviteError, type InviteErrorCode } from '../errors.js'
import { ByteReader, ByteWriter } from '../encoding/byte-stream.js'
import { BASE64URL, concatBytes, fromBase64url, toBase64url } from '../encoding/bytes.js'

/** 2: the offer's candidates travel without related addresses (transport/sdp-codec.ts). */
export const INVITE_VERSION = 2

export interface Invite {
  /** nanoid-alphabet, at most 64 characters. */
  inviteId: string
  sessionId: string
  /** Milliseconds since the epoch; travels in whole seconds, rounded down. */
  expiresAt: number
  /** The host's offer, packed by the transport's SignalCodec. */
  signal: Uint8Array
  /** App configuration for the guest, any JSON value. */
  provision?: unknown
}

export interface Answer {
  inviteId: string
  signal: Uint8Array
}

/** How one kind of blob is marked, and how its failures are reported. */
interface BlobKind {
  magic: number
  name: string
  damaged: InviteErrorCode
  foreign: InviteErrorCode
  version: InviteErrorCode
}

const INVITE: BlobKind = { magic: 0xc, name: 'invite link', damaged: 'invite-damaged', foreign: 'invite-foreign', version: 'invite-version' }
const ANSWER: BlobKind = { magic: 0x9, name: 'answer code', damaged: 'answer-damaged', foreign: 'answer-foreign', version: 'answer-version' }
const KINDS = [INVITE, ANSWER]

const FLAG_DEFLATED = 1
const FLAG_PROVISION = 2
const CHECK_BYTES = 4
const MAX_ID_LENGTH = 64
const SESSION_PARAM = 'session'
/**
 * Largest body an invite or answer may hold, inflated: an offer packs into a few hundred
 * bytes and an app's provision into a few KiB. A code that inflates past it is refused
 * as it inflates, so a small hostile code cannot make a page allocate (and wait) for more.
 */
export const MAX_BLOB_BYTES = 32 * 1024
/** Characters of a stored (not deflated) body of MAX_BLOB_BYTES: no longer code is read at all. */
const MAX_BLOB_CHARS = Math.ceil((MAX_BLOB_BYTES * 4) / 3) + 16

export function encodeInvite(invite: Invite): string {
  const provision = invite.provision === undefined ? undefined : provisionJson(invite.provision)
  const body = new ByteWriter()
    .sixBitText(checkedId('inviteId', invite.inviteId), BASE64URL)
    .sixBitText(checkedId('sessionId', invite.sessionId), BASE64URL)
    .varUint(Math.floor(invite.expiresAt / 1000))
    .varBytes(invite.signal)
  if (provision !== undefined) body.string(provision)
  return sealEnvelope(INVITE, provision === undefined ? 0 : FLAG_PROVISION, body.finish())
}

export function decodeInvite(blob: string): Invite {
  return openEnvelope(INVITE, blob, (body, flags) => {
    const invite: Invite = {
      inviteId: body.sixBitText(BASE64URL, MAX_ID_LENGTH),
      sessionId: body.sixBitText(BASE64URL, MAX_ID_LENGTH),
      expiresAt: body.varUint() * 1000,
      signal: body.varBytes().slice(),
    }
    if (flags & FLAG_PROVISION) invite.provision = JSON.parse(body.string()) as unknown
    return invite
  })
}

export function encodeAnswer(answer: Answer): string {
  const body = new ByteWriter().sixBitText(checkedId('inviteId', answer.inviteId), BASE64URL).varBytes(answer.signal)
  return sealEnvelope(ANSWER, 0, body.finish())
}

export function decodeAnswer(code: string): Answer {
  return openEnvelope(ANSWER, code, (body) => ({
    inviteId: body.sixBitText(BASE64URL, MAX_ID_LENGTH),
    signal: body.varBytes().slice(),
  }))
}

/** Accepts a full link, `#session=…`, `session=…` or the bare blob, as people paste them. */
export function inviteBlobFrom(urlOrFragment: string): string {
  const text = withoutWhitespace(urlOrFragment)
  const hashAt = text.indexOf('#')
  if (hashAt < 0 && /^[A-Za-z0-9_-]+$/.test(text)) return text
  const blob = new URLSearchParams(text.slice(hashAt + 1)).get(SESSION_PARAM)
  if (!blob) throw new InviteError('invite-foreign', `there is no #${SESSION_PARAM}= in it`)
  return blob
}

/** The fragment never reaches a server, so the invite stays between host and guest. */
export function inviteUrl(baseUrl: string, blob: string): string {
  const hashAt = baseUrl.indexOf('#')
  return `${hashAt < 0 ? baseUrl : baseUrl.slice(0, hashAt)}#${SESSION_PARAM}=${blob}`
}

// ---- the envelope ------------------------------------------------------------------

/**
 * magic nibble | version nibble, flags, body (raw deflate when that is shorter),
 * FNV-1a-32 of everything before it. The first byte keeps its meaning in every
 * version, so an old page can tell "newer invite" from "damaged" or "not an invite".
 */
function sealEnvelope(kind: BlobKind, flags: number, body: Uint8Array): string {
  const deflated = deflateRaw(body, { level: 9 })
  const compress = deflated.length < body.length
  const sealed = new ByteWriter()
    .u8((kind.magic << 4) | INVITE_VERSION)
    .u8(flags | (compress ? FLAG_DEFLATED : 0))
    .bytes(compress ? deflated : body)
    .finish()
  return toBase64url(new ByteWriter().bytes(sealed).bytes(checksum(sealed)).finish())
}

/** Every failure inside becomes an InviteError of the kind's codes; nothing else escapes. */
function openEnvelope<T>(kind: BlobKind, text: string, readBody: (body: ByteReader, flags: number) => T): T {
  const blob = withoutWhitespace(text)
  checkFirstByte(kind, blob)
  if (blob.length > MAX_BLOB_CHARS) throw new InviteError(kind.damaged, `${blob.length} characters, more than any ${kind.name} holds`)
  try {
    const bytes = fromBase64url(blob)
    const sealed = bytes.subarray(0, -CHECK_BYTES)
    if (bytes.length < 2 + CHECK_BYTES || !equalBytes(checksum(sealed), bytes.subarray(-CHECK_BYTES))) {
      throw new RangeError('checksum mismatch')
    }
    const flags = sealed[1]!
    const stored = sealed.subarray(2)
    const body = new ByteReader(flags & FLAG_DEFLATED ? inflateCapped(stored, MAX_BLOB_BYTES) : stored)
    const value = readBody(body, flags)
    if (body.remaining !== 0) throw new RangeError(`${body.remaining} stray bytes`)
    return value
  } catch (cause) {
    throw new InviteError(kind.damaged, undefined, { cause })
  }
}

/** Raw inflate that stops (RangeError) as soon as the output passes `maxBytes`. */
function inflateCapped(data: Uint8Array, maxBytes: number): Uint8Array {
  const inflator = new Inflate({ raw: true, chunkSize: 4096 })
  const chunks: Uint8Array[] = []
  let size = 0
  inflator.onData = (chunk) => {
    size += chunk.length
    if (size > maxBytes) throw new RangeError(`inflates past ${maxBytes} bytes`)
    chunks.push(chunk)
  }
  inflator.onEnd = () => {}
  inflator.push(data, true)
  if (inflator.err || !inflator.ended) throw new RangeError(`not a complete deflate stream (${inflator.msg || 'truncated'})`)
  return concatBytes(chunks, size)
}

function checkFirstByte(kind: BlobKind, blob: string): void {
  const first = firstByte(blob)
  const magic = first === undefined ? undefined : first >> 4
  if (magic !== kind.magic) {
    const other = KINDS.find((k) => k.magic === magic)
    throw new InviteError(kind.foreign, other ? `this is an ${other.name}, not an ${kind.name}` : undefined)
  }
  const version = first! & 0xf
  if (version !== INVITE_VERSION) {
    throw new InviteError(kind.version, `${kind.name} version ${version}, this page reads version ${INVITE_VERSION}`)
  }
}

/** The first two characters alone carry the first byte, even if the rest is mangled. */
function firstByte(blob: string): number | undefined {
  try {
    return fromBase64url(blob.slice(0, 2))[0]
  } catch {
    return undefined
  }
}

/** FNV-1a, 32 bits: enough to tell a damaged blob from a good one, and no dependency. */
function checksum(bytes: Uint8Array): Uint8Array {
  let hash = 0x811c9dc5
  for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0
  return Uint8Array.of(hash >>> 24, (hash >>> 16) & 0xff, (hash >>> 8) & 0xff, hash & 0xff)
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i])
}

function checkedId(field: string, id: string): string {
  if (id.length > MAX_ID_LENGTH || !BASE64URL.has(id)) {
    throw new RangeError(`${field} must be at most ${MAX_ID_LENGTH} characters of A-Z a-z 0-9 _ -, got ${JSON.stringify(id)}`)
  }
  return id
}

function provisionJson(provision: unknown): string {
  const json = JSON.stringify(provision) as string | undefined
  if (json === undefined) throw new TypeError('provision must be a JSON value')
  return json
}

/** Links get wrapped by mail clients and chat apps; whitespace is never part of a blob. */
function withoutWhitespace(text: string): string {
  return text.replace(/\s+/g, '')
}
