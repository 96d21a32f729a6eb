import { customRandom, urlAlphabet } from 'nanoid'

/** Randomness reaches the core only through this interface (see Clock for why). */
export interface Random {
  /** A url-safe random id (nanoid alphabet). */
  id(size?: number): string
  /** A float in [0, 1). */
  next(): number
}

/** Random bytes fetched from the browser's CSPRNG a pool at a time. */
const POOL_BYTES = 1024
let pool = new Uint8Array(0)
let used = 0

/**
 * `n` fresh random bytes, each handed out once. A call into `crypto.getRandomValues` per id
 * cost more than the rest of sending a change (a host makes one per change): drawing from a
 * pool keeps ids just as unpredictable for a fraction of it.
 */
function pooledBytes(n: number): Uint8Array {
  if (used + n > pool.length) {
    pool = crypto.getRandomValues(new Uint8Array(Math.max(POOL_BYTES, n)))
    used = 0
  }
  used += n
  return pool.subarray(used - n, used)
}

const pooledId = customRandom(urlAlphabet, 21, pooledBytes)

/** The default: nanoid's alphabet over pooled CSPRNG bytes for ids, `Math.random` for floats. */
export const systemRandom: Random = {
  id: (size = 21) => pooledId(size),
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
      for (let i = 0; i < size; i++) out += urlAlphabet[(next() * 64) | 0]
      return out
    },
  }
}
