/** The session's people as the app sees them (`getPeers()`): who, in what order, and how each link is doing. */
import type { SessionPeer, SessionViewer } from '../types.js'
import { namedPeer } from './events.js'
import type { Core } from './state.js'

/** Everyone in the session, this user included, in succession order (the host first); empty when idle. */
export function peersOf(core: Core<SessionViewer>): SessionPeer[] {
  const session = core.session
  if (!session) return []
  const self = core.self
  const links = new Map([...session.conns].map((c) => [c.peerId, c]))
  return session.rank
    .map((id, rank) => {
      const info = id === self.id ? self : session.peers.get(id)
      const conn = links.get(id)
      const stale = conn?.stale ?? false
      return info && {
        ...namedPeer(info),
        connected: id === self.id ? core.lifecycle.state !== 'reconnecting' : !stale,
        rank, self: id === self.id, linked: !!conn, stale,
        ...(conn?.rtt !== undefined ? { rtt: conn.rtt } : {}),
        ...(conn?.stats ? { stats: conn.stats } : {}),
        ...(conn?.stats?.path ? { path: conn.stats.path } : {}),
      }
    })
    .filter((p): p is SessionPeer => !!p)
}
