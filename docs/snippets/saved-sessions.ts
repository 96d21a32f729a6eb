import assert from 'node:assert/strict'
import { JournalError, SessionSyncController } from 'session-sync'
import { MemoryJournal, MemoryNetwork } from 'session-sync/testing'
import { keyValue } from './memory-session.js'

// In a browser the journal and saved sessions live in IndexedDB; here, in memory.
const profile = new MemoryJournal() // one browser profile
const net = new MemoryNetwork()
const page = (name: string) => {
  const notes = keyValue('notes')
  const session = new SessionSyncController({ transport: net.transport(name), clock: net.clockFor(name), user: { name }, journal: { store: profile } })
  session.registerProvider(notes.provider)
  return { session, notes }
}

const morning = page('ada')
await morning.session.start()
morning.notes.set('n1', 'margin involved')
await morning.session.saved.saveAs('case 7, morning')
await morning.session.saved.clone('case 7, morning', 'case 7, second opinion') // a branch of the state
await assert.rejects(morning.session.saved.saveAs('case 7, morning'), (error: JournalError) => error.code === 'saved-duplicate')
await morning.session.end()
assert.deepEqual((await morning.session.saved.list()).map((s) => s.name).sort(), ['case 7, morning', 'case 7, second opinion'])

// Later, in another tab of the same profile: host a new live session from the saved state.
const afternoon = page('ada')
await afternoon.session.saved.open('case 7, second opinion')
assert.equal(afternoon.session.getRole(), 'host')
assert.deepEqual(afternoon.notes.store, { n1: 'margin involved' })
await afternoon.session.saved.remove('case 7, morning')
await assert.rejects(afternoon.session.saved.open('case 7, morning'), (error: JournalError) => error.code === 'saved-missing')
await afternoon.session.end()
