/**
 * End-to-end sealing of what goes through the relay: AES-GCM under a random per-invite
 * key that travels only in the link fragment, so the relay stores ciphertext it cannot
 * open, alter or move unnoticed. WebCrypto only: the same code runs in browsers and Node.
 *
 * Sealed form (base64url): version byte | 96-bit random IV | ciphertext with 128-bit tag.
 * Additional data: "session-sync/relay/1 offer" for an offer, and
 * "session-sync/relay/1 answer <id>" for an answer. The direction in it stops a relay from
 * handing the offer back as the answer; the id stops an answer from being moved to
 * another invite. The offer cannot name the id (the relay assigns it after the offer is
 * sealed): it is bound to its invite by the key, which is fresh for every published offer
 * and never reused.
 */
import { fromCanonicalBase64url, toBase64url } from '../encoding/bytes.js'
import { RelayError } from './errors.js'
import { relayKeyBytes } from './fragment.js'

const SEAL_VERSION = 1
const IV_BYTES = 12
const TAG_BYTES = 16
export const KEY_BYTES = 32

export type SealKind = 'offer' | 'answer'

/** A fresh 256-bit key, base64url (43 characters). */
export function newRelayKey(): string {
  return toBase64url(crypto.getRandomValues(new Uint8Array(KEY_BYTES)))
}

export async function seal(kind: SealKind, id: string, key: string, plaintext: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES))
  const cryptoKey = await importKey(key)
  const ciphertext = new Uint8Array(
    await crypto.subtle.encrypt(
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
  const cryptoKey = await importKey(key)
  let plaintext: ArrayBuffer
  try {
    plaintext = await crypto.subtle.decrypt(
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
  return new TextEncoder().encode(kind === 'offer' ? `session-sync/relay/${SEAL_VERSION} offer` : `session-sync/relay/${SEAL_VERSION} answer ${id}`)
}

async function importKey(key: string): Promise<CryptoKey> {
  // Plain http on a LAN address is not a secure context: no crypto.subtle at all.
  if (!globalThis.crypto?.subtle) throw new RelayError('relay-insecure-page')
  const raw = relayKeyBytes(key)
  if (raw === null) throw new RelayError('relay-damaged', 'the invite key is malformed')
  return crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt'])
}
