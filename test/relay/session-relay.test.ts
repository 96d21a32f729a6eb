import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRelayServer, type RelayServer } from '../../relay/server.js'
import { createRelayClient } from '../../src/index.js'
import { TestSession, diagnostics, type TestPeer } from '../helpers/session.js'

/** The relay answers over real sockets: let virtual time creep while real I/O completes. */
async function until(s: TestSession, done: () => boolean, what: string, stepMs = 5): Promise<void> {
  for (let i = 0; i < 400 && !done(); i++) {
    await s.settle(stepMs)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  if (!done()) throw new Error(`timed out waiting for ${what}`)
}

describe('one-click invites through the relay', () => {
  let relay: RelayServer
  let endpoint: string
  beforeAll(async () => {
    relay = createRelayServer({ log: () => undefined })
    endpoint = (await relay.listen(0, '127.0.0.1')).url
  })
  afterAll(() => relay.close())

  it('joins with no answer code pasted, and the link is short', async () => {
    const s = new TestSession()
    const host = s.peer('host', { relay: createRelayClient({ endpoint }) })
    await host.controller.start()
    const guest = s.peer('g1', { relay: createRelayClient({ endpoint }) })
    const invite = await host.controller.createInvite()
    expect(invite.relayed).toBe(true)
    expect(invite.fragment).toMatch(/^#session=r\./)
    const joined = await guest.controller.join(invite.url)
    expect(joined.relayed).toBe(true)
    await until(s, () => guest.controller.getState() === 'connected', 'the relayed join')
    expect(host.controller.getPeers().map((p: { name: string }) => p.name)).toEqual(['host', 'g1'])
  })

  it('falls back to the paste flow when the relay is down', async () => {
    const s = new TestSession()
    const host: TestPeer = s.peer('host', { relay: createRelayClient({ endpoint: 'http://127.0.0.1:9/', timeoutMs: 500 }) })
    await host.controller.start()
    const invite = await host.controller.createInvite()
    expect(invite.relayed).toBeUndefined()
    expect(invite.relayError).toBeTruthy()
    expect(invite.fragment).toMatch(/^#session=[A-Za-z0-9_-]+$/)
    expect(diagnostics(host, 'relay-unavailable')).toHaveLength(1)
    const guest = s.peer('g1')
    const { answerCode, relayed } = await guest.controller.join(invite.url)
    expect(relayed).toBe(false)
    const accepted = host.controller.acceptAnswer(answerCode)
    await s.settle()
    await accepted
    await s.settle()
    expect(guest.controller.getState()).toBe('connected')
  })

  it('a room link seats three guests who previewed it, is listed with its seats, and once revoked refuses a fourth in words', async () => {
    const s = new TestSession()
    const host = s.peer('host', { relay: createRelayClient({ endpoint }) })
    await host.controller.start()
    const room = await host.controller.createInvite({ seats: 4, ttlMs: 120_000 })
    expect(room).toMatchObject({ relayed: true, seats: 4 })
    const guests = ['g1', 'g2', 'g3'].map((name) => s.peer(name, { relay: createRelayClient({ endpoint }) }))
    for (const guest of guests) {
      expect(await guest.controller.previewInvite(room.url)).toMatchObject({ invitedBy: 'host', access: 'editor', seats: 4, relayed: true })
      expect((await guest.controller.join(room.url)).relayed).toBe(true)
    }
    await until(s, () => guests.every((g) => g.controller.getState() === 'connected'), 'three guests seated')
    expect(host.controller.listInvites()).toEqual([expect.objectContaining({ inviteId: room.inviteId, status: 'open', seats: 4, seated: 3 })])
    await host.controller.revokeInvite(room.inviteId)
    expect(host.controller.listInvites()[0]).toMatchObject({ status: 'revoked', seated: 3 })
    const late = s.peer('g4', { relay: createRelayClient({ endpoint }) })
    await expect(late.controller.join(room.url)).rejects.toMatchObject({ code: 'relay-revoked', message: expect.stringMatching(/host has withdrawn/) })
    expect(late.controller.getState()).toBe('idle')
    const changes = host.events.filter((e) => e.type === 'session-invite-changed').map((e) => e.payload as { status: string; seated: number })
    expect(changes.map((c) => `${c.status}:${c.seated}`)).toEqual(['open:0', 'open:0', 'open:1', 'open:2', 'open:3', 'revoked:3'])
    expect(changes.every((c) => !('code' in c) && !('url' in c))).toBe(true)
  })

  it('a host that cannot reach the relay says so with a growing backoff; its guest hears the answer is unclaimed and gets its code', async () => {
    const s = new TestSession()
    const cutOff: typeof fetch = async (input, init) => (String(input).includes('/v1/answers') ? Promise.reject(new TypeError('network down')) : fetch(input, init))
    const host = s.peer('host', { relay: createRelayClient({ endpoint, fetch: cutOff }) })
    await host.controller.start()
    const invite = await host.controller.createInvite()
    const guest = s.peer('g1', { relay: createRelayClient({ endpoint }), relayPickupMs: 5_000 })
    // Virtual time moves 50 ms a step here: the host's backoff (about 1, 2, 4 s) and the pickup bound take seconds.
    const { answerCode, relayed } = await guest.controller.join(invite.url)
    expect(relayed).toBe(true)
    await until(s, () => guest.events.some((e) => e.type === 'session-answer-unclaimed') && host.controller.getRelayState().state === 'unreachable', 'the unclaimed answer', 50)
    const unclaimed = guest.events.find((e) => e.type === 'session-answer-unclaimed')!.payload
    expect(unclaimed).toMatchObject({ answerCode, waitedMs: 5_000, message: expect.stringMatching(/host has not picked it up/) })
    const states = host.events.filter((e) => e.type === 'session-relay-state').map((e) => e.payload as { state: string; retryInMs?: number })
    expect(states.map((x) => x.state)).toEqual(expect.arrayContaining(['listening', 'retrying', 'unreachable']))
    const delays = states.flatMap((x) => (x.retryInMs === undefined ? [] : [x.retryInMs]))
    expect(delays.length).toBeGreaterThanOrEqual(3)
    expect(delays[2]!).toBeGreaterThan(delays[0]!)
    // The code still works by hand: the guest sends it, the host pastes it.
    const accepted = host.controller.acceptAnswer(answerCode)
    await s.settle()
    await accepted
    await until(s, () => guest.controller.getState() === 'connected', 'the pasted answer')
    expect(host.controller.getRelayState()).toMatchObject({ state: 'idle' })
  })

  it('a guest whose relay is down is told so in words for a guest, not for the host', async () => {
    const s = new TestSession()
    const host = s.peer('host', { relay: createRelayClient({ endpoint }) })
    await host.controller.start()
    const invite = await host.controller.createInvite()
    const guest = s.peer('g1', { relay: createRelayClient({ endpoint: 'http://127.0.0.1:9/', timeoutMs: 500 }) })
    const error = await guest.controller.join(invite.url).then(
      () => undefined,
      (e: unknown) => e as Error & { code: string },
    )
    expect(error).toMatchObject({ code: 'relay-unavailable' })
    expect(error!.message).toMatch(/cannot be reached.*ask the host to send you the invite code/)
    expect(error!.message).not.toMatch(/paste their answer|copy it to the guest/)
    expect(guest.controller.getState()).toBe('idle')
  })
})
