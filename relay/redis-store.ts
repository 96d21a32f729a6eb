/**
 * Redis-backed store: several relay instances behind a load balancer serve one invite and
 * share one rate limit per client. Per invite, keys share a hash tag `<p>{<id>}`:
 * `:m` (hash: expiry, seats, meta, hostKey, answerKey), `:o` (hash: seat → sealed offer),
 * `:h` (hash: seat → when it was last handed out), `:a` (hash: seat → sealed answer), all
 * with PX until expiry, and `:t` (the tombstone: "expired" or "revoked", PX until expiry
 * plus `tombstoneMs`). `<p>live` is a sorted set of live ids by expiry, for the entry cap;
 * `<p>rate:<client>` a token bucket. Every write is a Lua script, so it is atomic; the
 * cap's global key makes this a single-primary (or Sentinel) store, not Redis Cluster.
 */
import { createClient } from '@redis/client'
import type { RateLimitOptions } from './rate-limit.js'
import { DEFAULT_STORE_LIMITS, type AnswerResult, type InviteLookup, type NewInvite, type PutResult, type RelayStore, type StoreLimits } from './store.js'

const CREATE_SCRIPT = `
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
if redis.call('ZCARD', KEYS[4]) >= tonumber(ARGV[5]) then return 'full' end
if not redis.call('SET', KEYS[3], 'expired', 'NX', 'PX', ARGV[4]) then return 'exists' end
redis.call('HSET', KEYS[1], 'expiresAt', ARGV[2], 'meta', ARGV[7], 'hostKey', ARGV[8], 'answerKey', ARGV[9], 'seats', #ARGV - 9)
for i = 10, #ARGV do redis.call('HSET', KEYS[2], tostring(i - 10), ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('ZADD', KEYS[4], ARGV[2], ARGV[6])
return 'ok'
`

const CLAIM_SCRIPT = `
local slots = redis.call('HKEYS', KEYS[1])
local best, bestAt = nil, nil
for _, slot in ipairs(slots) do
  local at = tonumber(redis.call('HGET', KEYS[2], slot) or '0')
  if best == nil or at < bestAt or (at == bestAt and tonumber(slot) < tonumber(best)) then best, bestAt = slot, at end
end
if best == nil then return nil end
redis.call('HSET', KEYS[2], best, ARGV[1])
redis.call('PEXPIRE', KEYS[2], redis.call('PTTL', KEYS[1]))
return { best, redis.call('HGET', KEYS[1], best) }
`

const ANSWER_SCRIPT = `
local seats = tonumber(redis.call('HGET', KEYS[1], 'seats') or '-1')
local slot = tonumber(ARGV[1])
if slot >= seats then return 'missing' end
if redis.call('HDEL', KEYS[2], ARGV[1]) == 0 then return 'answered' end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[3], redis.call('PTTL', KEYS[1]))
return 'ok'
`


const REVOKE_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
redis.call('SET', KEYS[5], 'revoked', 'KEEPTTL')
redis.call('ZREM', KEYS[6], ARGV[1])
return 1
`

/** A token bucket; tokens are kept as text so fractions survive. Returns the seconds to wait (0: allowed). */
const TOKEN_SCRIPT = `
local now, capacity, rate = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1] or ARGV[2])
local at = tonumber(state[2] or ARGV[1])
tokens = math.min(capacity, tokens + math.max(0, now - at) / 1000 * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.max(1, math.ceil((1 - tokens) / rate)) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', ARGV[1])
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return wait
`

export interface RedisStoreOptions extends Partial<StoreLimits> {
  /** `redis://[user:password@]host:port[/db]` */
  url: string
  /** Key prefix, default `ssr:`. */
  prefix?: string
  /** Told about connection errors (never with the URL, which may hold a password). */
  onError?: (error: Error) => void
}

function newClient(url: string) {
  return createClient({
    url,
    // Fail fast while disconnected: the relay answers 503 and clients retry or fall back,
    // instead of requests queueing behind a dead connection.
    disableOfflineQueue: true,
    socket: { connectTimeout: 5_000, reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 5_000) },
  })
}

type Client = ReturnType<typeof newClient>
type Part = 'm' | 'o' | 'h' | 'a' | 't'

export class RedisStore implements RelayStore {
  private constructor(
    private readonly client: Client,
    private readonly prefix: string,
    private readonly limits: StoreLimits,
  ) {}

  static async connect(options: RedisStoreOptions): Promise<RedisStore> {
    const client = newClient(options.url)
    client.on('error', (error: Error) => options.onError?.(error))
    await client.connect()
    const { url: _url, prefix, onError: _onError, ...limits } = options
    return new RedisStore(client, prefix ?? 'ssr:', { ...DEFAULT_STORE_LIMITS, ...limits })
  }

  async create(id: string, invite: NewInvite, now: number): Promise<PutResult> {
    const ttl = Math.max(1, invite.expiresAt - now)
    const result = await this.client.eval(CREATE_SCRIPT, {
      keys: [this.key(id, 'm'), this.key(id, 'o'), this.key(id, 't'), `${this.prefix}live`],
      arguments: [String(now), String(invite.expiresAt), String(ttl), String(ttl + this.limits.tombstoneMs), String(this.limits.maxEntries), id, invite.meta, invite.hostKey, invite.answerKey, ...invite.offers],
    })
    return expectOneOf(result, ['ok', 'exists', 'full'])
  }

  async read(id: string, now: number): Promise<InviteLookup> {
    const [meta, open, tombstone] = await Promise.all([this.client.hGetAll(this.key(id, 'm')), this.client.hLen(this.key(id, 'o')), this.client.get(this.key(id, 't'))])
    const expiresAt = Number(meta.expiresAt)
    // Redis drops the keys at their PX; the clock check covers the milliseconds in between.
    if (meta.expiresAt !== undefined && now < expiresAt) {
      return { state: 'live', expiresAt, seats: Number(meta.seats), open: Number(open), meta: meta.meta ?? '', hostKey: meta.hostKey ?? '', answerKey: meta.answerKey ?? '' }
    }
    if (tombstone === 'revoked') return { state: 'revoked' }
    return tombstone === null ? undefined : { state: 'expired' }
  }

  async claim(id: string, now: number): Promise<{ slot: number; offer: string } | null> {
    const result = (await this.client.eval(CLAIM_SCRIPT, { keys: [this.key(id, 'o'), this.key(id, 'h')], arguments: [String(now)] })) as [string, string] | null
    return result ? { slot: Number(result[0]), offer: result[1] } : null
  }

  async answer(id: string, slot: number, answer: string, _now: number): Promise<AnswerResult> {
    const result = await this.client.eval(ANSWER_SCRIPT, { keys: [this.key(id, 'm'), this.key(id, 'o'), this.key(id, 'a')], arguments: [String(slot), answer] })
    return expectOneOf(result, ['ok', 'answered', 'missing'])
  }

  async readAnswers(id: string, _now: number): Promise<Array<{ slot: number; answer: string }>> {
    const all = await this.client.hGetAll(this.key(id, 'a'))
    return Object.entries(all).map(([slot, answer]) => ({ slot: Number(slot), answer }))
  }

  async dropAnswers(id: string, slots: readonly number[], _now: number): Promise<void> {
    if (slots.length) await this.client.hDel(this.key(id, 'a'), slots.map(String))
  }

  async revoke(id: string, _now: number): Promise<boolean> {
    const parts: Part[] = ['m', 'o', 'h', 'a', 't']
    const result = await this.client.eval(REVOKE_SCRIPT, { keys: [...parts.map((part) => this.key(id, part)), `${this.prefix}live`], arguments: [id] })
    return Number(result) === 1
  }

  async takeToken(key: string, limits: RateLimitOptions, now: number): Promise<number> {
    const result = await this.client.eval(TOKEN_SCRIPT, { keys: [`${this.prefix}rate:${key}`], arguments: [String(now), String(limits.capacity), String(limits.refillPerSecond)] })
    return Number(result)
  }

  async ping(): Promise<void> {
    await this.client.ping()
  }

  async expire(now: number): Promise<void> {
    // Redis drops the keys by their TTL; only the cap's index needs pruning.
    await this.client.zRemRangeByScore(`${this.prefix}live`, '-inf', now)
  }

  async close(): Promise<void> {
    if (this.client.isReady) await this.client.close()
    else if (this.client.isOpen) this.client.destroy() // reconnecting: nothing to flush
  }

  private key(id: string, part: Part): string {
    return `${this.prefix}{${id}}:${part}`
  }
}

function expectOneOf<const T extends string>(value: unknown, allowed: readonly T[]): T {
  const text = String(value)
  if (!(allowed as readonly string[]).includes(text)) throw new Error(`Unexpected reply from Redis script: ${text.slice(0, 40)}`)
  return text as T
}
