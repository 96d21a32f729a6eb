/**
 * Structural limits on provider payloads: how deeply JSON may nest, and how large a change
 * may be once encoded. Checked where a payload enters (a provider's emit, a snapshot
 * collected here, every message at the edge), so nothing is applied that cannot be encoded
 * again, and the code that walks state (digest, encoding) never recurses deeper than this.
 */
import { byteSize, sizeOver } from '../encoding/bytes.js'
import { PayloadLimitError } from '../errors.js'

/** Deepest nesting of objects and arrays a payload may have. Real viewer state nests < 20. */
export const MAX_PAYLOAD_DEPTH = 64

/**
 * Whether `value` nests at most `maxDepth` objects/arrays deep. It recurses, but never
 * deeper than `maxDepth`: a hostile value nested 100,000 deep costs 64 frames.
 */
export function nestsWithin(value: unknown, maxDepth = MAX_PAYLOAD_DEPTH): boolean {
  return value === null || typeof value !== 'object' || within(value, maxDepth)
}

function within(node: object, left: number): boolean {
  if (left === 0) return false
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const child: unknown = node[i]
      if (child !== null && typeof child === 'object' && !within(child, left - 1)) return false
    }
    return true
  }
  for (const key in node) {
    const child = (node as Record<string, unknown>)[key]
    if (child !== null && typeof child === 'object' && !within(child, left - 1)) return false
  }
  return true
}

/** Throws when a change made here is larger, encoded (as UTF-8), than `maxBytes`. */
export function checkSize(encoded: Uint8Array | string, maxBytes: number, providerId: string): void {
  if (sizeOver(encoded, maxBytes)) {
    throw new PayloadLimitError('payload-too-large', providerId, `of ${byteSize(encoded)} bytes encoded, over the limit of ${maxBytes}`)
  }
}
