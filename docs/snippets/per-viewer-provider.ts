import assert from 'node:assert/strict'
import { SessionSyncController, type SessionDelta, type SessionDeltaMeta, type SessionSyncProvider, type SessionViewer } from 'session-sync'
import { MemoryNetwork } from 'session-sync/testing'
import { connect } from './memory-session.js'

interface Pin { id: string; x: number; y: number; label: string }
interface PinDelta extends SessionDelta {
  viewerId: string
  kind: 'add' | 'remove'
  pin: Pin
}

/** The app's own pin store, one per viewer; like most UI state, it reports every change, remote ones too. */
class PinStore {
  private readonly pins = new Map<string, Map<string, Pin>>()
  private readonly listeners = new Set<(viewerId: string, kind: 'add' | 'remove', pin: Pin) => void>()
  of(viewerId: string): Pin[] {
    return [...(this.pins.get(viewerId)?.values() ?? [])]
  }
  add(viewerId: string, pin: Pin): void {
    if (!this.pins.has(viewerId)) this.pins.set(viewerId, new Map())
    this.pins.get(viewerId)!.set(pin.id, pin) // keyed by pin id: adding twice changes nothing
    for (const listener of this.listeners) listener(viewerId, 'add', pin)
  }
  remove(viewerId: string, pin: Pin): void {
    this.pins.get(viewerId)?.delete(pin.id) // removing twice changes nothing
    for (const listener of this.listeners) listener(viewerId, 'remove', pin)
  }
  replace(viewerId: string, pins: Pin[]): void {
    this.pins.set(viewerId, new Map(pins.map((pin) => [pin.id, pin])))
  }
  onChange(listener: (viewerId: string, kind: 'add' | 'remove', pin: Pin) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }
}

/** The provider: the store's state per viewer as snapshots, its changes as deltas. */
function pinsProvider(store: PinStore): SessionSyncProvider<SessionViewer, Pin[], PinDelta> {
  return {
    id: 'pins',
    scope: 'per-viewer', // snapshot, applySnapshot and every delta name a viewer
    priority: 50, // applied at bootstrap after providers with lower numbers (the slide itself)
    snapshot: (viewer) => store.of(viewer!.uniqueId),
    applySnapshot: (pins, viewer) => store.replace(viewer!.uniqueId, pins),
    subscribe: (emit) => store.onChange((viewerId, kind, pin) => emit({ viewerId, kind, pin })),
    applyDelta(delta: PinDelta, meta: SessionDeltaMeta) {
      // The host checks what guests send: a pin off the image is refused (false), and the
      // guest that made it gets its own state back.
      if (meta.role === 'host' && (delta.pin.x < 0 || delta.pin.x > 1 || delta.pin.y < 0 || delta.pin.y > 1)) return false
      if (delta.kind === 'add') store.add(delta.viewerId, delta.pin) // the store reports it: an echo, dropped
      else store.remove(delta.viewerId, delta.pin)
    },
  }
}

const net = new MemoryNetwork()
const viewers = [{ uniqueId: 'left' }, { uniqueId: 'right' }] // the same ids on every page
function page(name: string) {
  const session = new SessionSyncController({ transport: net.transport(name), clock: net.clockFor(name), user: { id: name, name } })
  const pins = new PinStore()
  session.setViewers(viewers)
  session.registerProvider(pinsProvider(pins))
  return { session, pins }
}

const ada = page('ada')
const bob = page('bob')
ada.pins.add('left', { id: 'p1', x: 0.2, y: 0.3, label: 'mitosis?' })
await ada.session.start()
await connect(net, ada.session, bob.session)
assert.deepEqual(bob.pins.of('left').map((p) => p.id), ['p1']) // bootstrap, per viewer
assert.deepEqual(bob.pins.of('right'), [])

// A guest's change: applied on Bob's page at once, confirmed by the host, applied everywhere.
bob.pins.add('right', { id: 'p2', x: 0.5, y: 0.5, label: 'compare' })
assert.equal(bob.session.pendingIntents, 1)
await net.clock.advance(200)
assert.equal(bob.session.pendingIntents, 0)
assert.deepEqual(ada.pins.of('right').map((p) => p.id), ['p2'])

// The host's own change needs no confirmation; Bob's store reports it, and that echo is not sent back.
ada.pins.remove('left', ada.pins.of('left')[0]!)
await net.clock.advance(200)
assert.deepEqual(bob.pins.of('left'), [])
assert.equal(bob.session.pendingIntents, 0)

// A change the host refuses: Bob's page is told, and that provider alone takes the host's state again.
const refused: string[] = []
bob.session.on('session-diagnostic', (d) => d.code === 'intent-refused' && refused.push(d.reason!))
bob.pins.add('right', { id: 'p3', x: 7, y: 0.5, label: 'off the slide' })
await net.clock.advance(400)
assert.deepEqual(refused, ['refused'])
assert.deepEqual(bob.pins.of('right').map((p) => p.id), ['p2'])
assert.deepEqual(ada.pins.of('right').map((p) => p.id), ['p2'])
await ada.session.end()
