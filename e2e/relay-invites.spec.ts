/**
 * Relayed invites that never strand anyone, over real WebRTC in Chromium (loopback only,
 * see run-isolated.sh), with the real relay (relay/server.ts) and a real redis-server
 * started by this file on 127.0.0.1: two relay instances share one Redis. The host page
 * talks to instance A (or to a fault-injecting proxy in front of it), guests to B.
 */
import type { ChildProcess } from 'node:child_process'
import { createServer, request, type Server } from 'node:http'
import { RedisStore } from '../relay/redis-store.js'
import { createRelayServer, type RelayServer } from '../relay/server.js'
import { answerMac, newRelayKey, seal } from '../src/relay/seal.js'
import type { RelayListenerState, SessionInvite, SessionInviteInfo, SessionInvitePreview } from '../src/index.js'
import { freePort, startRedis, stopRedis } from '../test/relay/redis-server.js'
import { expect, test } from './fixtures.js'
import { fullMesh, rankOrder, SessionPage, sharedSessionPages, type Peer } from './pages/session.driver.js'

let redis: ChildProcess
let storeA: RedisStore
let storeB: RedisStore
let relayA: RelayServer
let relayB: RelayServer
let portA = 0
let urlA = ''
let urlB = ''
/** Requests to /v1/answers (the host's long-polls) now open at relay A. */
let openPolls = 0
/**
 * Every page and this process are one client address (127.0.0.1), whose bucket Redis shares
 * between both instances for the whole file: room for all of it. The 429 case injects its own.
 */
const RATE_LIMIT = { capacity: 2_000, refillPerSecond: 100 }

function startA(): Promise<void> {
  relayA = createRelayServer({ store: storeA, storePollMs: 100, rateLimit: RATE_LIMIT, log: () => undefined })
  relayA.server.on('request', (req, res) => {
    if (!req.url?.startsWith('/v1/answers')) return
    openPolls++
    res.once('close', () => openPolls--)
  })
  return relayA.listen(portA, '127.0.0.1').then(() => undefined)
}

test.beforeAll(async () => {
  const redisPort = await freePort()
  redis = await startRedis(redisPort)
  const url = `redis://127.0.0.1:${redisPort}`
  ;[storeA, storeB] = await Promise.all([RedisStore.connect({ url }), RedisStore.connect({ url })])
  portA = await freePort()
  urlA = `http://127.0.0.1:${portA}`
  await startA()
  relayB = createRelayServer({ store: storeB, storePollMs: 100, rateLimit: RATE_LIMIT, log: () => undefined })
  urlB = (await relayB.listen(0, '127.0.0.1')).url
})

test.afterAll(async () => {
  await Promise.all([relayA?.close(), relayB?.close()])
  await Promise.all([storeA?.close(), storeB?.close()])
  if (redis) await stopRedis(redis)
})

let hostPage: SessionPage
let guestPages: SessionPage[]
sharedSessionPages(4, (host, ...guests) => ([hostPage, guestPages] = [host, guests]))

async function expectHealthy(): Promise<void> {
  for (const page of [hostPage, ...guestPages]) await page.expectHealthy()
}

/** The relay listener's states the host page has reported, oldest first. */
async function relayStates(host: Peer): Promise<RelayListenerState[]> {
  return (await host.events('session-relay-state')).map((e) => e.payload as RelayListenerState)
}

/** Waits until the host's relay listener has reported a state matching `match` (as `count`-th such report or later). */
async function untilRelayState(host: Peer, match: Partial<RelayListenerState>, timeout = 20_000): Promise<RelayListenerState> {
  let found: RelayListenerState | undefined
  await expect
    .poll(
      async () => {
        found = [...(await relayStates(host))].reverse().find((s) => Object.entries(match).every(([k, v]) => (s as Record<string, unknown>)[k] === v))
        return found !== undefined
      },
      { timeout, intervals: [50] },
    )
    .toBe(true)
  return found!
}

async function listInvites(host: Peer): Promise<SessionInviteInfo[]> {
  const listed = await host.invites({ list: true })
  if (!listed.ok) throw new Error(listed.message)
  return listed.value as SessionInviteInfo[]
}

/** A host on relay A with one relayed invite open, and a guest on relay B (not joined). */
async function hostWithInvite(): Promise<{ host: Peer; guest: Peer; invite: SessionInvite }> {
  const host = await hostPage.add({ name: 'Hana', signalingEndpoint: urlA })
  const guest = await guestPages[0]!.add({ name: 'Gus', signalingEndpoint: urlB })
  await host.start()
  const invite = await host.invite()
  expect(invite.relayed).toBe(true)
  return { host, guest, invite }
}

function relayRef(fragment: string): { id: string; key: string } {
  const match = /^#session=r\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]+)$/.exec(fragment)
  if (!match) throw new Error(`Not a relay fragment: ${fragment}`)
  return { id: match[1]!, key: match[2]! }
}

test.describe('relayed invites that never strand anyone', () => {
  test('relay A stops mid-invite: the host keeps retrying and says so, the guest answers through B and hears it is not picked up, A restarts and both connect', async () => {
    const host = await hostPage.add({ name: 'Hana', signalingEndpoint: urlA })
    const guest = await guestPages[0]!.add({ name: 'Gus', signalingEndpoint: urlB, relayPickupMs: 1_500 })
    await host.start()
    const invite = await host.invite()
    expect(invite.relayed).toBe(true)
    await untilRelayState(host, { state: 'listening', watching: 1 })

    await relayA.close()
    const retrying = await untilRelayState(host, { state: 'retrying' })
    expect(retrying).toMatchObject({ failures: 1, error: 'relay-unavailable' })
    expect((retrying as { message: string }).message).toMatch(/cannot be reached.*Trying again in \d+ s/)

    // The guest reaches B; its answer waits in Redis while the host cannot reach A.
    const joined = await guest.joinFull(invite.url)
    expect(joined).toMatchObject({ ok: true, value: { relayed: true } })
    await guest.waitFor({ event: 'session-answer-unclaimed' })
    const [unclaimed] = await guest.events('session-answer-unclaimed')
    expect(unclaimed!.payload.answerCode).toBe(joined.ok ? joined.value.answerCode : '')
    expect(unclaimed!.payload.message).toMatch(/host has not picked it up.*copy your answer code and send it to the host/)
    expect((await guest.view()).state).toBe('joining')

    await startA()
    await Promise.all([host.waitFor({ state: 'connected' }, 45_000), guest.waitFor({ state: 'connected' }, 45_000)])
    const states = await relayStates(host)
    expect(states.map((s) => s.state)).toContain('retrying')
    expect(states.at(-1)?.state).toBe('idle') // the one invite is used: nothing left to listen for
    const [info] = await listInvites(host)
    expect(info).toMatchObject({ status: 'used', seated: 1, seats: 1 })
    await expectHealthy()
  })

  test('a 429 with Retry-After on the host long-poll: the host waits it out, says so, and the guest still comes in', async () => {
    const proxy = await faultProxy(urlA)
    try {
      const host = await hostPage.add({ name: 'Hana', signalingEndpoint: proxy.url })
      const guest = await guestPages[0]!.add({ name: 'Gus', signalingEndpoint: urlB })
      await host.start()
      const invite = await host.invite()
      expect(invite.relayed).toBe(true)
      await untilRelayState(host, { state: 'listening', watching: 1 })
      // The poll in flight and the next one are answered 429, Retry-After: 2.
      proxy.inject429(2, 2)
      const limited = await untilRelayState(host, { state: 'retrying', error: 'relay-rate-limited' })
      expect((limited as { retryInMs: number }).retryInMs).toBeGreaterThanOrEqual(2_000)
      expect(await guest.joinFull(invite.url)).toMatchObject({ ok: true, value: { relayed: true } })
      await Promise.all([host.waitFor({ state: 'connected' }, 30_000), guest.waitFor({ state: 'connected' }, 30_000)])
      expect(proxy.injected()).toBe(2)
      const failures = (await relayStates(host)).filter((s) => s.state === 'retrying' || s.state === 'unreachable')
      expect(failures.map((s) => (s as { error: string }).error)).toEqual(['relay-rate-limited', 'relay-rate-limited'])
      await expectHealthy()
    } finally {
      await proxy.close()
    }
  })

  test('eight open invites in one page share one long-poll; the eighth and the first both admit their guest at once', async () => {
    const host = await hostPage.add({ name: 'Hana', signalingEndpoint: urlA })
    await host.start()
    const invites: SessionInvite[] = []
    for (let i = 0; i < 8; i++) invites.push(await host.invite())
    expect(invites.every((i) => i.relayed)).toBe(true)
    await untilRelayState(host, { state: 'listening', watching: 8 })
    // One request held at the relay for all eight (earlier ones were replaced as invites were added).
    await expect.poll(() => openPolls, { intervals: [50] }).toBe(1)

    const late = await guestPages[0]!.add({ name: 'Eighth', signalingEndpoint: urlB })
    const early = await guestPages[1]!.add({ name: 'First', signalingEndpoint: urlB })
    expect(await late.joinFull(invites[7]!.url)).toMatchObject({ ok: true, value: { relayed: true } })
    expect(await early.joinFull(invites[0]!.url)).toMatchObject({ ok: true, value: { relayed: true } })
    await Promise.all([late.waitFor({ state: 'connected' }), early.waitFor({ state: 'connected' })])
    const list = await listInvites(host)
    expect(list.map((i) => i.status)).toEqual(['used', 'open', 'open', 'open', 'open', 'open', 'open', 'used'])
    await untilRelayState(host, { state: 'listening', watching: 6 })
    await expectHealthy()
  })

  test('a stranger who learns the id posts bogus and replayed answers: refused, nothing burns, the real guest joins', async () => {
    const { host, guest, invite } = await hostWithInvite()
    const { id } = relayRef(invite.fragment)
    // The stranger knows the id (from a log, a proxy) but not the key in the fragment.
    const strangerKey = newRelayKey()
    const bogus = await seal('answer', id, strangerKey, 'not an answer')
    const statuses: number[] = []
    for (const body of [
      { answer: bogus, slot: 0, mac: await answerMac(strangerKey, id, 0, bogus) },
      { answer: bogus, slot: 0, mac: 'A'.repeat(43) },
    ]) {
      statuses.push((await fetch(`${urlB}/v1/invites/${id}/answer`, { method: 'POST', body: JSON.stringify(body) })).status)
    }
    expect(statuses).toEqual([403, 403])
    const [info] = await listInvites(host)
    expect(info).toMatchObject({ status: 'open', seated: 0 })

    expect(await guest.joinFull(invite.url)).toMatchObject({ ok: true, value: { relayed: true } })
    await Promise.all([host.waitFor({ state: 'connected' }), guest.waitFor({ state: 'connected' })])
    expect((await host.events('session-invite-changed')).map((e) => e.payload.status)).not.toContain('burned')
    expect((await host.events('session-diagnostic')).map((e) => e.payload.code)).not.toContain('relay-answer-unusable')
    await expectHealthy()
  })

  test('an answer that authenticates but cannot be used burns the invite: the host is told at once, in words, and re-issues with one click', async () => {
    const { host, guest, invite } = await hostWithInvite()
    // Someone who holds the whole link (a guest on an outdated or broken page) sends garbage.
    const { id, key } = relayRef(invite.fragment)
    const garbage = await seal('answer', id, key, 'not an answer code')
    const posted = await fetch(`${urlB}/v1/invites/${id}/answer`, { method: 'POST', body: JSON.stringify({ answer: garbage, slot: 0, mac: await answerMac(key, id, 0, garbage) }) })
    expect(posted.status).toBe(204)
    await host.waitFor({ event: 'session-invite-changed' })
    await expect.poll(async () => (await listInvites(host))[0]?.status, { intervals: [50] }).toBe('burned')
    const [burned] = await listInvites(host)
    expect(burned!.message).toMatch(/cannot be used.*Re-issue the invite/)
    expect((await host.events('session-diagnostic')).map((e) => e.payload.code)).toContain('relay-answer-unusable')
    // The guest who comes now hears the link is spent, not silence.
    const late = await guest.joinFull(invite.url)
    expect(late).toMatchObject({ ok: false, name: 'RelayError' })
    expect((await guest.view()).state).toBe('idle')

    const reissued = await host.invites({ reissue: invite.inviteId })
    expect(reissued).toMatchObject({ ok: true, value: { relayed: true } })
    const fresh = (reissued.ok ? reissued.value : null) as SessionInvite
    expect(await guest.joinFull(fresh.url)).toMatchObject({ ok: true, value: { relayed: true } })
    await Promise.all([host.waitFor({ state: 'connected' }), guest.waitFor({ state: 'connected' })])
    expect((await listInvites(host)).map((i) => i.status)).toEqual(['burned', 'used'])
    await expectHealthy()
  })

  test('a room link seats three guests, each previewing who invites and until when; revoked, it refuses the fourth in words', async () => {
    const host = await hostPage.add({ name: 'Hana', signalingEndpoint: urlA, admit: 'accept' })
    await host.start()
    const room = await host.inviteWith({ seats: 4, ttlMs: 10 * 60_000 })
    expect(room).toMatchObject({ relayed: true, seats: 4 })
    const guests = await Promise.all(guestPages.slice(0, 3).map((page, i) => page.add({ name: `guest${i + 1}`, signalingEndpoint: urlB })))

    const previews = await Promise.all(guests.map((guest) => guest.invites({ preview: room.url })))
    for (const previewed of previews) {
      const preview = (previewed.ok ? previewed.value : previewed) as SessionInvitePreview
      // The invite carries its expiry in whole seconds.
      expect(preview).toMatchObject({ invitedBy: 'Hana', expiresAt: Math.floor(room.expiresAt / 1000) * 1000, access: 'editor', seats: 4, relayed: true })
      expect(preview.open).toBeGreaterThan(0)
    }
    for (const guest of guests) expect(await guest.joinFull(room.url)).toMatchObject({ ok: true, value: { relayed: true } })
    await Promise.all([host, ...guests].map((peer) => peer.waitFor({ state: 'connected' }, 30_000)))
    expect((await host.view()).peers.map((p) => p.name).sort()).toEqual(['Hana', 'guest1', 'guest2', 'guest3'])
    await expect.poll(async () => (await listInvites(host))[0], { intervals: [50] }).toMatchObject({ status: 'open', seated: 3, seats: 4 })

    expect(await host.invites({ revoke: room.inviteId })).toMatchObject({ ok: true })
    const [revoked] = await listInvites(host)
    expect(revoked).toMatchObject({ status: 'revoked', seated: 3 })
    expect(revoked!.message).toMatch(/withdrew/)

    // A second controller in a guest's page: another person following the same link.
    const fourth = await guestPages[0]!.add({ name: 'late', signalingEndpoint: urlB })
    const refused = await fourth.joinFull(room.url)
    expect(refused).toMatchObject({ ok: false, name: 'RelayError', code: 'relay-revoked' })
    expect(refused.ok ? '' : refused.message).toMatch(/host has withdrawn this invite/)
    expect((await fourth.view()).state).toBe('idle')
    expect((await host.view()).peers).toHaveLength(4)
    await expectHealthy()
  })

  test('a room link opened by three guests at the same moment: all are admitted, link to each other, and each one\'s change reaches everyone', async () => {
    const host = await hostPage.add({ name: 'Hana', signalingEndpoint: urlA, admit: 'accept' })
    await host.start()
    const room = await host.inviteWith({ seats: 3, ttlMs: 10 * 60_000 })
    const guests = await Promise.all(guestPages.slice(0, 3).map((page, i) => page.add({ name: `crowd${i + 1}`, signalingEndpoint: urlB })))
    // No join waits for another: the host admits them, and their links to each other form, all at once.
    const joined = await Promise.all(guests.map((guest) => guest.joinFull(room.url)))
    for (const outcome of joined) expect(outcome).toMatchObject({ ok: true, value: { relayed: true } })
    await Promise.all([host, ...guests].map((peer) => peer.waitFor({ state: 'connected' }, 30_000)))
    await fullMesh([host, ...guests])
    const ranked = await rankOrder(host)
    expect(ranked[0]).toBe(host.id)
    expect([...ranked.slice(1)].sort()).toEqual(guests.map((g) => g.id).sort())
    await expect.poll(async () => (await listInvites(host))[0], { intervals: [50] }).toMatchObject({ status: 'used', seated: 3, seats: 3 })

    const changes = await Promise.all(guests.map((guest, i) => guest.setKv(`crowd${i + 1}`, i + 1)))
    for (const [i, intentId] of changes.entries()) {
      expect(intentId).toBeTruthy()
      for (const peer of [host, ...guests].filter((p) => p !== guests[i])) await peer.waitFor({ applied: 'kv', intentId: intentId! })
    }
    const views = await Promise.all([host, ...guests].map((peer) => peer.view()))
    for (const view of views) {
      expect(view.kv, view.self.name).toMatchObject({ crowd1: 1, crowd2: 2, crowd3: 3 })
      expect(view.kv, view.self.name).toEqual(views[0]!.kv)
      expect(view.peers.find((p) => p.role === 'host')?.id, view.self.name).toBe(host.id)
    }
    await expectHealthy()
  })

  test('a relay without Redis restarts and forgets the invite: the host hears "lost" in words, re-issues with one click, and the guest joins', async () => {
    const memoryPort = await freePort()
    const startMemoryRelay = async () => {
      const relay = createRelayServer({ log: () => undefined })
      await relay.listen(memoryPort, '127.0.0.1')
      return relay
    }
    let memoryRelay = await startMemoryRelay()
    try {
      const endpoint = `http://127.0.0.1:${memoryPort}`
      const host = await hostPage.add({ name: 'Hana', signalingEndpoint: endpoint })
      const guest = await guestPages[0]!.add({ name: 'Gus', signalingEndpoint: endpoint })
      await host.start()
      const first = await host.invite()
      await untilRelayState(host, { state: 'listening', watching: 1 })
      await memoryRelay.close()
      memoryRelay = await startMemoryRelay()
      await expect.poll(async () => (await listInvites(host))[0]?.status, { timeout: 20_000, intervals: [50] }).toBe('lost')
      const [lost] = await listInvites(host)
      expect(lost!.message).toMatch(/relay no longer knows this invite.*invite code instead.*re-issue/)
      expect((await host.events('session-invite-changed')).map((e) => e.payload.status)).toContain('lost')
      // Its link is dead, in words for the guest.
      const dead = await guest.joinFull(first.url)
      expect(dead).toMatchObject({ ok: false, code: 'relay-not-found' })
      expect(dead.ok ? '' : dead.message).toMatch(/relay was restarted and lost it.*Ask the host for a new invite/)

      const reissued = await host.invites({ reissue: first.inviteId })
      expect(reissued).toMatchObject({ ok: true, value: { relayed: true } })
      const fresh = (reissued.ok ? reissued.value : null) as SessionInvite
      expect((await listInvites(host)).map((i) => i.status)).toEqual(['revoked', 'open'])
      expect(await guest.joinFull(fresh.url)).toMatchObject({ ok: true, value: { relayed: true } })
      await Promise.all([host.waitFor({ state: 'connected' }), guest.waitFor({ state: 'connected' })])
      await expectHealthy()
    } finally {
      await memoryRelay.close()
    }
  })
})

/** A proxy in front of a relay that can answer the host's long-polls 429 (Retry-After) on demand. */
async function faultProxy(target: string): Promise<{ url: string; inject429: (count: number, retryAfter: number) => void; injected: () => number; close: () => Promise<void> }> {
  let left = 0
  let retryAfter = 1
  let done = 0
  const inFlight = new Set<() => void>()
  const refuse = (res: import('node:http').ServerResponse) => {
    left--
    done++
    res.writeHead(429, { 'access-control-allow-origin': '*', 'access-control-expose-headers': 'retry-after', 'retry-after': String(retryAfter), 'content-type': 'application/json' })
    res.end(JSON.stringify({ error: 'rate-limited', message: 'injected' }))
  }
  const server: Server = createServer((req, res) => {
    const isPoll = req.url?.startsWith('/v1/answers') && req.method === 'POST'
    if (isPoll && left > 0) return refuse(res)
    const upstream = request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (reply) => {
      res.writeHead(reply.statusCode ?? 502, reply.headers)
      reply.pipe(res)
    })
    upstream.on('error', () => res.destroy())
    // A client gone (or the proxy closed) leaves no request held at the relay.
    res.once('close', () => upstream.destroy())
    req.pipe(upstream)
    if (!isPoll) return
    const cut = () => {
      upstream.destroy()
      refuse(res)
    }
    inFlight.add(cut)
    res.once('close', () => inFlight.delete(cut))
  })
  const port = await freePort()
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${port}`,
    inject429(count, seconds) {
      left = count
      retryAfter = seconds
      // The poll held right now is the first to get it.
      for (const cut of [...inFlight]) if (left > 0) cut()
    },
    injected: () => done,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
