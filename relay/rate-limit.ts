/**
 * Token buckets per client address. IPv6 clients are keyed by their /64, since one host
 * commonly holds a whole /64 and could otherwise rotate addresses for fresh buckets.
 * Bounded: at most `maxClients` buckets; the least recently used goes first (in Redis,
 * a bucket expires once it would be full again).
 */
export interface RateLimitOptions {
  /** Burst size. */
  capacity: number
  /** Tokens added per second. */
  refillPerSecond: number
  maxClients: number
}

export const DEFAULT_RATE_LIMIT: RateLimitOptions = { capacity: 60, refillPerSecond: 1, maxClients: 50_000 }

interface Bucket {
  tokens: number
  at: number
}

/** One process's buckets (MemoryStore); RedisStore keeps the same buckets in Redis, shared by every instance. */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>()
  constructor(private readonly options: RateLimitOptions) {}

  /** Takes one token for `key` (a `clientKey`); returns 0 when allowed, else the seconds until a token is there. */
  take(key: string, now: number): number {
    const bucket = this.buckets.get(key) ?? { tokens: this.options.capacity, at: now }
    this.buckets.delete(key)
    bucket.tokens = Math.min(this.options.capacity, bucket.tokens + ((now - bucket.at) / 1000) * this.options.refillPerSecond)
    bucket.at = now
    let wait = 0
    if (bucket.tokens >= 1) bucket.tokens -= 1
    else wait = Math.max(1, Math.ceil((1 - bucket.tokens) / this.options.refillPerSecond))
    this.buckets.set(key, bucket)
    if (this.buckets.size > this.options.maxClients) this.buckets.delete(this.buckets.keys().next().value!)
    return wait
  }
}

/** IPv4 as is (IPv4-mapped IPv6 unwrapped); IPv6 cut to its /64. */
export function clientKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped) return mapped[1]!
  if (!address.includes(':')) return address
  const [head = '', tail] = address.split('%')[0]!.toLowerCase().split('::') as [string, string | undefined]
  const headParts = head === '' ? [] : head.split(':')
  const tailParts = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? headParts : [...headParts, ...Array<string>(Math.max(0, 8 - headParts.length - tailParts.length)).fill('0'), ...tailParts]
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`
}
