import { pickColour } from '../src/index.js'

/** Colours the session gave users, kept after they leave: their shapes keep it. */
const given = new Map<string, `#${string}`>()

/**
 * One stable colour per user id, so a peer's cursor, swatch and shapes match everywhere:
 * the session's (the host gives each user one, far from the others'), else the library's
 * own first choice for that id.
 */
export function colourOf(userId: string): `#${string}` {
  const colour = window.SESSION?.getPeers().find((p) => p.id === userId)?.color as `#${string}` | undefined
  if (colour) given.set(userId, colour)
  if (given.has(userId)) return given.get(userId)!
  if (!userId) return '#3b82f6'
  return pickColour(userId, []) as `#${string}`
}
