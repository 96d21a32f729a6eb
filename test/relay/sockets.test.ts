/**
 * The relay's socket limits against the real server on loopback: one address holding
 * thousands of half-open or silent sockets does not lock out anyone else. The attacker
 * connects from 127.0.0.2 (all of 127/8 is loopback on Linux), honest clients from
 * 127.0.0.1. Waits are on socket events, never on sleeps.
 */
import { connect, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRelayServer, type RelayServer } from '../../relay/server.js'
import { createRelayClient } from '../../src/relay/index.js'

const ATTACKER = '127.0.0.2'
const SOCKETS = 2_000
const PER_ADDRESS = 32

let relay: RelayServer
let port = 0
let url = ''

beforeAll(async () => {
  relay = createRelayServer({ log: () => undefined, rateLimit: false, sockets: { maxConnectionsPerAddress: PER_ADDRESS, headersTimeoutMs: 1_500, requestTimeoutMs: 3_000 } })
  ;({ port, url } = await relay.listen(0, '127.0.0.1'))
})
afterAll(() => relay.close())

/** Opens a socket from the attacker's address; `partial` sends the start of a request and never finishes it. */
function hold(partial: boolean): Promise<Socket> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress: ATTACKER })
    socket.on('error', () => undefined)
    socket.once('connect', () => {
      if (partial) socket.write('POST /v1/invites HTTP/1.1\r\nHost: relay\r\n')
      resolve(socket)
    })
    socket.once('close', () => resolve(socket))
  })
}

describe('relay sockets', () => {
  it(`one address opening ${SOCKETS} half-open and silent sockets holds at most ${PER_ADDRESS}, each closed by the header timeout; honest clients are served meanwhile`, async () => {
    // The server's view: attacker sockets it accepted and kept (the cap runs before this listener).
    let kept = 0
    let mostKept = 0
    let allGone: () => void = () => undefined
    const gone = new Promise<void>((resolve) => (allGone = resolve))
    let flooding = true
    relay.server.on('connection', (socket) => {
      if (socket.destroyed || socket.remoteAddress !== ATTACKER) return
      mostKept = Math.max(mostKept, ++kept)
      socket.once('close', () => {
        if (--kept === 0 && !flooding) allGone()
      })
    })

    const client = createRelayClient({ endpoint: url })
    const meta = { from: { id: 'h', name: 'Host' }, access: 'editor' as const }
    const [attacker, invites] = await Promise.all([
      Promise.all(Array.from({ length: SOCKETS }, (_, i) => hold(i % 2 === 0))),
      // Honest clients on another address, during the flood.
      Promise.all(Array.from({ length: 20 }, () => client.publish(['AAAA'], meta, 60))),
    ])
    expect(invites.map((i) => i.id)).toHaveLength(20)
    expect(new Set(invites.map((i) => i.id)).size).toBe(20)
    expect((await fetch(`${url}/v1/health`)).status).toBe(200)
    expect(mostKept).toBeGreaterThan(0)
    expect(mostKept).toBeLessThanOrEqual(PER_ADDRESS)

    // Every socket the server kept, silent or half-open, is closed by the header timeout.
    flooding = false
    if (kept > 0) await gone
    expect(kept).toBe(0)
    for (const socket of attacker) socket.destroy()
  })
})
