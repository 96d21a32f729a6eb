import assert from 'node:assert/strict'
import { SessionSyncController, type SessionState } from 'session-sync'
import { MemoryNetwork } from 'session-sync/testing'
import { connect } from './memory-session.js'

const net = new MemoryNetwork()
const page = (name: string) => new SessionSyncController({ transport: net.transport(name), clock: net.clockFor(name), user: { name } })
const ada = page('ada')
const bob = page('bob')
const states = (controller: SessionSyncController) => {
  const seen: SessionState[] = [controller.getState()]
  controller.on('session-state-changed', ({ state }) => seen.push(state))
  return seen
}
const adaStates = states(ada)
const bobStates = states(bob)

await ada.start() // idle → hosting
// Bob: idle → joining at join(), → connected once it has the host's state.
// Ada: hosting → connected once her first guest is in.
await connect(net, ada, bob)

net.freeze('bob') // Bob's tab stops (a busy main thread, a laptop lid)
await net.clock.advance(8_000) // past the soft timeout (6 s): every guest quiet → reconnecting
assert.equal(ada.getState(), 'reconnecting')
net.resume('bob') // it speaks again before the hard timeout (20 s): connected, nobody dropped
// Bob's own page knows it stood still: it gives its links a fresh window, and stays connected.
await net.clock.advance(1_000)

await bob.leave() // connected → leaving → idle
await net.clock.advance(200)

assert.deepEqual(adaStates, ['idle', 'hosting', 'connected', 'reconnecting', 'connected'])
assert.deepEqual(bobStates, ['idle', 'joining', 'connected', 'leaving', 'idle'])
assert.equal(ada.getPeers().length, 1) // Ada hosts on, alone
await ada.leave()
