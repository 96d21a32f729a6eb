/**
 * RedisStore against a real redis-server that this test starts on a free 127.0.0.1 port,
 * and two relay instances sharing it: one invite, served by both. Needs the Debian
 * package `redis-server` (apt-get install -y redis-server).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { createClient } from '@redis/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RedisStore } from '../../relay/redis-store.js'
import { createRelayServer, type RelayServer } from '../../relay/server.js'
import { createRelayClient, RelayError } from '../../src/relay/index.js'

const OFFER = 'v=0\r\na=candidate:1 1 udp 2122260223 127.0.0.1 54400 typ host'
const ANSWER = 'v=0\r\na=candidate:2 1 udp 2122260223 127.0.0.1 54401 typ host'
/** `REDIS_SERVER=/path/to/redis-server` to use another build. */
const REDIS_SERVER = process.env.REDIS_SERVER ?? 'redis-server'
const MISSING = `${REDIS_SERVER} is not installed: the Redis relay test needs it. Install the Debian package: apt-get install -y redis-server`

let clock = 1_800_000_000_000
const now = () => clock

async function freePort(): Promise<number> {
  const probe = createServer()
  const port = await new Promise<number>((resolve) => probe.listen(0, '127.0.0.1', () => resolve((probe.address() as { port: number }).port)))
  await new Promise((resolve) => probe.close(resolve))
  return port
}

/** Resolves once redis-server says it is ready; rejects (bounded) otherwise. */
function startRedis(port: number): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`redis-server did not start within 10 s:\n${output.slice(-2000)}`))
    }, 10_000)
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      reject(error.code === 'ENOENT' ? new Error(MISSING) : error)
    })
    const onEarlyExit = (code: number | null) => {
      clearTimeout(timer)
      reject(new Error(`redis-server exited with ${code}:\n${output.slice(-2000)}`))
    }
    child.once('exit', onEarlyExit)
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (!output.includes('Ready to accept connections')) return
      clearTimeout(timer)
      child.off('exit', onEarlyExit)
      child.stdout!.off('data', onData)
      child.stdout!.resume() // keep draining its log
      resolve(child)
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', (chunk: Buffer) => void (output += chunk.toString()))
  })
}

describe('relay on Redis: two instances, one invite', () => {
  let redis: ChildProcess | undefined
  let redisUrl = ''
  const stores: RedisStore[] = []
  const relays: RelayServer[] = []
  let urlA = ''
  let urlB = ''

  beforeAll(async () => {
    const port = await freePort()
    redis = await startRedis(port)
    redisUrl = `redis://127.0.0.1:${port}`
    for (const maxEntries of [100, 100, 1]) stores.push(await RedisStore.connect({ url: redisUrl, maxEntries, prefix: maxEntries === 1 ? 'capped:' : 'ssr:' }))
    for (const store of stores) {
      const relay = createRelayServer({ store, now, storePollMs: 50, rateLimit: false, log: () => undefined })
      relays.push(relay)
    }
    urlA = (await relays[0]!.listen(0, '127.0.0.1')).url
    urlB = (await relays[1]!.listen(0, '127.0.0.1')).url
  }, 20_000)

  afterAll(async () => {
    await Promise.all(relays.map((relay) => relay.close()))
    await Promise.all(stores.map((store) => store.close().catch(() => undefined)))
    if (redis && redis.exitCode === null) {
      const exited = new Promise((resolve) => redis!.once('exit', resolve))
      redis.kill('SIGTERM')
      await exited
    }
  })

  it('creates on A, fetches and answers on B, picks the answer up on A', async () => {
    const hostSide = createRelayClient({ endpoint: urlA, timeoutMs: 2_000 })
    const guestSide = createRelayClient({ endpoint: urlB, timeoutMs: 2_000 })
    const { id, key } = await hostSide.publishOffer(OFFER, 600)
    const waiting = hostSide.waitForAnswer(id, key)
    expect(await guestSide.fetchOffer(id, key)).toBe(OFFER)
    await guestSide.postAnswer(id, key, ANSWER)
    expect(await waiting).toBe(ANSWER)

    // Single use holds across instances.
    await expect(hostSide.postAnswer(id, key, 'late guest')).rejects.toMatchObject({ code: 'relay-answered', status: 409 })

    // Redis holds ciphertext only.
    const raw = createClient({ url: redisUrl })
    await raw.connect()
    try {
      const values = await raw.mGet([`ssr:{${id}}:o`, `ssr:{${id}}:a`])
      expect(values.every((value) => typeof value === 'string' && /^[A-Za-z0-9_-]+$/.test(value))).toBe(true)
      for (const value of values) for (const leak of ['a=candidate', '127.0.0.1', key]) expect(value).not.toContain(leak)
      expect(await raw.pTTL(`ssr:{${id}}:o`)).toBeGreaterThan(0)
    } finally {
      await raw.close()
    }
  })

  it('expiry and unknown ids agree on both instances', async () => {
    const client = createRelayClient({ endpoint: urlA })
    const { id, key } = await client.publishOffer(OFFER, 30)
    clock += 30_000
    await expect(createRelayClient({ endpoint: urlB }).fetchOffer(id, key)).rejects.toMatchObject({ code: 'relay-expired' })
    await expect(client.postAnswer(id, key, ANSWER)).rejects.toMatchObject({ code: 'relay-expired' })
    await expect(client.fetchOffer('Z'.repeat(22), key)).rejects.toMatchObject({ code: 'relay-not-found' })
  })

  it('caps live invites across instances', async () => {
    const capped = createRelayClient({ endpoint: (await relays[2]!.listen(0, '127.0.0.1')).url })
    await capped.publishOffer(OFFER, 60)
    await expect(capped.publishOffer(OFFER, 60)).rejects.toMatchObject({ code: 'relay-unavailable', status: 503 })
    clock += 60_000
    await capped.publishOffer(OFFER, 60)
  })

  it('Redis going away is relay-unavailable, not a hang', async () => {
    const client = createRelayClient({ endpoint: urlA, timeoutMs: 3_000 })
    const { id, key } = await client.publishOffer(OFFER, 600)
    const exited = new Promise((resolve) => redis!.once('exit', resolve))
    redis!.kill('SIGTERM')
    await exited
    const t0 = Date.now()
    const error = await client.fetchOffer(id, key).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RelayError)
    expect((error as RelayError).code).toBe('relay-unavailable')
    expect(Date.now() - t0).toBeLessThan(3_000)
  })
})
