/**
 * A content digest of session state: 64-bit FNV-1a over canonical JSON (object keys
 * sorted), so two peers with equal provider state get equal digests whatever order
 * their objects were built in. Used after failover to find peers that must re-bootstrap.
 */
import { MAX_PAYLOAD_DEPTH } from '../wire/shape.js'

export function canonicalJson(value: unknown, depth = 0): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  // Never deeper than a payload may nest (and the two levels digestOf wraps it in): a bound, not the stack's.
  if (depth > MAX_PAYLOAD_DEPTH + 2) throw new RangeError(`state nested deeper than ${MAX_PAYLOAD_DEPTH} levels`)
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v, depth + 1)).join(',')}]`
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined && typeof v !== 'function')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v, depth + 1)}`).join(',')}}`
}

/** FNV-1a, 64 bits, computed as two 32-bit halves; returns 16 hex digits. */
export function fnv1a64(text: string): string {
  let hi = 0xcbf29ce4
  let lo = 0x84222325
  const bytes = new TextEncoder().encode(text)
  for (const byte of bytes) {
    lo ^= byte
    // multiply (hi, lo) by the FNV prime 0x100000001b3 = 2^40 + 0x1b3
    const loMul = lo * 0x1b3
    const carry = Math.floor(loMul / 0x100000000)
    const newLo = loMul >>> 0
    hi = (Math.imul(hi, 0x1b3) + carry + ((lo << 8) >>> 0)) >>> 0
    lo = newLo
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0')
}

export function digestOf(entries: ReadonlyArray<{ p: string; w: string | null; d: unknown }>): string {
  return fnv1a64(canonicalJson(entries.map((e) => [e.p, e.w, e.d])))
}
