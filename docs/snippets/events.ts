import assert from 'node:assert/strict'
import { SessionSyncController, type SessionEvents } from 'session-sync'
import { MemoryNetwork } from 'session-sync/testing'

const net = new MemoryNetwork()
const bus: string[] = [] // an app's own event bus: `emitter` mirrors every event onto it
const page = (name: string) => new SessionSyncController({
  transport: net.transport(name),
  clock: net.clockFor(name),
  user: { id: `user-${name}`, name },
  emitter: { emit: (type) => bus.push(`${name}: ${type}`) },
})
const ada = page('ada')
const bob = page('bob')

// Every event, typed by name: a typo in an event name is a compile error.
const seen: Array<{ type: keyof SessionEvents; payload: unknown }> = []
bob.events.on('*', (type, payload) => seen.push({ type, payload }))
const stop = bob.on('session-peer-joined', ({ peer }) => assert.equal(peer.name, 'ada'))

await ada.start()
const sessionId = ada.sessionId
const invite = await ada.createInvite()
const { answerCode } = await bob.join(invite.url)
const accepted = ada.acceptAnswer(answerCode)
await net.clock.advance(200)
await accepted
await net.clock.advance(200)
stop()

assert.deepEqual(seen.map((e) => e.type), [
  'session-role-changed', // { role: 'guest', previous: 'none' }
  'session-state-changed', // { state: 'joining', previous: 'idle' }
  'session-started', // { sessionId, role: 'guest', self }
  'session-peer-joined', // { peer: Ada }: the host's roster lists her
  'session-state-changed', // { state: 'connected', previous: 'joining' }
  'session-bootstrap-complete', // { entries: 0, seq: 0 }: no providers here
])
assert.deepEqual(seen[2]!.payload, { sessionId, role: 'guest', self: { id: 'user-bob', name: 'bob', role: 'guest' } })

// The host's final save goes to `session-final-save` listeners, then the session ends for all.
ada.on('session-final-save', (save) => assert.equal(save.sessionId, sessionId))
await ada.saveAndEnd()
await net.clock.advance(200)
assert.deepEqual(seen.at(-1), { type: 'session-ended', payload: { sessionId, reason: 'saved' } })
assert.ok(bus.includes('ada: session-final-save') && bus.includes('bob: session-ended'))
