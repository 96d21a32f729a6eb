/** Colours the session gave users, kept after they leave: their shapes keep it. */
const given = new Map<string, `#${string}`>()

/**
 * One stable colour per user id, so a peer's cursor, swatch and shapes match everywhere:
 * the session's (the host gives each user one, far from the others'), else one from the id.
 */
export function colourOf(userId: string): `#${string}` {
  const colour = window.SESSION?.getPeers().find((p) => p.id === userId)?.color as `#${string}` | undefined
  if (colour) given.set(userId, colour)
  if (given.has(userId)) return given.get(userId)!
  if (!userId) return '#3b82f6'
  let h = 0
  for (let i = 0; i < userId.length; i++) h = (Math.imul(h, 31) + userId.charCodeAt(i)) | 0
  return hslToHex((h >>> 0) % 360, 0.72, 0.45)
}

function hslToHex(hue: number, s: number, l: number): `#${string}` {
  const a = s * Math.min(l, 1 - l)
  const channel = (n: number) => {
    const k = (n + hue / 30) % 12
    const v = l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))
    return Math.round(v * 255).toString(16).padStart(2, '0')
  }
  return `#${channel(0)}${channel(8)}${channel(4)}`
}
