import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRelayServer, type RelayServer } from '../../relay/server.js'
import { createRelayClient } from '../../src/index.js'
import { TestSession, diagnostics, type TestPeer } from '../helpers/session.js'

/** The relay answers over real sockets: let virtual time creep while real I/O completes. */
async function until(s: TestSession, done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400 && !done(); i++) {
    await s.settle(5)
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
})
