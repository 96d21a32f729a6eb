/**
 * Redis-backed store: several relay instances behind a load balancer serve one invite.
 * Per invite, three keys share a hash tag: `<p>{<id>}:i` (expiresAt, lives on as the
 * tombstone), `<p>{<id>}:o` (sealed offer, PX until expiry) and `<p>{<id>}:a` (sealed
 * answer, SET NX: the first answer wins on every instance). `<p>live` is a sorted set of
 * live ids by expiry, for the entry cap. Writes are Lua scripts, so they are atomic; the
 * cap's global key makes this a single-primary (or Sentinel) store, not Redis Cluster.
 */
import { createClient } from '@redis/client'
import { DEFAULT_STORE_LIMITS, type AnswerResult, type PutResult, type RelayStore, type StoredInvite, type StoreLimits } from './store.js'

const PUT_SCRIPT = `
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[5]) then return 'full' end
if not redis.call('SET', KEYS[1], ARGV[2], 'NX', 'PX', ARGV[4]) then return 'exists' end
redis.call('SET', KEYS[2], ARGV[6], 'PX', ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[7])
return 'ok'
`

const ANSWER_SCRIPT = `
local expiresAt = redis.call('GET', KEYS[1])
if not expiresAt or tonumber(expiresAt) <= tonumber(ARGV[1]) or redis.call('EXISTS', KEYS[2]) == 0 then return 'missing' end
if not redis.call('SET', KEYS[3], ARGV[2], 'NX', 'PX', tonumber(expiresAt) - tonumber(ARGV[1])) then return 'answered' end
return 'ok'
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
    // Fail fast while disconnected: the relay answers 503 and clients fall back,
    // instead of requests queueing behind a dead connection.
    disableOfflineQueue: true,
    socket: { connectTimeout: 5_000, reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 5_000) },
  })
}

type Client = ReturnType<typeof newClient>

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

  async putIfAbsent(id: string, offer: string, expiresAt: number, now: number): Promise<PutResult> {
    const ttl = Math.max(1, expiresAt - now)
    const result = await this.client.eval(PUT_SCRIPT, {
      keys: [this.key(id, 'i'), this.key(id, 'o'), `${this.prefix}live`],
      arguments: [String(now), String(expiresAt), String(ttl), String(ttl + this.limits.tombstoneMs), String(this.limits.maxEntries), offer, id],
    })
    return expectOneOf(result, ['ok', 'exists', 'full'])
  }

  async get(id: string, now: number): Promise<StoredInvite | undefined> {
    const [meta, offer, answer] = await this.client.mGet([this.key(id, 'i'), this.key(id, 'o'), this.key(id, 'a')])
    if (meta === null || meta === undefined) return undefined
    const expiresAt = Number(meta)
    if (now >= expiresAt + this.limits.tombstoneMs) return undefined
    if (now >= expiresAt) return { offer: undefined, answer: undefined, expiresAt }
    return { offer: offer ?? undefined, answer: answer ?? undefined, expiresAt }
  }

  async setAnswerOnce(id: string, answer: string, now: number): Promise<AnswerResult> {
    const result = await this.client.eval(ANSWER_SCRIPT, {
      keys: [this.key(id, 'i'), this.key(id, 'o'), this.key(id, 'a')],
      arguments: [String(now), answer],
    })
    return expectOneOf(result, ['ok', 'answered', 'missing'])
  }

  async expire(now: number): Promise<void> {
    // Redis drops the keys by their TTL; only the cap's index needs pruning.
    await this.client.zRemRangeByScore(`${this.prefix}live`, '-inf', now)
  }

  async close(): Promise<void> {
    if (this.client.isReady) await this.client.close()
    else if (this.client.isOpen) this.client.destroy() // reconnecting: nothing to flush
  }

  private key(id: string, part: 'i' | 'o' | 'a'): string {
    return `${this.prefix}{${id}}:${part}`
  }
}

function expectOneOf<const T extends string>(value: unknown, allowed: readonly T[]): T {
  const text = String(value)
  if (!(allowed as readonly string[]).includes(text)) throw new Error(`Unexpected reply from Redis script: ${text.slice(0, 40)}`)
  return text as T
}
