import assert from 'node:assert/strict'
import { DEFAULT_HEARTBEAT, DEFAULT_LIMITS, DEFAULT_TIMERS, PayloadLimitError, SessionStateError, SessionSyncController, type SessionSyncProvider, type SessionViewer } from 'session-sync'
import { MemoryNetwork } from 'session-sync/testing'
import { connect, keyValue } from './memory-session.js'

assert.equal(DEFAULT_LIMITS.maxMessageBytes, 32 * 1024 * 1024) // the largest message, a whole snapshot included
assert.equal(DEFAULT_LIMITS.outboxSize, 10_000) // a guest's changes waiting for the host…
assert.equal(DEFAULT_LIMITS.outboxBytes, 16 * 1024 * 1024) // …and their bytes
assert.deepEqual(DEFAULT_HEARTBEAT, { intervalMs: 2_000, softTimeoutMs: 6_000, hardTimeoutMs: 20_000 })
assert.equal(DEFAULT_TIMERS.resendBudget, 16) // resend/resync requests per link per hard timeout

const net = new MemoryNetwork()
/** A module whose changes the host accepts and nobody needs to see. */
function counter() {
  let emit: (delta: { n: number }) => void = () => {}
  const provider: SessionSyncProvider<SessionViewer, null, { n: number }> = {
    id: 'counter',
    scope: 'global',
    snapshot: () => null,
    applySnapshot: () => {},
    subscribe: (send) => {
      emit = send
      return () => {}
    },
    applyDelta: () => {},
  }
  return { provider, change: (n: number) => emit({ n }) }
}
// Every limit is an option; what is not given keeps its default.
const host = new SessionSyncController({ transport: net.transport('ada'), clock: net.clockFor('ada'), limits: { pendingInvites: 1 } })
const guest = new SessionSyncController({ transport: net.transport('bob'), clock: net.clockFor('bob'), limits: { outboxSize: 2, maxDeltaBytes: 1024 } })
const guestCounter = counter()
const notes = keyValue('notes')
host.registerProvider(counter().provider)
host.registerProvider(keyValue('notes').provider)
guest.registerProvider(guestCounter.provider)
guest.registerProvider(notes.provider)
await host.start()
await connect(net, host, guest)
await host.createInvite() // one open invite: the most this host allows
await assert.rejects(host.createInvite(), (error: SessionStateError) => error.code === 'too-many-invites')

// At a limit, the library refuses and says so; it never grows past it.
const full: string[] = []
guest.on('session-diagnostic', (d) => d.code === 'outbox-full' && full.push(d.message))
net.freeze('ada') // the host stops answering: the guest's changes wait in its outbox
for (let n = 1; n <= 3; n++) guestCounter.change(n)
assert.equal(guest.pendingIntents, 2)
assert.equal(full.length, 1) // the third change was not sent
net.resume('ada')
await net.clock.advance(200)
assert.equal(guest.pendingIntents, 0)

// A change over a structural limit is refused where it is made: `emit` throws, nothing is sent.
assert.throws(() => notes.set('essay', 'x'.repeat(2_000)), (error: PayloadLimitError) => error.code === 'payload-too-large')

// What each cache holds, beside its budget.
const { caches } = host.getStats()
assert.equal(caches.replayLog.entries, 2) // the two changes that went through
assert.deepEqual(caches.outbox.budget, { entries: 10_000, bytes: 16 * 1024 * 1024 })
await host.end()
