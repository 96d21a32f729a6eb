/**
 * Who took part in the session, as this page saw it: everyone listed in a roster since the
 * page joined (or started), with when they came and, for those gone, when they left. A save
 * (`saved.saveAs`, the demo's saved file) lists them all, not only those still here.
 */
import type { JournalEntry, SavedPeer } from '../journal/store.js'
import type { SessionViewer } from '../types.js'
import type { CoreEvents } from './events.js'
import { LruMap } from './bounded.js'
import { Part } from './state.js'

/** People remembered per session: as many as a roster may list, and as many again who left. */
const MAX_PARTICIPANTS = 512

export class Participants<V extends SessionViewer = SessionViewer> extends Part<V> {
  private sessionId: string | null = null
  private readonly seen = new LruMap<string, SavedPeer>(MAX_PARTICIPANTS)

  /** Every core event passes here: joins and departures are noted, with the time. */
  heard<K extends keyof CoreEvents>(type: K, payload: CoreEvents[K]): void {
    const now = this.core.clock.now()
    if (type === 'session-started') {
      const { sessionId, role, self } = payload as CoreEvents['session-started']
      // A failover or a resume keeps the session: who took part before still did.
      if (sessionId !== this.sessionId) this.seen.clear()
      this.sessionId = sessionId
      this.arrived(self.id, self.name, role, now)
    } else if (type === 'session-peer-joined') {
      const { peer } = payload as CoreEvents['session-peer-joined']
      this.arrived(peer.id, peer.name, peer.role, now)
    } else if (type === 'session-peer-dropped') {
      const { peer } = payload as CoreEvents['session-peer-dropped']
      const known = this.seen.get(peer.id)
      if (known) this.seen.set(peer.id, { ...known, until: now })
    }
  }

  private arrived(id: string, name: string, role: 'host' | 'guest', now: number): void {
    const known = this.seen.get(id)
    // Into a new map rather than deleted and inserted again: see setAll.
    this.seen.setAll([[id, { id, name, role, since: known?.since ?? now }]])
  }

  /** This page's state now, labelled with the host sequence number it reflects, and who took part: for `saved.saveAs`. */
  async stateNow(): Promise<{ sessionId: string; seq: number; entries: JournalEntry[]; peers: SavedPeer[] }> {
    const session = this.core.session
    const collecting = session?.role === 'host' ? this.parts.host.labelledSnapshot() : this.parts.bridge.collectSnapshot().then((entries) => ({ entries }))
    const seq = session?.seq ?? 0
    const { entries } = await collecting
    return { sessionId: session?.sessionId ?? this.core.ended?.sessionId ?? 'local', seq, entries: [...entries, ...this.parts.restoring.heldEntries()], peers: this.list() }
  }

  /** Everyone who took part: those still here by who hosts now (a failover changes it), those gone as they were last seen. */
  list(): SavedPeer[] {
    const session = this.core.session
    const self = this.core.self
    const hostId = session?.hostId ?? self.id
    const here = new Set(session?.rank ?? [self.id])
    const roleOf = (peer: SavedPeer) => (!here.has(peer.id) ? peer.role : peer.id === hostId ? 'host' : 'guest')
    const peers = [...this.seen.values()].map((peer) => ({ ...peer, role: roleOf(peer) }))
    if (!this.seen.has(self.id)) peers.unshift({ id: self.id, name: self.name, role: 'host' })
    return peers
  }
}
