/**
 * The invite relay with its MemoryStore, in process on 127.0.0.1, driven through the
 * library's relay client. Time is a fake clock injected into the servers: no sleeps.
 */
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { clientKey } from '../../relay/rate-limit.js'
import { createRelayServer, type RelayLogEntry, type RelayServer } from '../../relay/server.js'
import { MemoryStore, type RelayStore } from '../../relay/store.js'
import { InviteError } from '../../src/errors.js'
import { decodeInvite, encodeInvite, inviteBlobFrom } from '../../src/invite/invite.js'
import { createRelayClient, parseRelayFragment, RelayError, relayFragment, relayInviteUrl, type RelayErrorCode } from '../../src/relay/index.js'
import { open, seal } from '../../src/relay/seal.js'

/** What a real offer carries, so a leak would show. */
const OFFER = 'v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\na=candidate:1 1 udp 2122260223 127.0.0.1 54400 typ host\r\na=fingerprint:sha-256 AB:CD'
/** A valid 128-bit key (base64url). */
const KEY = 'AAECAwQFBgcICQoLDA0ODw'
const ANSWER = 'v=0\r\na=candidate:2 1 udp 2122260223 127.0.0.1 54401 typ host\r\na=ice-ufrag:answer'

let clock = 1_800_000_000_000
const now = () => clock

async function expectRelayError(promise: Promise<unknown>, code: RelayErrorCode): Promise<RelayError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(RelayError)
  expect((error as RelayError).code).toBe(code)
  expect((error as RelayError).message.length).toBeGreaterThan(20)
  return error as RelayError
}

async function started(options: Parameters<typeof createRelayServer>[0]): Promise<{ relay: RelayServer; url: string }> {
  const relay = createRelayServer({ now, log: () => undefined, ...options })
  const { url } = await relay.listen(0, '127.0.0.1')
  return { relay, url }
}

describe('relay with MemoryStore', () => {
  const store = new MemoryStore({ maxEntries: 100, tombstoneMs: 10 * 60_000 })
  const logs: RelayLogEntry[] = []
  /** Every request the client makes: the key must never be in one. */
  const sent: string[] = []
  let relay: RelayServer
  let url: string
  let client: ReturnType<typeof createRelayClient>

  beforeAll(async () => {
    ;({ relay, url } = await started({ store, rateLimit: false, log: (entry) => logs.push(entry) }))
    client = createRelayClient({
      endpoint: url,
      timeoutMs: 2_000,
      fetch: async (input, init) => {
        sent.push(`${String(input)} ${String(init?.body ?? '')}`)
        return fetch(input, init)
      },
    })
  })
  afterAll(() => relay.close())

  it('carries an offer and an answer end to end; the relay sees only ciphertext', async () => {
    const { id, key } = await client.publishOffer(OFFER, 600)
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/)

    const waiting = client.waitForAnswer(id, key)
    const guest = createRelayClient({ endpoint: url, timeoutMs: 2_000 })
    const ref = parseRelayFragment(relayInviteUrl('https://viewer.example/app?x=1#old', id, key))!
    expect(ref).toEqual({ id, key })
    expect(await guest.fetchOffer(ref.id, ref.key)).toBe(OFFER)
    await guest.postAnswer(ref.id, ref.key, ANSWER)
    expect(await waiting).toBe(ANSWER)

    const stored = store.peek(id)!
    for (const value of [stored.offer!, stored.answer!]) {
      expect(value).toMatch(/^[A-Za-z0-9_-]+$/)
      for (const leak of ['a=candidate', '127.0.0.1', OFFER, ANSWER, key]) expect(value).not.toContain(leak)
    }
    expect(sent.some((line) => line.includes(key))).toBe(false)
    const logged = JSON.stringify(logs)
    expect(logged).not.toContain(stored.offer!.slice(0, 16))
    expect(logged).not.toContain(stored.answer!.slice(0, 16))
    expect(logged).not.toContain(id)
    expect(logs.filter((entry) => entry.id === id.slice(0, 8)).length).toBeGreaterThanOrEqual(3)
  })

  it('on a page without WebCrypto (plain http off localhost) sealing and opening say so, typed', async () => {
    const sealed = await seal('offer', 'x', KEY, OFFER)
    const real = globalThis.crypto
    vi.stubGlobal('crypto', { getRandomValues: real.getRandomValues.bind(real) })
    try {
      await expectRelayError(seal('offer', 'x', KEY, OFFER), 'relay-insecure-page')
      await expectRelayError(open('offer', 'x', KEY, sealed), 'relay-insecure-page')
    } finally {
      vi.unstubAllGlobals()
    }
    expect(await open('offer', 'x', KEY, sealed)).toBe(OFFER)
  })

  it('a wrong key, altered ciphertext or an offer handed back as the answer is relay-damaged', async () => {
    const { id, key } = await client.publishOffer(OFFER, 600)
    const other = await client.publishOffer(OFFER, 600)
    await expectRelayError(client.fetchOffer(id, other.key), 'relay-damaged')

    const tampering = createRelayClient({
      endpoint: url,
      fetch: async (input, init) => {
        const response = await fetch(input, init)
        const body = (await response.json()) as { offer: string }
        const flipped = body.offer.slice(0, 30) + (body.offer[30] === 'A' ? 'B' : 'A') + body.offer.slice(31)
        return new Response(JSON.stringify({ offer: flipped }), { status: response.status })
      },
    })
    await expectRelayError(tampering.fetchOffer(id, key), 'relay-damaged')

    // A relay that reflects the host's own offer as the "answer".
    const offer = store.peek(id)!.offer!
    const post = await fetch(`${url}/v1/invites/${id}/answer`, { method: 'POST', body: JSON.stringify({ answer: offer }) })
    expect(post.status).toBe(204)
    await expectRelayError(client.waitForAnswer(id, key), 'relay-damaged')

    // An answer sealed for one invite does not open under another id, even with the key.
    const sealed = await seal('answer', id, key, ANSWER)
    expect(await open('answer', id, key, sealed)).toBe(ANSWER)
    await expectRelayError(open('answer', other.id, key, sealed), 'relay-damaged')
  })

  it('admits one answer per invite (409)', async () => {
    const { id, key } = await client.publishOffer(OFFER, 600)
    await client.postAnswer(id, key, ANSWER)
    const error = await expectRelayError(client.postAnswer(id, key, 'second guest'), 'relay-answered')
    expect(error.status).toBe(409)
  })

  it('expires invites (410), then forgets them (404)', async () => {
    const { id, key } = await client.publishOffer(OFFER, 60)
    clock += 60_000
    await expectRelayError(client.fetchOffer(id, key), 'relay-expired')
    await expectRelayError(client.postAnswer(id, key, ANSWER), 'relay-expired')
    await expectRelayError(client.waitForAnswer(id, key), 'relay-expired')
    const raw = await fetch(`${url}/v1/invites/${id}`)
    expect(raw.status).toBe(410)
    expect(await raw.json()).toEqual({ error: 'expired', message: expect.any(String) })
    expect(store.peek(id)!.offer).toBeUndefined()
    clock += 10 * 60_000
    await expectRelayError(client.fetchOffer(id, key), 'relay-not-found')
  })

  it('unknown and malformed ids are 404', async () => {
    const { key } = await client.publishOffer(OFFER, 600)
    const error = await expectRelayError(client.fetchOffer('A'.repeat(22), key), 'relay-not-found')
    expect(error.status).toBe(404)
    for (const path of ['/v1/invites/short', '/v1/invites/short/answer', '/nope']) {
      const response = await fetch(`${url}${path}`)
      expect(response.status).toBe(404)
      expect(((await response.json()) as { error: string }).error).toBe('not-found')
    }
  })

  it('refuses bodies over the limit (413) and malformed requests (400)', async () => {
    const big = await fetch(`${url}/v1/invites`, { method: 'POST', body: JSON.stringify({ offer: 'A'.repeat(20_000), ttlSeconds: 60 }) })
    expect(big.status).toBe(413)
    expect(((await big.json()) as { error: string }).error).toBe('too-large')
    const chunked = await fetch(`${url}/v1/invites`, {
      method: 'POST',
      body: new ReadableStream({
        start(controller) {
          for (let i = 0; i < 5; i++) controller.enqueue(new TextEncoder().encode('A'.repeat(8_000)))
          controller.close()
        },
      }),
      duplex: 'half',
    } as RequestInit)
    expect(chunked.status).toBe(413)
    await expectRelayError(client.publishOffer('x'.repeat(20_000), 60), 'relay-too-large')

    const bad = [
      'not json',
      JSON.stringify([1]),
      JSON.stringify({ offer: 'has spaces', ttlSeconds: 60 }),
      JSON.stringify({ offer: 'AAAA', ttlSeconds: 0 }),
      JSON.stringify({ offer: 'AAAA', ttlSeconds: 3601 }),
      JSON.stringify({ offer: 'AAAA', ttlSeconds: 1.5 }),
    ]
    for (const body of bad) expect((await fetch(`${url}/v1/invites`, { method: 'POST', body })).status).toBe(400)
    await expectRelayError(client.publishOffer(OFFER, 7200), 'relay-bad-request')
  })

  it('long-polls: 204 when nothing came, abortable, and CORS is open', async () => {
    const { id, key } = await client.publishOffer(OFFER, 600)
    const empty = await fetch(`${url}/v1/invites/${id}/answer?wait=0`)
    expect(empty.status).toBe(204)
    expect(empty.headers.get('access-control-allow-origin')).toBe('*')
    expect((await fetch(`${url}/v1/invites/${id}/answer?wait=soon`)).status).toBe(400)

    const controller = new AbortController()
    const waiting = client.waitForAnswer(id, key, { signal: controller.signal })
    setTimeout(() => controller.abort(), 50)
    const t0 = Date.now()
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' })
    expect(Date.now() - t0).toBeLessThan(1_000)

    const health = await fetch(`${url}/v1/health`)
    expect(await health.json()).toEqual({ ok: true, maxTtlSeconds: 3600, maxBodyBytes: 16 * 1024, maxWaitSeconds: 30 })

    const preflight = await fetch(`${url}/v1/invites`, {
      method: 'OPTIONS',
      headers: { origin: 'https://viewer.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*')
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST')
    expect(preflight.headers.get('access-control-allow-headers')).toContain('content-type')
  })
})

describe('relay limits', () => {
  let limited: { relay: RelayServer; url: string }
  let capped: { relay: RelayServer; url: string }
  let broken: { relay: RelayServer; url: string }

  beforeAll(async () => {
    limited = await started({ rateLimit: { capacity: 3, refillPerSecond: 1 } })
    capped = await started({ store: new MemoryStore({ maxEntries: 2 }), rateLimit: false })
    const failing: RelayStore = {
      putIfAbsent: () => Promise.reject(new Error('store down')),
      get: () => Promise.reject(new Error('store down')),
      setAnswerOnce: () => Promise.reject(new Error('store down')),
      expire: () => Promise.resolve(),
      close: () => Promise.resolve(),
    }
    broken = await started({ store: failing, rateLimit: false })
  })
  afterAll(() => Promise.all([limited.relay.close(), capped.relay.close(), broken.relay.close()]))

  it('rate-limits each client address (429 with Retry-After), then refills', async () => {
    const probe = () => fetch(`${limited.url}/v1/invites/${'B'.repeat(22)}`)
    for (let i = 0; i < 3; i++) expect((await probe()).status).toBe(404)
    const refused = await probe()
    expect(refused.status).toBe(429)
    expect(refused.headers.get('retry-after')).toBe('1')
    const client = createRelayClient({ endpoint: limited.url })
    const error = await expectRelayError(client.publishOffer(OFFER, 60), 'relay-rate-limited')
    expect(error.retryAfterSeconds).toBe(1)
    clock += 2_000
    expect((await probe()).status).toBe(404)
  })

  it('keys IPv6 clients by /64 and unwraps IPv4-mapped addresses', () => {
    expect(clientKey('203.0.113.7')).toBe('203.0.113.7')
    expect(clientKey('::ffff:203.0.113.7')).toBe('203.0.113.7')
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe(clientKey('2001:0db8:0001:0002:ffff:1:2:3'))
    expect(clientKey('2001:db8:1:2::1')).not.toBe(clientKey('2001:db8:1:3::1'))
    expect(clientKey('::1')).toBe('0:0:0:0::/64')
  })

  it('caps stored invites (503, relay-unavailable) until some expire', async () => {
    const client = createRelayClient({ endpoint: capped.url })
    await client.publishOffer(OFFER, 60)
    await client.publishOffer(OFFER, 60)
    const error = await expectRelayError(client.publishOffer(OFFER, 60), 'relay-unavailable')
    expect(error.status).toBe(503)
    expect(error.retryAfterSeconds).toBe(30)
    clock += 60_000
    await client.publishOffer(OFFER, 60)
  })

  it('a failing store is 503, relay-unavailable', async () => {
    const client = createRelayClient({ endpoint: broken.url })
    await expectRelayError(client.publishOffer(OFFER, 60), 'relay-unavailable')
    await expectRelayError(client.fetchOffer('C'.repeat(22), 'A'.repeat(43)), 'relay-unavailable')
  })
})

describe('relay down or slow', () => {
  let silent: TcpServer
  let silentPort = 0
  let closedPort = 0
  const sockets = new Set<Socket>()

  beforeAll(async () => {
    const probe = createTcpServer()
    closedPort = await new Promise<number>((resolve) => probe.listen(0, '127.0.0.1', () => resolve((probe.address() as { port: number }).port)))
    await new Promise((resolve) => probe.close(resolve))
    // Accepts connections and never answers.
    silent = createTcpServer((socket) => void sockets.add(socket))
    silentPort = await new Promise<number>((resolve) => silent.listen(0, '127.0.0.1', () => resolve((silent.address() as { port: number }).port)))
  })
  afterAll(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => silent.close(resolve))
  })

  it('a closed port is relay-unavailable at once', async () => {
    const client = createRelayClient({ endpoint: `http://127.0.0.1:${closedPort}` })
    const t0 = Date.now()
    await expectRelayError(client.publishOffer(OFFER, 60), 'relay-unavailable')
    expect(Date.now() - t0).toBeLessThan(2_000)
  })

  it('a relay that does not answer is relay-unavailable after timeoutMs', async () => {
    const client = createRelayClient({ endpoint: `http://127.0.0.1:${silentPort}`, timeoutMs: 200 })
    const t0 = Date.now()
    const error = await expectRelayError(client.fetchOffer('E'.repeat(22), 'A'.repeat(43)), 'relay-unavailable')
    expect(error.message).toContain('200 ms')
    expect(Date.now() - t0).toBeLessThan(2_000)
  })
})

describe('relay links', () => {
  const id = 'AbCdEfGhIjKlMnOpQrStUv'
  const key = 'k'.repeat(42) + 'A'

  it('formats #session=r.<id>.<key> and parses it back from what people paste', () => {
    const fragment = relayFragment(id, key)
    expect(fragment).toBe(`#session=r.${id}.${key}`)
    for (const text of [fragment, fragment.slice(1), `r.${id}.${key}`, `https://viewer.example/a?b=c${fragment}`, ` https://viewer.example/\n${fragment} `]) {
      expect(parseRelayFragment(text)).toEqual({ id, key })
    }
    expect(relayInviteUrl('https://viewer.example/app#x', id, key)).toBe(`https://viewer.example/app${fragment}`)
  })

  it('never mistakes a zero-infra invite for a relay link, nor the other way round', () => {
    const blob = encodeInvite({ inviteId: 'inv1', sessionId: 'ses1', expiresAt: clock + 60_000, signal: new Uint8Array([1, 2, 3]) })
    expect(parseRelayFragment(`#session=${blob}`)).toBeNull()
    expect(parseRelayFragment(blob)).toBeNull()
    expect(() => decodeInvite(inviteBlobFrom(relayFragment(id, key)))).toThrow(InviteError)
    try {
      decodeInvite(inviteBlobFrom(relayFragment(id, key)))
    } catch (error) {
      expect((error as InviteError).code).toBe('invite-foreign')
    }
    for (const text of ['', '#session=r.', `#session=r.${id}`, `#session=r.${id}.${key}.x`, `#session=r.${id}x.${key}`, `#session=r.${id}.${key.slice(1)}`, `#other=r.${id}.${key}`]) {
      expect(parseRelayFragment(text)).toBeNull()
    }
  })
})
