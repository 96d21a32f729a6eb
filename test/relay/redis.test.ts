/**
 * RedisStore against a real redis-server that this test starts on a free 127.0.0.1 port,
 * and two relay instances sharing it: one invite, served by both. Needs the Debian
 * package `redis-server` (apt-get install -y redis-server).
 */
import type { ChildProcess } from 'node:child_process'
import { createClient } from '@redis/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RedisStore } from '../../relay/redis-store.js'
import { createRelayServer, type RelayServer } from '../../relay/server.js'
import { createRelayClient, RelayError, type RelayClient } from '../../src/relay/index.js'
import { freePort, startRedis, stopRedis } from './redis-server.js'

const OFFER = 'v=0\r\na=candidate:1 1 udp 2122260223 127.0.0.1 54400 typ host'
const ANSWER = 'v=0\r\na=candidate:2 1 udp 2122260223 127.0.0.1 54401 typ host'
const META = { from: { id: 'h1', name: 'Ada' }, access: 'editor' as const }

let clock = 1_800_000_000_000
const now = () => clock

const publishOne = (client: RelayClient, ttlSeconds = 600) => client.publish([OFFER], META, ttlSeconds)

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
    if (redis) await stopRedis(redis)
  })

  it('creates on A, fetches and answers on B, picks the answer up on A; each payload is deleted once used', async () => {
    const hostSide = createRelayClient({ endpoint: urlA, timeoutMs: 2_000 })
    const guestSide = createRelayClient({ endpoint: urlB, timeoutMs: 2_000 })
    const invite = await publishOne(hostSide)
    const { id, key } = invite
    const raw = createClient({ url: redisUrl })
    await raw.connect()
    try {
      const offer = await raw.hGet(`ssr:{${id}}:o`, '0')
      const seat = await guestSide.fetchOffer(id, key)
      expect(seat).toMatchObject({ offer: OFFER, slot: 0, meta: META })
      await guestSide.postAnswer(id, key, seat.slot, ANSWER)
      const answer = await raw.hGet(`ssr:{${id}}:a`, '0')
      // Redis holds ciphertext only, and the offer no longer once its seat is answered.
      for (const value of [offer, answer]) {
        expect(value).toMatch(/^[A-Za-z0-9_-]+$/)
        for (const leak of ['a=candidate', '127.0.0.1', key]) expect(value).not.toContain(leak)
      }
      expect(await raw.exists(`ssr:{${id}}:o`)).toBe(0)
      // The host polls A only now, so the answer above was read before it was taken.
      const result = await hostSide.watch([invite], { waitSeconds: 10 })
      expect(await hostSide.openAnswer(invite, result!.answers[0]!.sealed)).toBe(ANSWER)
      // Deleted once the host acknowledges it, with its next poll.
      expect(await hostSide.watch([{ ...invite, ack: [0] }], { waitSeconds: 0 })).toBeNull()
      expect(await raw.exists(`ssr:{${id}}:a`)).toBe(0)
    } finally {
      await raw.close()
    }
    // Single use holds across instances.
    await expect(hostSide.postAnswer(id, key, 0, 'late guest')).rejects.toMatchObject({ code: 'relay-answered', status: 409 })
  })

  it('a room link hands out distinct seats across instances; revoking on A ends it on B', async () => {
    const a = createRelayClient({ endpoint: urlA })
    const b = createRelayClient({ endpoint: urlB })
    const room = await a.publish(['o0', 'o1', 'o2'], META, 600)
    const seats = await Promise.all([a, b, b].map((client) => client.fetchOffer(room.id, room.key)))
    expect(seats.map((seat) => seat.slot).sort()).toEqual([0, 1, 2])
    await expect(b.revoke({ ...room, token: 'A'.repeat(43) })).rejects.toMatchObject({ code: 'relay-refused' })
    await a.revoke(room)
    await expect(b.fetchOffer(room.id, room.key)).rejects.toMatchObject({ code: 'relay-revoked' })
    expect(await b.watch([room], { waitSeconds: 0 })).toEqual({ answers: [], gone: [{ id: room.id, reason: 'revoked' }] })
  })

  it('shares the rate limit of a client address across instances', async () => {
    const limitedStore = await RedisStore.connect({ url: redisUrl, prefix: 'limited:' })
    const limited = [0, 1].map(() => createRelayServer({ store: limitedStore, now, rateLimit: { capacity: 4, refillPerSecond: 1 }, log: () => undefined }))
    try {
      const [x, y] = await Promise.all(limited.map(async (relay) => (await relay.listen(0, '127.0.0.1')).url))
      const probe = (url: string) => fetch(`${url}/v1/invites/${'Q'.repeat(22)}`).then((r) => r.status)
      expect([await probe(x!), await probe(y!), await probe(x!), await probe(y!)]).toEqual([404, 404, 404, 404])
      // The fifth request is refused wherever it lands: the bucket is in Redis.
      expect(await probe(y!)).toBe(429)
      expect(await probe(x!)).toBe(429)
      clock += 1_000
      expect(await probe(x!)).toBe(404)
    } finally {
      await Promise.all(limited.map((relay) => relay.close()))
      await limitedStore.close()
    }
  })

  it('expiry and unknown ids agree on both instances', async () => {
    const client = createRelayClient({ endpoint: urlA })
    const { id, key } = await publishOne(client, 30)
    clock += 30_000
    await expect(createRelayClient({ endpoint: urlB }).fetchOffer(id, key)).rejects.toMatchObject({ code: 'relay-expired' })
    await expect(client.postAnswer(id, key, 0, ANSWER)).rejects.toMatchObject({ code: 'relay-expired' })
    await expect(client.fetchOffer('Z'.repeat(22), key)).rejects.toMatchObject({ code: 'relay-not-found' })
  })

  it('caps live invites across instances', async () => {
    const capped = createRelayClient({ endpoint: (await relays[2]!.listen(0, '127.0.0.1')).url })
    await publishOne(capped, 60)
    await expect(publishOne(capped, 60)).rejects.toMatchObject({ code: 'relay-unavailable', status: 503 })
    clock += 60_000
    await publishOne(capped, 60)
  })

  it('Redis going away is relay-unavailable, not a hang, and health says 503', async () => {
    const client = createRelayClient({ endpoint: urlA, timeoutMs: 3_000 })
    const { id, key } = await publishOne(client)
    expect((await fetch(`${urlA}/v1/health`)).status).toBe(200)
    await stopRedis(redis!)
    const t0 = Date.now()
    const error = await client.fetchOffer(id, key).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RelayError)
    expect((error as RelayError).code).toBe('relay-unavailable')
    expect(Date.now() - t0).toBeLessThan(3_000)
    const health = await fetch(`${urlA}/v1/health`)
    expect(health.status).toBe(503)
    expect(await health.json()).toMatchObject({ error: 'store-unavailable' })
  })
})
