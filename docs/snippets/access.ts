import assert from 'node:assert/strict'
import { SessionSyncController } from 'session-sync'
import { MemoryNetwork } from 'session-sync/testing'
import { connect, keyValue } from './memory-session.js'

const net = new MemoryNetwork()
const knocked: string[] = []
const host = new SessionSyncController({
  transport: net.transport('ada'),
  clock: net.clockFor('ada'),
  user: { id: 'ada', name: 'Ada' },
  // Let a knocking guest in, or not: here by name; an app would ask the person ("Bob wants to join").
  admit: async (peer, invite) => {
    knocked.push(`${peer.name} (${invite.access})`)
    return peer.name !== 'Mallory'
  },
  // Refine who may change what: editors may annotate, but only the host changes the layers.
  authorizeIntent: (intent, _peer, allowed) => allowed && intent.providerId !== 'layers',
})

async function invite(name: string, access: 'editor' | 'viewer') {
  const session = new SessionSyncController({ transport: net.transport(name), clock: net.clockFor(name), user: { id: name.toLowerCase(), name } })
  const notes = keyValue('notes')
  const layers = keyValue('layers', { he: 'visible' })
  session.registerProvider(notes.provider)
  session.registerProvider(layers.provider)
  const refused: string[] = []
  session.on('session-diagnostic', (d) => d.code === 'intent-refused' && refused.push(`${d.providerId}: ${d.reason}`))
  const ended: string[] = []
  session.on('session-ended', ({ reason }) => ended.push(reason))
  await connect(net, host, session, access)
  return { session, notes, layers, refused, ended }
}

const notes = keyValue('notes')
const layers = keyValue('layers', { he: 'visible' })
host.registerProvider(notes.provider)
host.registerProvider(layers.provider)
await host.start()

const bob = await invite('Bob', 'editor')
const eve = await invite('Eve', 'viewer')
const mallory = await invite('Mallory', 'editor')
assert.deepEqual(knocked, ['Bob (editor)', 'Eve (viewer)', 'Mallory (editor)'])
assert.deepEqual(mallory.ended, ['refused']) // turned away
assert.deepEqual(host.getPeers().map((p) => `${p.name}:${p.access ?? 'editor'}`), ['Ada:editor', 'Bob:editor', 'Eve:viewer'])

bob.notes.set('n1', 'check margin') // an editor's note: accepted
bob.layers.set('he', 'hidden') // but not a layer change
eve.notes.set('n2', 'hello') // a viewer may look and point, not change
await net.clock.advance(400)
assert.deepEqual(notes.store, { n1: 'check margin' })
assert.deepEqual(layers.store, { he: 'visible' })
assert.deepEqual(bob.refused, ['layers: unauthorized'])
assert.deepEqual(eve.refused, ['notes: unauthorized'])
assert.deepEqual(bob.layers.store, { he: 'visible' }) // the optimistic change was undone
assert.deepEqual(eve.notes.store, { n1: 'check margin' })

host.kick('eve') // removed for good: told, unlinked everywhere, and its user id cannot join again
await net.clock.advance(200)
assert.deepEqual(eve.ended, ['removed'])
assert.deepEqual(host.getPeers().map((p) => p.name), ['Ada', 'Bob'])
await host.end()
