import type { SessionAccess, SessionSyncController, SessionSyncProvider, SessionViewer } from 'session-sync'
import type { MemoryNetwork } from 'session-sync/testing'

/** The whole handshake on the in-memory network: the host invites, the guest answers, the host accepts. */
export async function connect(net: MemoryNetwork, host: SessionSyncController, guest: SessionSyncController, access: SessionAccess = 'editor'): Promise<void> {
  const invite = await host.createInvite({ access })
  const { answerCode } = await guest.join(invite.url)
  const accepted = host.acceptAnswer(answerCode)
  await net.clock.advance(200) // time on the in-memory network moves only when told
  await accepted
  await net.clock.advance(200)
}

/** A small module with shared state: keys and values, one store per page. */
export function keyValue(id: string, initial: Record<string, unknown> = {}) {
  const store = { ...initial }
  let emit: (delta: { key: string; value: unknown }) => void = () => {}
  const provider: SessionSyncProvider<SessionViewer, Record<string, unknown>, { key: string; value: unknown }> = {
    id,
    scope: 'global',
    snapshot: () => ({ ...store }),
    applySnapshot: (data) => {
      for (const key in store) delete store[key]
      Object.assign(store, data)
    },
    subscribe: (send) => {
      emit = send
      return () => {}
    },
    applyDelta: (delta) => { store[delta.key] = delta.value },
  }
  /** A change made on this page: it takes effect here at once, then goes to the session. */
  const set = (key: string, value: unknown) => {
    store[key] = value
    emit({ key, value })
  }
  return { provider, set, store }
}
