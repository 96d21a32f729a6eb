/**
 * Peer colours. The host gives each user a colour when it admits them, and the roster
 * carries it, so a user has one colour on every page for the whole session. A user's
 * first choice comes from a hash of their id (the same person tends to get the same colour
 * next time); when another peer has it, the nearest free one.
 */

/** Eight hues 45° apart: up to eight people, every two colours are clearly different. */
const SLOTS = 8
const SLOT_HUES = Array.from({ length: SLOTS }, (_, i) => 15 + i * (360 / SLOTS))
/** Past eight people: the free hue farthest from the taken ones, searched in steps of this. */
const HUE_STEP = 5
const SATURATION = 0.72
const LIGHTNESS = 0.45

/**
 * A colour ('#rrggbb') for `userId`, as far as it can be from every colour in `taken`; with
 * nothing taken, the user's own (what a page shows for someone the roster does not list).
 *
 * @param userId Whose colour: the same id gets the same first choice on every page.
 * @param taken Colours other people have already.
 */
export function pickColour(userId: string, taken: Iterable<string | undefined>): string {
  const used = [...taken].filter((c): c is string => !!c).map(hueOf)
  const gap = (hue: number) => Math.min(180, ...used.map((u) => hueDistance(hue, u)))
  const preferred = hashOf(userId) % SLOTS
  // The user's own slot if free, else the nearest free one, looking both ways.
  for (let step = 0; step <= SLOTS / 2; step++) {
    for (const slot of [preferred + step, preferred - step]) {
      const hue = SLOT_HUES[(slot + SLOTS) % SLOTS]!
      if (gap(hue) >= 180 / SLOTS) return hslToHex(hue)
    }
  }
  let best = SLOT_HUES[preferred]!
  for (let hue = 0; hue < 360; hue += HUE_STEP) if (gap(hue) > gap(best)) best = hue
  return hslToHex(best)
}

/** The circular distance between two hues, 0–180. */
export function hueDistance(a: number, b: number): number {
  const d = Math.abs(a - b) % 360
  return d > 180 ? 360 - d : d
}

/** The hue (0–360) of a '#rrggbb' colour. */
export function hueOf(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255) as [number, number, number]
  const max = Math.max(r, g, b)
  const d = max - Math.min(r, g, b)
  if (d === 0) return 0
  const h = max === r ? ((g - b) / d) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4
  return (h * 60 + 360) % 360
}

function hashOf(text: string): number {
  let h = 0
  for (let i = 0; i < text.length; i++) h = (Math.imul(h, 31) + text.charCodeAt(i)) | 0
  return h >>> 0
}

function hslToHex(hue: number): string {
  const a = SATURATION * Math.min(LIGHTNESS, 1 - LIGHTNESS)
  const channel = (n: number) => {
    const k = (n + hue / 30) % 12
    const v = LIGHTNESS - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))
    return Math.round(v * 255).toString(16).padStart(2, '0')
  }
  return `#${channel(0)}${channel(8)}${channel(4)}`
}
