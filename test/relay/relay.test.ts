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
import { createRelayClient, parseRelayFragment, RelayError, relayFragment, relayInviteUrl, type RelayClient, type RelayErrorCode, type RelayPublished } from '../../src/relay/index.js'
import { answerMac, open, seal } from '../../src/relay/seal.js'

/** What a real offer carries, so a leak would show. */
const OFFER = 'v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\na=candidate:1 1 udp 2122260223 127.0.0.1 54400 typ host\r\na=fingerprint:sha-256 AB:CD'
/** A valid 128-bit key (base64url). */
const KEY = 'AAECAwQFBgcICQoLDA0ODw'
const ANSWER = 'v=0\r\na=candidate:2 1 udp 2122260223 127.0.0.1 54401 typ host\r\na=ice-ufrag:answer'

let clock = 1_800_000_000_000
const now = () => clock
const META = { from: { id: 'h1', name: 'Ada' }, access: 'editor' as const }

function publishOne(client: RelayClient, offer = OFFER, ttlSeconds = 600): Promise<RelayPublished> {
  return client.publish([offer], META, ttlSeconds)
}

/** Waits (by long-polling) until the relay has something for these invites. */
async function watchUntil(client: RelayClient, invites: RelayPublished[]) {
  for (;;) {
    const result = await client.watch(invites, { waitSeconds: 1 })
    if (result) return result
  }
}

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

  it('carries an offer and an answer end to end; the relay sees only ciphertext, and deletes each once used', async () => {
    const invite = await publishOne(client)
    const { id, key } = invite
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/)

    const guest = createRelayClient({ endpoint: url, timeoutMs: 2_000 })
    const ref = parseRelayFragment(relayInviteUrl('https://viewer.example/app?x=1#old', id, key))!
    expect(ref).toEqual({ id, key })
    const seat = await guest.fetchOffer(ref.id, ref.key)
    expect(seat).toMatchObject({ offer: OFFER, slot: 0, seats: 1, open: 1, meta: META })
    const sealedOffer = store.peek(id)!.live!.seats[0]!.offer!
    await guest.postAnswer(ref.id, ref.key, seat.slot, ANSWER)
    // The offer is gone as soon as its seat is answered; the answer waits, sealed.
    const stored = store.peek(id)!.live!.seats[0]!
    expect(stored.offer).toBeUndefined()
    const sealedAnswer = stored.answer!
    for (const value of [sealedOffer, sealedAnswer]) {
      expect(value).toMatch(/^[A-Za-z0-9_-]+$/)
      for (const leak of ['a=candidate', '127.0.0.1', OFFER, ANSWER, key]) expect(value).not.toContain(leak)
    }
    const result = await watchUntil(client, [invite])
    expect(result.gone).toEqual([])
    expect(result.answers).toHaveLength(1)
    expect(await client.openAnswer(invite, result.answers[0]!.sealed)).toBe(ANSWER)
    // Kept until the host acknowledges it (a reply can be lost: asked again, it comes again),
    // then deleted: nothing is kept until expiry.
    expect((await client.watch([invite], { waitSeconds: 0 }))!.answers.map((a) => a.slot)).toEqual([0])
    expect(await client.watch([{ ...invite, ack: [0] }], { waitSeconds: 0 })).toBeNull()
    expect(store.peek(id)!.live!.seats[0]!.answer).toBeUndefined()

    // The key never leaves the pages; the host's token goes only in request bodies, never in a URL a log could keep.
    expect(sent.some((line) => line.includes(key))).toBe(false)
    expect(sent.some((line) => line.split(' ')[0]!.includes(invite.token))).toBe(false)
    const logged = JSON.stringify(logs)
    for (const secret of [sealedOffer.slice(0, 16), sealedAnswer.slice(0, 16), id, invite.token]) expect(logged).not.toContain(secret)
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

  it('a wrong key or altered ciphertext is relay-damaged; an answer is bound to its invite', async () => {
    const { id, key } = await publishOne(client)
    const other = await publishOne(client)
    await expectRelayError(client.fetchOffer(id, other.key), 'relay-damaged')

    const tampering = createRelayClient({
      endpoint: url,
      fetch: async (input, init) => {
        const response = await fetch(input, init)
        const body = (await response.json()) as { offer: string }
        const flipped = body.offer.slice(0, 30) + (body.offer[30] === 'A' ? 'B' : 'A') + body.offer.slice(31)
        return new Response(JSON.stringify({ ...body, offer: flipped }), { status: response.status })
      },
    })
    await expectRelayError(tampering.fetchOffer(id, key), 'relay-damaged')

    // An answer sealed for one invite does not open under another id, even with the key; nor does an offer as an answer.
    const sealed = await seal('answer', id, key, ANSWER)
    expect(await open('answer', id, key, sealed)).toBe(ANSWER)
    await expectRelayError(open('answer', other.id, key, sealed), 'relay-damaged')
    await expectRelayError(open('answer', id, key, await seal('offer', '', key, OFFER)), 'relay-damaged')
  })

  it('a stranger who knows only the id cannot burn the invite: unauthenticated answers are refused (403) and nothing is stored', async () => {
    const invite = await publishOne(client)
    const { id, key } = invite
    const bogus = await seal('answer', id, KEY, 'bogus')
    const attempts = [
      { answer: bogus, slot: 0, mac: await answerMac(KEY, id, 0, bogus) }, // MAC under another key
      { answer: bogus, slot: 0, mac: 'A'.repeat(43) },
      { answer: bogus, slot: 0 }, // no MAC (400)
    ]
    for (const body of attempts) {
      const response = await fetch(`${url}/v1/invites/${id}/answer`, { method: 'POST', body: JSON.stringify(body) })
      expect([400, 403]).toContain(response.status)
    }
    // A replay of a real answer's MAC onto other bytes fails too.
    const real = await seal('answer', id, key, ANSWER)
    const mac = await answerMac(key, id, 0, real)
    const replayed = await fetch(`${url}/v1/invites/${id}/answer`, { method: 'POST', body: JSON.stringify({ answer: bogus, slot: 0, mac }) })
    expect(replayed.status).toBe(403)
    expect(((await replayed.json()) as { error: string }).error).toBe('unauthenticated')
    expect(store.peek(id)!.live!.seats[0]).toMatchObject({ answer: undefined, offer: expect.any(String) })
    expect(await client.watch([invite], { waitSeconds: 0 })).toBeNull()
    // The real guest is still served.
    const guest = createRelayClient({ endpoint: url })
    const seat = await guest.fetchOffer(id, key)
    await guest.postAnswer(id, key, seat.slot, ANSWER)
    const result = await watchUntil(client, [invite])
    expect(await client.openAnswer(invite, result.answers[0]!.sealed)).toBe(ANSWER)
  })

  it('admits one answer per seat (409); a room link hands each guest its own seat', async () => {
    const single = await publishOne(client)
    await client.postAnswer(single.id, single.key, 0, ANSWER)
    const error = await expectRelayError(client.postAnswer(single.id, single.key, 0, 'second guest'), 'relay-answered')
    expect(error.status).toBe(409)
    await expectRelayError(client.fetchOffer(single.id, single.key), 'relay-answered')

    const room = await client.publish(['offer-0', 'offer-1', 'offer-2'], META, 600)
    const guests = await Promise.all([0, 1, 2].map(() => client.fetchOffer(room.id, room.key)))
    expect(guests.map((g) => g.slot).sort()).toEqual([0, 1, 2])
    expect(guests.map((g) => g.offer).sort()).toEqual(['offer-0', 'offer-1', 'offer-2'])
    for (const g of guests) await client.postAnswer(room.id, room.key, g.slot, `answer-${g.slot}`)
    await expectRelayError(client.fetchOffer(room.id, room.key), 'relay-answered')
    const result = await watchUntil(client, [room, single])
    expect(result.answers.map((a) => `${a.id === room.id ? 'room' : 'single'}:${a.slot}`).sort()).toEqual(['room:0', 'room:1', 'room:2', 'single:0'])
  })

  it('one long-poll watches many invites, answers as soon as one is answered, and reports revoked ones', async () => {
    const invites = await Promise.all(Array.from({ length: 8 }, () => publishOne(client)))
    const watching = client.watch(invites, { waitSeconds: 10 })
    await client.postAnswer(invites[6]!.id, invites[6]!.key, 0, ANSWER)
    const result = await watching
    expect(result?.answers.map((a) => a.id)).toEqual([invites[6]!.id])

    // Revocation needs the host's token; a guest with the link key cannot revoke.
    const forged = { ...invites[2]!, token: invites[3]!.token }
    await expectRelayError(client.revoke(forged), 'relay-refused')
    await client.revoke(invites[2]!)
    await expectRelayError(client.fetchOffer(invites[2]!.id, invites[2]!.key), 'relay-revoked')
    const after = await client.watch(invites, { waitSeconds: 0 })
    expect(after?.gone).toEqual([{ id: invites[2]!.id, reason: 'revoked' }])
    expect(store.peek(invites[2]!.id)!.live).toBeUndefined()
    // A wrong token learns nothing: the invite is "not found" to it, and its answers stay.
    const wrongToken = { ...invites[4]!, token: invites[5]!.token }
    expect(await client.watch([wrongToken], { waitSeconds: 0 })).toEqual({ answers: [], gone: [{ id: wrongToken.id, reason: 'not-found' }] })
  })

  it('expires invites (410), then forgets them (404)', async () => {
    const invite = await publishOne(client, OFFER, 60)
    const { id, key } = invite
    clock += 60_000
    await expectRelayError(client.fetchOffer(id, key), 'relay-expired')
    await expectRelayError(client.postAnswer(id, key, 0, ANSWER), 'relay-expired')
    expect(await client.watch([invite], { waitSeconds: 0 })).toEqual({ answers: [], gone: [{ id, reason: 'expired' }] })
    const raw = await fetch(`${url}/v1/invites/${id}`)
    expect(raw.status).toBe(410)
    expect(await raw.json()).toEqual({ error: 'expired', message: expect.any(String) })
    expect(store.peek(id)!.live).toBeUndefined()
    clock += 10 * 60_000
    await expectRelayError(client.fetchOffer(id, key), 'relay-not-found')
  })

  it('unknown and malformed ids are 404', async () => {
    const { key } = await publishOne(client)
    const error = await expectRelayError(client.fetchOffer('A'.repeat(22), key), 'relay-not-found')
    expect(error.status).toBe(404)
    expect(error.message).not.toMatch(/incomplete/)
    for (const path of ['/v1/invites/short', '/v1/invites/short/answer', '/nope']) {
      const response = await fetch(`${url}${path}`)
      expect(response.status).toBe(404)
      expect(((await response.json()) as { error: string }).error).toBe('not-found')
    }
  })

  it('refuses bodies over the limit (413) and malformed requests (400)', async () => {
    const big = await fetch(`${url}/v1/invites/${'A'.repeat(22)}/answer`, { method: 'POST', body: JSON.stringify({ answer: 'A'.repeat(20_000) }) })
    expect(big.status).toBe(413)
    expect(((await big.json()) as { error: string }).error).toBe('too-large')
    const chunked = await fetch(`${url}/v1/invites`, {
      method: 'POST',
      body: new ReadableStream({
        start(controller) {
          for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode('A'.repeat(8_000)))
          controller.close()
        },
      }),
      duplex: 'half',
    } as RequestInit)
    expect(chunked.status).toBe(413)
    await expectRelayError(publishOne(client, 'x'.repeat(20_000), 60), 'relay-too-large')

    const valid = { offers: ['AAAA'], meta: 'AAAA', hostKey: KEY + KEY.slice(0, 21), answerKey: KEY + KEY.slice(0, 21), ttlSeconds: 60 }
    const bad = [
      'not json',
      JSON.stringify([1]),
      JSON.stringify({ ...valid, offers: ['has spaces'] }),
      JSON.stringify({ ...valid, offers: [] }),
      JSON.stringify({ ...valid, offers: Array(17).fill('AAAA') }),
      JSON.stringify({ ...valid, hostKey: undefined }),
      JSON.stringify({ ...valid, answerKey: 'short' }),
      JSON.stringify({ ...valid, ttlSeconds: 0 }),
      JSON.stringify({ ...valid, ttlSeconds: 3601 }),
      JSON.stringify({ ...valid, ttlSeconds: 1.5 }),
    ]
    for (const body of bad) expect((await fetch(`${url}/v1/invites`, { method: 'POST', body })).status).toBe(400)
    expect((await fetch(`${url}/v1/invites`, { method: 'POST', body: JSON.stringify(valid) })).status).toBe(201)
    await expectRelayError(publishOne(client, OFFER, 7200), 'relay-bad-request')
  })

  it('long-polls: 204 when nothing came, abortable, long waits cut to the maximum, and CORS is open', async () => {
    const invite = await publishOne(client)
    const body = JSON.stringify({ invites: [{ id: invite.id, token: invite.token }] })
    const empty = await fetch(`${url}/v1/answers?wait=0`, { method: 'POST', body })
    expect(empty.status).toBe(204)
    expect(empty.headers.get('access-control-allow-origin')).toBe('*')
    expect((await fetch(`${url}/v1/answers?wait=soon`, { method: 'POST', body })).status).toBe(400)

    const controller = new AbortController()
    const waiting = client.watch([invite], { signal: controller.signal })
    setTimeout(() => controller.abort(), 50)
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' })

    const health = await fetch(`${url}/v1/health`)
    expect(await health.json()).toEqual({ ok: true, maxTtlSeconds: 3600, maxBodyBytes: 16 * 1024, maxWaitSeconds: 30, maxSeats: 16, maxWatched: 64 })

    const preflight = await fetch(`${url}/v1/invites/${invite.id}`, {
      method: 'OPTIONS',
      headers: { origin: 'https://viewer.example', 'access-control-request-method': 'DELETE', 'access-control-request-headers': 'authorization' },
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*')
    expect(preflight.headers.get('access-control-allow-methods')).toContain('DELETE')
    expect(preflight.headers.get('access-control-allow-headers')).toContain('authorization')
  })
})

describe('relay limits', () => {
  let limited: { relay: RelayServer; url: string }
  let capped: { relay: RelayServer; url: string }
  let broken: { relay: RelayServer; url: string }
  let quick: { relay: RelayServer; url: string }

  beforeAll(async () => {
    limited = await started({ rateLimit: { capacity: 3, refillPerSecond: 1 } })
    capped = await started({ store: new MemoryStore({ maxEntries: 2 }), rateLimit: false })
    const down = () => Promise.reject(new Error('store down'))
    const failing: RelayStore = {
      create: down,
      read: down,
      claim: down,
      answer: down,
      readAnswers: down,
      dropAnswers: down,
      revoke: down,
      takeToken: down,
      ping: down,
      expire: () => Promise.resolve(),
      close: () => Promise.resolve(),
    }
    broken = await started({ store: failing, rateLimit: false })
    quick = await started({ maxWaitSeconds: 1, rateLimit: false })
  })
  afterAll(() => Promise.all([limited.relay.close(), capped.relay.close(), broken.relay.close(), quick.relay.close()]))

  it('rate-limits each client address (429 with Retry-After), then refills', async () => {
    const probe = () => fetch(`${limited.url}/v1/invites/${'B'.repeat(22)}`)
    for (let i = 0; i < 3; i++) expect((await probe()).status).toBe(404)
    const refused = await probe()
    expect(refused.status).toBe(429)
    expect(refused.headers.get('retry-after')).toBe('1')
    const client = createRelayClient({ endpoint: limited.url })
    const error = await expectRelayError(publishOne(client, OFFER, 60), 'relay-rate-limited')
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
    await publishOne(client, OFFER, 60)
    await publishOne(client, OFFER, 60)
    const error = await expectRelayError(publishOne(client, OFFER, 60), 'relay-unavailable')
    expect(error.status).toBe(503)
    expect(error.retryAfterSeconds).toBe(30)
    clock += 60_000
    await publishOne(client, OFFER, 60)
  })

  it('a failing store is 503, relay-unavailable, and health says so', async () => {
    const client = createRelayClient({ endpoint: broken.url })
    await expectRelayError(publishOne(client, OFFER, 60), 'relay-unavailable')
    await expectRelayError(client.fetchOffer('C'.repeat(22), 'A'.repeat(43)), 'relay-unavailable')
    const health = await fetch(`${broken.url}/v1/health`)
    expect(health.status).toBe(503)
    expect(((await health.json()) as { error: string }).error).toBe('store-unavailable')
  })

  it('a wait beyond the maximum is cut to it, not refused', async () => {
    const client = createRelayClient({ endpoint: quick.url })
    const invite = await publishOne(client)
    const response = await fetch(`${quick.url}/v1/answers?wait=99999`, { method: 'POST', body: JSON.stringify({ invites: [{ id: invite.id, token: invite.token }] }) })
    expect(response.status).toBe(204)
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
    await expectRelayError(publishOne(client, OFFER, 60), 'relay-unavailable')
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
