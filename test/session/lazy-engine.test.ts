/**
 * The controller's façade without its engine: this file imports neither the testing entry
 * (which provides the engine up front) nor any part of the engine, so the engine loads
 * here as it does on a page, by import(), and the tests run in order.
 */
import { describe, expect, it, vi } from 'vitest'
import { SessionError, SessionStateError, SessionSyncController, type SessionDiagnostic, type SessionSyncOptions } from '../../src/index.js'
import { loadedEngine } from '../../src/session/engine-loader.js'
import { MemoryNetwork } from '../../src/transport/memory.js'
import type { Transport } from '../../src/transport/transport.js'
import { KvProvider } from '../helpers/kv-provider.js'

/** The engine's chunk as a page fetches it: `offline` makes the next loads fail as a lost network would. */
const chunk = vi.hoisted(() => ({ offline: false }))
vi.mock('../../src/session/engine.js', async (original) => {
  if (chunk.offline) throw new TypeError('Failed to fetch dynamically imported module')
  return original()
})

/** A controller on `net` with one key-value provider, idle; the engine loads only when a call needs it. */
function peer(net: MemoryNetwork, name: string, options: SessionSyncOptions = {}) {
  const kv = new KvProvider('kv')
  const controller = new SessionSyncController({
    transport: net.transport(name),
    clock: net.clockFor(name),
    random: net.randomFor(name),
    user: { id: name, name },
    journal: false,
    baseUrl: 'https://app.test/',
    preload: 'none',
    ...options,
  })
  const diagnostics: SessionDiagnostic[] = []
  controller.on('session-diagnostic', (d) => diagnostics.push(d))
  controller.registerProvider(kv)
  return { controller, diagnostics, kv }
}

describe('the session engine, loaded on first use', () => {
  it('is not needed by an idle controller: wiring, events and every query answer without it', async () => {
    const net = new MemoryNetwork({ seed: 1 })
    const { controller } = peer(net, 'idle')
    const states: string[] = []
    const off = controller.on('session-state-changed', ({ state }) => states.push(state))
    controller.setViewers([{ uniqueId: 'left' }, { uniqueId: 'right' }])
    controller.addViewer({ uniqueId: 'extra' })
    controller.removeViewer('extra')
    controller.declareModule({ id: 'paint', sessionCompatible: true })
    expect(controller.scanCompatibility()).toEqual({ incompatible: [], undeclared: [] })
    controller.guardPluginLoad('paint')
    controller.setUser({ name: 'Ada' })
    const unregister = controller.registerProvider({ id: 'more', scope: 'global', snapshot: () => null, applySnapshot: () => {}, subscribe: () => () => {}, applyDelta: () => {} })
    unregister()

    expect(controller.getState()).toBe('idle')
    expect(controller.getRole()).toBe('none')
    expect(controller.isActive()).toBe(false)
    expect(controller.getSelf()).toMatchObject({ id: 'idle', name: 'Ada' })
    expect(controller.sessionId).toBeNull()
    expect(controller.getPeers()).toEqual([])
    expect(controller.pendingIntents).toBe(0)
    expect(controller.isApplyingRemote()).toBe(false)
    expect(controller.listInvites()).toEqual([])
    expect(controller.getRelayState()).toMatchObject({ state: 'idle', watching: 0 })
    const stats = controller.getStats()
    expect(stats.bytes).toBe(0)
    expect(stats.caches.replayLog).toMatchObject({ entries: 0, bytes: 0 })
    await expect(controller.flushJournal()).resolves.toBeUndefined()
    await controller.leave()
    await controller.end()
    controller.goodbye()
    expect(() => controller.kick('someone')).toThrow(SessionStateError)
    await expect(controller.save()).rejects.toMatchObject({ code: 'not-host' })
    off()

    expect(states).toEqual([])
    expect(loadedEngine()).toBeUndefined()
  })

  it('loads with start() and join(); a failed load is a typed error and a diagnostic, and the next call loads it', async () => {
    const net = new MemoryNetwork({ seed: 2 })
    const host = peer(net, 'host')
    const guest = peer(net, 'guest')

    chunk.offline = true
    const refused = await host.controller.start().catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(SessionError)
    expect(refused).toMatchObject({ code: 'engine-unavailable' })
    expect(host.diagnostics.map((d) => d.code)).toEqual(['engine-unavailable'])
    await expect(guest.controller.previewInvite('#session=x')).rejects.toMatchObject({ code: 'engine-unavailable' })
    expect(host.controller.getState()).toBe('idle')
    expect(loadedEngine()).toBeUndefined()

    chunk.offline = false
    await host.controller.start()
    expect(loadedEngine()).toBeDefined()
    expect(host.controller.getState()).toBe('hosting')
    const invite = await host.controller.createInvite()
    // The guest was made before the engine loaded: its join makes its parts.
    const { answerCode } = await guest.controller.join(invite.url)
    await Promise.all([host.controller.acceptAnswer(answerCode), net.clock.advance(400)])
    expect([host.controller.getState(), guest.controller.getState()]).toEqual(['connected', 'connected'])

    host.kv.set('by', 'host')
    await net.clock.advance(200)
    guest.kv.set('then', 'guest')
    await net.clock.advance(200)
    for (const { kv } of [host, guest]) expect(kv.store()).toEqual({ by: 'host', then: 'guest' })
  })

  it('prepares the transport in idle time by default, so a start need not wait for its links', async () => {
    const net = new MemoryNetwork({ seed: 3 })
    let prepared = 0
    const preparing = (name: string): Transport => {
      const links = net.transport(name)
      return { createOffer: () => links.createOffer(), acceptOffer: (offer) => links.acceptOffer(offer), prepare: async () => void prepared++ }
    }
    peer(net, 'early', { transport: preparing('early'), preload: 'idle' })
    const late = peer(net, 'late', { transport: preparing('late') })
    await vi.waitFor(() => expect(prepared).toBe(1))
    await late.controller.start()
    expect(prepared).toBe(2)
  })
})
