import assert from 'node:assert/strict'
import { SessionSyncController, type SessionSyncProvider } from 'session-sync'
import { MemoryNetwork } from 'session-sync/testing'

/** A module with one piece of shared state: a title. */
function titleModule() {
  let title = 'Untitled'
  let emit: ((delta: { title: string }) => void) | undefined
  const provider: SessionSyncProvider<{ uniqueId: string }, string, { title: string }> = {
    id: 'title',
    scope: 'global',
    snapshot: () => title,
    applySnapshot: (data) => { title = data },
    subscribe: (send) => {
      emit = send
      return () => { emit = undefined }
    },
    applyDelta: (delta) => { title = delta.title },
  }
  const rename = (next: string) => {
    title = next // the user's change takes effect here at once…
    emit?.({ title: next }) // …and goes to the session
  }
  return { provider, rename, title: () => title }
}

// Two pages on an in-memory network: in a browser, pass createWebRtcTransport() instead.
const net = new MemoryNetwork()
const page = (name: string) => new SessionSyncController({ transport: net.transport(name), clock: net.clockFor(name), user: { name } })
const ada = page('ada')
const bob = page('bob')
const adaTitle = titleModule()
const bobTitle = titleModule()
ada.registerProvider(adaTitle.provider)
bob.registerProvider(bobTitle.provider)

adaTitle.rename('Slide 7 review')
await ada.start()
const invite = await ada.createInvite() // send invite.url to Bob
const { answerCode } = await bob.join(invite.url) // Bob sends answerCode back
const accepted = ada.acceptAnswer(answerCode)
await net.clock.advance(200) // the in-memory network's time moves only when told
await accepted
await net.clock.advance(200)

assert.equal(bob.getState(), 'connected')
assert.equal(bobTitle.title(), 'Slide 7 review') // Bob's page started from the host's state

bobTitle.rename('Slide 7, second look') // a guest's change goes through the host to everyone
await net.clock.advance(200)
assert.equal(adaTitle.title(), 'Slide 7, second look')

await ada.end() // ends the session for everyone
await net.clock.advance(200)
assert.equal(bob.getState(), 'idle')
