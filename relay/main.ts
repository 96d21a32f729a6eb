/**
 * `npm run relay [-- --port 8787 --host 127.0.0.1 --redis redis://127.0.0.1:6379]`
 * Every flag has an environment twin: RELAY_PORT, RELAY_HOST, RELAY_REDIS_URL,
 * RELAY_MAX_ENTRIES, RELAY_MAX_TTL_SECONDS, RELAY_RATE_CAPACITY, RELAY_RATE_PER_SECOND,
 * RELAY_MAX_SOCKETS_PER_ADDRESS, RELAY_TRUST_PROXY (1/true). Flags win.
 */
import { parseArgs } from 'node:util'
import { RedisStore } from './redis-store.js'
import { createRelayServer } from './server.js'
import { MemoryStore, type RelayStore } from './store.js'

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    redis: { type: 'string' },
    'max-entries': { type: 'string' },
    'max-ttl-seconds': { type: 'string' },
    'rate-capacity': { type: 'string' },
    'rate-per-second': { type: 'string' },
    'max-sockets-per-address': { type: 'string' },
    'trust-proxy': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
})

if (values.help) {
  console.log(`session-sync invite relay
  --port N             RELAY_PORT              default 8787
  --host ADDR          RELAY_HOST              default 127.0.0.1
  --redis URL          RELAY_REDIS_URL         share invites between instances (default: in memory)
  --max-entries N      RELAY_MAX_ENTRIES       live invites held, default 10000
  --max-ttl-seconds N  RELAY_MAX_TTL_SECONDS   longest invite life, default 3600
  --rate-capacity N    RELAY_RATE_CAPACITY     burst per client address, default 60
  --rate-per-second N  RELAY_RATE_PER_SECOND   refill per client address, default 1 (shared through Redis)
  --max-sockets-per-address N  RELAY_MAX_SOCKETS_PER_ADDRESS  open sockets per client address, default 32
  --trust-proxy        RELAY_TRUST_PROXY=1     client address from the last X-Forwarded-For hop`)
  process.exit(0)
}

function number(name: string, flag: string | undefined, env: string | undefined, fallback: number): number {
  const text = flag ?? env
  if (text === undefined || text === '') return fallback
  const value = Number(text)
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`relay: ${name} must be a positive number, got ${JSON.stringify(text)}`)
    process.exit(2)
  }
  return value
}

const env = process.env
const port = number('port', values.port, env.RELAY_PORT, 8787)
const host = values.host ?? env.RELAY_HOST ?? '127.0.0.1'
const maxEntries = number('max-entries', values['max-entries'], env.RELAY_MAX_ENTRIES, 10_000)
const redisUrl = values.redis ?? env.RELAY_REDIS_URL

const store: RelayStore = redisUrl
  ? await RedisStore.connect({ url: redisUrl, maxEntries, onError: (error) => console.error(`relay: redis: ${error.name}: ${error.message}`) })
  : new MemoryStore({ maxEntries })

const relay = createRelayServer({
  store,
  maxTtlSeconds: number('max-ttl-seconds', values['max-ttl-seconds'], env.RELAY_MAX_TTL_SECONDS, 3600),
  rateLimit: {
    capacity: number('rate-capacity', values['rate-capacity'], env.RELAY_RATE_CAPACITY, 60),
    refillPerSecond: number('rate-per-second', values['rate-per-second'], env.RELAY_RATE_PER_SECOND, 1),
  },
  sockets: { maxConnectionsPerAddress: number('max-sockets-per-address', values['max-sockets-per-address'], env.RELAY_MAX_SOCKETS_PER_ADDRESS, 32) },
  trustProxy: values['trust-proxy'] ?? /^(1|true|yes)$/i.test(env.RELAY_TRUST_PROXY ?? ''),
})

const { url } = await relay.listen(port, host)
console.log(`relay: listening on ${url} (${redisUrl ? 'redis' : 'memory'} store)`)

let stopping = false
async function stop(signal: string): Promise<void> {
  if (stopping) return
  stopping = true
  console.log(`relay: ${signal}, closing`)
  await relay.close()
  await store.close()
  process.exit(0)
}
process.on('SIGINT', () => void stop('SIGINT'))
process.on('SIGTERM', () => void stop('SIGTERM'))
