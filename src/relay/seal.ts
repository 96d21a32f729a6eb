/**
 * End-to-end sealing of what goes through the relay. The link fragment carries a random
 * per-invite secret; HKDF-SHA-256 derives from it an AES-GCM key (the relay stores
 * ciphertext it cannot open, alter or move unnoticed) and an HMAC key for answers, which
 * the host gives the relay: the relay checks an answer's MAC before storing it, so
 * someone who learns only the invite id cannot burn the invite, and the relay learns
 * nothing that opens the sealed data (HKDF is one-way). WebCrypto only: the same code
 * runs in browsers and Node.
 *
 * Sealed form (base64url): version byte | 96-bit random IV | ciphertext with 128-bit tag.
 * Additional data: "session-sync/relay/2 <kind>", and for an answer also the invite id.
 * The kind stops a relay from handing an offer back as the answer; the id stops an answer
 * from being moved to another invite. An offer cannot name the id (the relay assigns it
 * after the offer is sealed): it is bound to its invite by the secret, which is fresh for
 * every published invite and never reused.
 */
import { fromCanonicalBase64url, toBase64url } from '../encoding/bytes.js'
import { RelayError } from './errors.js'
import { relayKeyBytes } from './fragment.js'

const SEAL_VERSION = 2
const IV_BYTES = 12
const TAG_BYTES = 16
export const KEY_BYTES = 32

/** An offer (one per seat), an answer, or the invite's sealed "who invites you". */
export type SealKind = 'offer' | 'answer' | 'meta'

/** A fresh 256-bit key, base64url (43 characters). */
export function newRelayKey(): string {
  return toBase64url(crypto.getRandomValues(new Uint8Array(KEY_BYTES)))
}

export async function seal(kind: SealKind, id: string, key: string, plaintext: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES))
  const cryptoKey = await sealingKey(key)
  const ciphertext = new Uint8Array(
    await subtle().encrypt(
      { name: 'AES-GCM', iv, additionalData: additionalData(kind, id), tagLength: TAG_BYTES * 8 },
      cryptoKey,
      new TextEncoder().encode(plaintext),
    ),
  )
  const out = new Uint8Array(1 + IV_BYTES + ciphertext.length)
  out[0] = SEAL_VERSION
  out.set(iv, 1)
  out.set(ciphertext, 1 + IV_BYTES)
  return toBase64url(out)
}

/** Throws RelayError('relay-damaged') for anything that does not open under this key. */
export async function open(kind: SealKind, id: string, key: string, sealed: string): Promise<string> {
  const bytes = fromCanonicalBase64url(sealed)
  if (bytes === null || bytes.length < 1 + IV_BYTES + TAG_BYTES) throw new RelayError('relay-damaged', `the ${kind} is not sealed data`)
  if (bytes[0] !== SEAL_VERSION) throw new RelayError('relay-damaged', `the ${kind} was sealed by version ${bytes[0]}, this page reads version ${SEAL_VERSION}`)
  const cryptoKey = await sealingKey(key)
  let plaintext: ArrayBuffer
  try {
    plaintext = await subtle().decrypt(
      { name: 'AES-GCM', iv: bytes.subarray(1, 1 + IV_BYTES), additionalData: additionalData(kind, id), tagLength: TAG_BYTES * 8 },
      cryptoKey,
      bytes.subarray(1 + IV_BYTES),
    )
  } catch (cause) {
    throw new RelayError('relay-damaged', `the ${kind} failed authentication`, { cause })
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(plaintext)
  } catch (cause) {
    throw new RelayError('relay-damaged', `the ${kind} is not text`, { cause })
  }
}

function additionalData(kind: SealKind, id: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(kind === 'answer' ? `session-sync/relay/${SEAL_VERSION} answer ${id}` : `session-sync/relay/${SEAL_VERSION} ${kind}`)
}

/**
 * The key the relay checks answers with (base64url, 256 bits): the host registers it
 * with the invite; a guest proves it holds the link by `answerMac`.
 */
export async function answerKeyFor(key: string): Promise<string> {
  return toBase64url(await derive(key, 'answer-mac'))
}

/** HMAC-SHA-256 over `<id>.<slot>.<sealed answer>` under `answerKeyFor(key)` (relay/http.ts checks it). */
export async function answerMac(key: string, id: string, slot: number, sealedAnswer: string): Promise<string> {
  const hmacKey = await subtle().importKey('raw', await derive(key, 'answer-mac'), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  return toBase64url(new Uint8Array(await subtle().sign('HMAC', hmacKey, new TextEncoder().encode(`${id}.${slot}.${sealedAnswer}`))))
}

/** A fresh secret the host alone holds (to take answers and revoke), and the SHA-256 of it the relay keeps. */
export async function newHostToken(): Promise<{ token: string; hostKey: string }> {
  const token = newRelayKey()
  const digest = new Uint8Array(await subtle().digest('SHA-256', new TextEncoder().encode(token)))
  return { token, hostKey: toBase64url(digest) }
}

async function sealingKey(key: string): Promise<CryptoKey> {
  return subtle().importKey('raw', await derive(key, 'seal'), 'AES-GCM', false, ['encrypt', 'decrypt'])
}

async function derive(key: string, purpose: 'seal' | 'answer-mac'): Promise<Uint8Array<ArrayBuffer>> {
  const raw = relayKeyBytes(key)
  if (raw === null) throw new RelayError('relay-damaged', 'the invite key is malformed')
  const base = await subtle().importKey('raw', raw, 'HKDF', false, ['deriveBits'])
  const info = new TextEncoder().encode(`session-sync/relay/${SEAL_VERSION} ${purpose}`)
  return new Uint8Array(await subtle().deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info }, base, 256))
}

function subtle(): SubtleCrypto {
  // Plain http on a LAN address is not a secure context: no crypto.subtle at all.
  if (!globalThis.crypto?.subtle) throw new RelayError('relay-insecure-page')
  return crypto.subtle
}
