import assert from 'node:assert/strict'
import { SessionSyncController } from 'session-sync'
import { MemoryNetwork } from 'session-sync/testing'
import { connect, keyValue } from './memory-session.js'

const net = new MemoryNetwork()
function page(name: string) {
  const session = new SessionSyncController({ transport: net.transport(name), clock: net.clockFor(name), user: { id: name, name } })
  const notes = keyValue('notes')
  session.registerProvider(notes.provider)
  return { session, notes: notes.store, write: notes.set }
}

const ada = page('ada')
const bob = page('bob')
const carol = page('carol')
await ada.session.start()
await connect(net, ada.session, bob.session)
await connect(net, ada.session, carol.session) // guests link to each other too (a mesh, up to 6 peers)
bob.write('b1', 'from Bob')
ada.write('a1', 'from Ada')
await net.clock.advance(200)

net.crash('ada') // the host's tab dies without a word
carol.write('c1', 'written while nobody hosts') // waits in Carol's outbox
await net.clock.advance(20_000 + 1_500 + 2_000) // hard timeout, then the election

assert.equal(bob.session.getRole(), 'host') // the best-ranked survivor (first to join) took over
assert.equal(carol.session.getRole(), 'guest')
assert.equal(carol.session.getState(), 'connected')
assert.deepEqual(carol.session.getPeers().map((p) => p.name), ['bob', 'carol'])
const expected = { a1: 'from Ada', b1: 'from Bob', c1: 'written while nobody hosts' }
assert.deepEqual(bob.notes, expected) // nothing anyone had confirmed is lost…
assert.deepEqual(carol.notes, expected) // …and what was pending went through the new host
assert.equal(carol.session.pendingIntents, 0)
await bob.session.end()
