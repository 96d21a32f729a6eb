/**
 * Relay invite links: `#session=r.<id>.<key>`. The id names the sealed offer on the relay;
 * the key opens it and never leaves the fragment (browsers do not send fragments to
 * servers). `.` is outside the base64url alphabet of zero-infra invite blobs
 * (`#session=<blob>`), so no blob can start with `r.`: the two kinds never collide, and
 * a page that predates the relay reports a relay link as "not a session invite".
 */
import { fromCanonicalBase64url } from '../encoding/bytes.js'

export const RELAY_FRAGMENT_PREFIX = 'r.'
const SESSION_PARAM = 'session'
/** 128-bit ids, base64url: what the relay hands out. */
const ID_PATTERN = /^[A-Za-z0-9_-]{22}$/

/** A relayed invite as its link names it: `#session=r.<id>.<key>`. */
export interface RelayInviteRef {
  /** The relay's id of the invite. */
  id: string
  /** The link secret (base64url): it seals the offer and answer, and never reaches the relay. */
  key: string
}

export function isRelayId(id: string): boolean {
  return ID_PATTERN.test(id)
}

/** The bytes of a canonical base64url 128- or 256-bit key, else null. */
export function relayKeyBytes(key: string): Uint8Array<ArrayBuffer> | null {
  const bytes = fromCanonicalBase64url(key)
  return bytes !== null && (bytes.length === 16 || bytes.length === 32) ? bytes : null
}

/** True for a canonical base64url 128- or 256-bit key. */
export function isRelayKey(key: string): boolean {
  return relayKeyBytes(key) !== null
}

/** Throws RangeError unless `id` and `key` can name a relay invite. */
export function checkRelayRef(id: string, key: string): void {
  if (!isRelayId(id)) throw new RangeError(`Not a relay invite id: ${JSON.stringify(id)}`)
  if (!isRelayKey(key)) throw new RangeError('Not a relay invite key')
}

/** `#session=r.<id>.<key>` */
export function relayFragment(id: string, key: string): string {
  checkRelayRef(id, key)
  return `#${SESSION_PARAM}=${RELAY_FRAGMENT_PREFIX}${id}.${key}`
}

/** The page URL with its fragment replaced by the relay fragment. */
export function relayInviteUrl(baseUrl: string, id: string, key: string): string {
  const hashAt = baseUrl.indexOf('#')
  return `${hashAt < 0 ? baseUrl : baseUrl.slice(0, hashAt)}${relayFragment(id, key)}`
}

/**
 * Accepts a full link, `#session=r.…`, `session=r.…` or the bare `r.<id>.<key>`, as people
 * paste them. Returns null for anything else, zero-infra invites included.
 */
export function parseRelayFragment(urlOrFragment: string): RelayInviteRef | null {
  const text = urlOrFragment.replace(/\s+/g, '')
  let value: string | null
  if (text.startsWith(RELAY_FRAGMENT_PREFIX)) value = text
  else {
    const hashAt = text.indexOf('#')
    const params = hashAt >= 0 ? text.slice(hashAt + 1) : text.startsWith(`${SESSION_PARAM}=`) ? text : null
    value = params === null ? null : new URLSearchParams(params).get(SESSION_PARAM)
  }
  if (!value?.startsWith(RELAY_FRAGMENT_PREFIX)) return null
  const parts = value.slice(RELAY_FRAGMENT_PREFIX.length).split('.')
  if (parts.length !== 2) return null
  const [id, key] = parts as [string, string]
  return isRelayId(id) && isRelayKey(key) ? { id, key } : null
}
