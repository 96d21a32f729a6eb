/**
 * A consumer's own test, the way `session-sync/testing` serves one: a host and a guest over
 * the in-memory network, on virtual time, with one counter provider each. No browser.
 * e2e/package.spec.ts type-checks this file against the packed declarations and runs it
 * in Node against the packed bundles (it is not part of the app's page).
 */
import { SessionSyncController, TransportError } from 'session-sync'
import type { SessionDelta, SessionState, SessionSyncProvider, SessionViewer } from 'session-sync'
import { MemoryNetwork, linkOf } from 'session-sync/testing'

interface CounterDelta extends SessionDelta {
  count: number
}

/** One controller on the network, with a counter that `bump()` changes locally. */
function peer(net: MemoryNetwork, name: string) {
  let count = 0
  let emit: ((delta: CounterDelta) => void) | null = null
  const counter: SessionSyncProvider<SessionViewer, { count: number }, CounterDelta> = {
    id: 'counter',
    scope: 'global',
    snapshot: () => ({ count }),
    applySnapshot: (data) => void (count = data.count),
    subscribe: (next) => {
      emit = next
      return () => void (emit = null)
    },
    applyDelta: (delta) => void (count = delta.count),
  }
  const controller = new SessionSyncController({
    transport: net.transport(name),
    clock: net.clockFor(name),
    random: net.randomFor(name),
    user: { id: name, name },
    baseUrl: 'https://consumer.test/',
  })
  controller.registerProvider(counter)
  return {
    controller,
    count: () => count,
    bump: () => emit?.({ count: ++count }),
  }
}

export async function memorySession(): Promise<{ states: SessionState[]; counts: number[]; linked: boolean; sharedErrorClasses: boolean }> {
  const net = new MemoryNetwork({ seed: 7, maxMessageBytes: 1 << 20 })
  const host = peer(net, 'host')
  const guest = peer(net, 'guest')
  await host.controller.start()
  const invite = await host.controller.createInvite()
  const { answerCode } = await guest.controller.join(invite.url)
  const accepted = host.controller.acceptAnswer(answerCode)
  await net.clock.advance(200)
  await accepted
  await net.clock.advance(200)

  host.bump()
  await net.clock.advance(200)
  guest.bump()
  await net.clock.advance(200)

  // The link is the testing entry's MemoryNetwork's; its error is the main entry's class.
  const link = linkOf(host.controller, 'guest')
  let sharedErrorClasses = false
  try {
    link?.send(new Uint8Array((1 << 20) + 1))
  } catch (error) {
    sharedErrorClasses = error instanceof TransportError
  }
  const states = [host.controller.getState(), guest.controller.getState()]
  await host.controller.end()
  await net.clock.advance(200)
  return { states, counts: [host.count(), guest.count()], linked: link !== undefined, sharedErrorClasses }
}
