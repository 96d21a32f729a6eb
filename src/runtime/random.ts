import { nanoid } from 'nanoid'

/** Randomness reaches the core only through this interface (see Clock for why). */
export interface Random {
  /** A url-safe random id (nanoid alphabet). */
  id(size?: number): string
  /** A float in [0, 1). */
  next(): number
}

const ALPHABET = 'useandom-26T198340PX75pxJACKVERYMINDBUSHWOLF_GQZbfghjklqvwyzrict'

/** The default: nanoid for ids, `Math.random` for floats. */
export const systemRandom: Random = {
  id: (size = 21) => nanoid(size),
  next: () => Math.random(),
}

/** A deterministic generator (sfc32 seeded through splitmix32): the same seed gives the same ids. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0
  const splitmix = (): number => {
    state = (state + 0x9e3779b9) >>> 0
    let z = state
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
  let a = splitmix(), b = splitmix(), c = splitmix(), d = splitmix()
  const next = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0
    d = (d + 1) >>> 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) >>> 0
    c = (c << 21) | (c >>> 11)
    c = (c + t) >>> 0
    return t / 4294967296
  }
  return {
    next,
    id: (size = 21) => {
      let out = ''
      for (let i = 0; i < size; i++) out += ALPHABET[(next() * 64) | 0]
      return out
    },
  }
}
