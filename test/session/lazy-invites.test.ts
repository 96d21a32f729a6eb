import { afterEach, describe, expect, it, vi } from 'vitest'
import { SessionError } from '../../src/index.js'
import { TestSession } from '../helpers/session.js'

/** The invite desk as a page fetches it: `offline` makes the next loads fail as a lost network would. */
const chunk = vi.hoisted(() => ({ offline: false }))
vi.mock('../../src/session/invite-desk.js', async (original) => {
  if (chunk.offline) throw new TypeError('Failed to fetch dynamically imported module')
  return original()
})

afterEach(() => {
  chunk.offline = false
  vi.resetModules()
})

describe('the invite desk, loaded on first use', () => {
  it('is not needed for the host to list invites or read the relay state, nor to end a session without any', async () => {
    chunk.offline = true
    const s = new TestSession()
    const host = s.peer('host')
    await host.controller.start()
    expect(host.controller.listInvites()).toEqual([])
    expect(host.controller.getRelayState()).toMatchObject({ state: 'idle', watching: 0 })
    await host.controller.end()
    expect(host.controller.getState()).toBe('idle')
  })

  it('fails only the call that needed it when it cannot be fetched, and the next call loads it', async () => {
    chunk.offline = true
    const s = new TestSession()
    const host = s.peer('host')
    const guest = s.peer('guest')
    await host.controller.start()
    const refused = await host.controller.createInvite().catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(SessionError)
    expect(refused).toMatchObject({ code: 'invites-unavailable' })
    expect(host.controller.getState()).toBe('hosting')

    chunk.offline = false
    await s.connect(host, guest)
    expect([host.controller.getState(), guest.controller.getState()]).toEqual(['connected', 'connected'])
    expect(host.controller.listInvites()).toMatchObject([{ status: 'used' }])
  })
})
