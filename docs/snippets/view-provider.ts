import assert from 'node:assert/strict'
import { SessionSyncController, type SessionDelta, type SessionDeltaMeta, type SessionSyncProvider, type SessionViewer } from 'session-sync'
import { MemoryNetwork } from 'session-sync/testing'
import { connect } from './memory-session.js'

interface PointerDelta extends SessionDelta {
  viewerId: string
  x: number
  y: number
}

/** Where each peer points, per viewer: view deltas, last write wins, no round trip through the host. */
function pointerProvider(pointers: Map<string, { x: number; y: number }>, send: { move?: (delta: PointerDelta) => void }): SessionSyncProvider<SessionViewer, null, PointerDelta> {
  return {
    id: 'pointer',
    scope: 'per-viewer',
    view: true, // every delta is a view delta: peer to peer, never ordered or replayed by the host
    snapshot: () => null, // where people point is not state a late joiner needs
    applySnapshot: () => {},
    subscribe: (emit) => {
      send.move = emit
      return () => { send.move = undefined }
    },
    applyDelta: (delta: PointerDelta, meta: SessionDeltaMeta) => {
      // meta.origin: whose pointer, as the link proves it (the session also fills delta.sourceUserId)
      pointers.set(`${meta.origin}@${delta.viewerId}`, { x: delta.x, y: delta.y })
    },
  }
}

/** Bootstrap order: lower priority first, whatever the order of registration. */
const bootstrapOrder: string[] = []
const slideProvider = (slide: { id: string }): SessionSyncProvider<SessionViewer, string> => ({
  id: 'slide',
  scope: 'global',
  priority: 10,
  snapshot: () => slide.id,
  applySnapshot: (id) => { slide.id = id; bootstrapOrder.push('slide') },
  subscribe: () => () => {},
  applyDelta: () => {},
})
const notesProvider: SessionSyncProvider<SessionViewer, string[]> = {
  id: 'notes',
  scope: 'global', // no priority: 100
  snapshot: () => [],
  applySnapshot: () => { bootstrapOrder.push('notes') },
  subscribe: () => () => {},
  applyDelta: () => {},
}

const net = new MemoryNetwork()
function page(name: string) {
  const session = new SessionSyncController({ transport: net.transport(name), clock: net.clockFor(name), user: { id: name, name } })
  const pointers = new Map<string, { x: number; y: number }>()
  const send: { move?: (delta: PointerDelta) => void } = {}
  const slide = { id: name === 'ada' ? 'kidney-04' : '' }
  session.setViewers([{ uniqueId: 'left' }])
  session.registerProvider(notesProvider) // registered first, applied last: priority decides
  session.registerProvider(slideProvider(slide))
  session.registerProvider(pointerProvider(pointers, send))
  return { session, pointers, send, slide }
}

const ada = page('ada')
const bob = page('bob')
await ada.session.start()
await connect(net, ada.session, bob.session)
assert.deepEqual(bootstrapOrder, ['slide', 'notes'])
assert.equal(bob.slide.id, 'kidney-04')

bob.send.move!({ viewerId: 'left', x: 0.1, y: 0.1 })
bob.send.move!({ viewerId: 'left', x: 0.4, y: 0.2 }) // only the latest matters
await net.clock.advance(50)
assert.deepEqual(ada.pointers.get('bob@left'), { x: 0.4, y: 0.2 })
assert.equal(bob.session.pendingIntents, 0) // view deltas never wait in the outbox
await ada.session.end()
