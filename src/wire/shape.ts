/**
 * Structural limits on provider payloads: how deeply JSON may nest. Checked where a payload
 * enters (a provider's emit, a snapshot collected here, every message at the edge), so
 * nothing is applied that cannot be encoded again, and the code that walks state (digest,
 * encoding) never recurses deeper than this.
 */

/** Deepest nesting of objects and arrays a payload may have. Real viewer state nests < 20. */
export const MAX_PAYLOAD_DEPTH = 64

/**
 * Whether `value` nests at most `maxDepth` objects/arrays deep. Iterative: a hostile value
 * nested 100,000 deep is measured without using the stack.
 */
export function nestsWithin(value: unknown, maxDepth = MAX_PAYLOAD_DEPTH): boolean {
  if (value === null || typeof value !== 'object') return true
  const stack: Array<[object, number]> = [[value, 1]]
  while (stack.length) {
    const [node, depth] = stack.pop()!
    if (depth > maxDepth) return false
    const children = Array.isArray(node) ? node : Object.values(node)
    for (const child of children) if (child !== null && typeof child === 'object') stack.push([child, depth + 1])
  }
  return true
}
