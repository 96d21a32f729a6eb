import { describe, expect, it } from 'vitest'
import { TestSession, eventsOf } from '../helpers/session.js'

const heartbeat = { intervalMs: 1_000, softTimeoutMs: 3_000, hardTimeoutMs: 8_000 }

async function pair(seed = 1) {
  const s = new TestSession(seed)
  const host = s.peer('host', { heartbeat })
  await host.controller.start()
  const guest = s.peer('g1', { heartbeat })
  await s.connect(host, guest)
  return { s, host, guest }
}

describe('heartbeats and link health', () => {
  it('goes reconnecting at the soft timeout and back to connected when traffic resumes', async () => {
    const { s, host, guest } = await pair()
    const cutAt = s.clock.now()
    s.net.partition(['host'], ['g1'])
    await s.settle(heartbeat.softTimeoutMs + heartbeat.intervalMs)
    expect(guest.controller.getState()).toBe('reconnecting')
    expect(host.controller.getState()).toBe('reconnecting')
    expect(host.controller.getPeers().find((p) => p.name === 'g1')?.stale).toBe(true)
    const [event] = eventsOf(guest, 'session-reconnecting')
    expect(event).toEqual({ peerId: 'u-host' })
    // fired on the first beat after the soft timeout, not before
    const at = Number(s.trace.find((line) => line.includes('g1 session-reconnecting'))!.split(' ')[0])
    expect(at - cutAt).toBeGreaterThanOrEqual(heartbeat.softTimeoutMs - 1)
    expect(at - cutAt).toBeLessThanOrEqual(heartbeat.softTimeoutMs + heartbeat.intervalMs)
    s.net.heal()
    await s.settle(2 * heartbeat.intervalMs)
    expect([host.controller.getState(), guest.controller.getState()]).toEqual(['connected', 'connected'])
    expect(host.controller.getPeers().every((p) => !p.stale)).toBe(true)
    // the session still works after it
    guest.kv.set('back', true)
    await s.settle()
    expect(host.kv.store()).toEqual({ back: true })
  })

  it('drops a silent guest at the hard timeout, and the guest loses its host', async () => {
    const { s, host, guest } = await pair()
    s.net.partition(['host'], ['g1'])
    await s.settle(heartbeat.hardTimeoutMs + heartbeat.intervalMs)
    expect(eventsOf(host, 'session-peer-dropped').map((e) => e.reason)).toEqual(['timeout'])
    expect(host.controller.getState()).toBe('connected')
    expect(eventsOf(guest, 'session-host-lost')).toHaveLength(1)
    // alone, the guest is no majority: it ends rather than host a second copy of the session
    await s.settle(5_000)
    expect(guest.controller.getRole()).toBe('none')
    expect(eventsOf(guest, 'session-ended').at(-1)?.reason).toBe('isolated')
  })

  it('measures round-trip time from heartbeats', async () => {
    const { s, host } = await pair()
    await s.settle(heartbeat.intervalMs * 2)
    const rtt = host.controller.getPeers().find((p) => p.name === 'g1')?.rtt
    expect(rtt).toBeGreaterThanOrEqual(2) // two one-way hops of at least 1 ms each
    expect(rtt).toBeLessThanOrEqual(10)
  })
})
