/**
 * A session's beginning and end on this page: a fresh `Session` (nothing of an earlier one
 * carries over), the role as it changes, the goodbye, and the teardown back to idle.
 */
import { byteSize } from '../encoding/bytes.js'
import type { PeerRole, SessionFinalSave, SessionViewer } from '../types.js'
import { wire } from '../wire/build.js'
import { Backlog } from './backlog.js'
import { pickColour } from './colours.js'
import { digestOf } from './digest.js'
import { DEFAULT_BACKLOG } from './options.js'
import { type Conn, Part, Session } from './state.js'

export class Sessions<V extends SessionViewer = SessionViewer> extends Part<V> {
  begin(sessionId: string, role: PeerRole): Session {
    const received = this.core.received
    const weigh = (delta: object) => {
      const data = received.get(delta)
      return data === undefined ? JSON.stringify(delta).length : byteSize(data)
    }
    const backlog = new Backlog(DEFAULT_BACKLOG, this.core.clock, (behind, pending) => {
      if (this.core.session === session) this.core.emit('session-catching-up', { behind, pending })
    })
    const session: Session = new Session(sessionId, role, this.core.limits, weigh, backlog)
    this.core.session = session
    this.parts.journaling.begin(session)
    // Our colour is the host's to give (a guest's comes with the roster).
    const { color: _earlier, ...self } = this.core.self
    this.core.self = { ...self, role }
    this.core.emit('session-role-changed', { role, previous: 'none' })
    return session
  }

  /** A new session with this page as its host (`start()`). */
  host(): void {
    const self = this.core.self.id
    const session = this.begin(this.core.random.id(this.core.timers.idSize), 'host')
    session.hostId = self
    session.epoch = 1
    session.lineage = [[1, 0]]
    session.rank = [self]
    session.succession = [self]
    this.core.self = { ...this.core.self, color: pickColour(self, []) }
    this.core.lifecycle.to('hosting')
    this.parts.bridge.subscribeAll()
    this.parts.liveness.scheduleHeartbeat()
    this.parts.invites.preload()
    this.core.emit('session-started', { sessionId: session.sessionId, role: 'host', self: this.core.getSelf() })
  }

  /** Joining `sessionId` as a guest, once our answer to its invite is ready (`join()`). */
  guest(sessionId: string): void {
    this.begin(sessionId, 'guest')
    this.core.lifecycle.to('joining')
    this.parts.bridge.subscribeAll()
    this.parts.liveness.scheduleHeartbeat()
  }

  setRole(role: PeerRole | null): void {
    const session = this.core.session
    const previous = session?.role ?? 'none'
    if (previous === (role ?? 'none')) return
    if (session && role) session.role = role
    this.core.self = { ...this.core.self, role: role ?? 'guest' }
    this.core.emit('session-role-changed', { role: role ?? 'none', previous })
  }

  /**
   * A goodbye hands the session over to the others — unless this host is cut off from a
   * majority of it: then those still with it are a minority that must not carry on, and
   * the goodbye ends the session for them. Those it counts away get the goodbye all the
   * same: they may be that majority, heard again after a heal, still to elect a successor
   * (seed 1411730: ended with the rest, nobody hosted).
   */
  private farewell(reason: string, conn: Conn) {
    const session = this.core.session
    return session?.role === 'host' && session.isolatedSince !== null && conn.awaySince === undefined ? wire.end({ reason: 'cut-off' }) : wire.bye({ reason })
  }

  /** Says goodbye on every link (or, `forAll`, ends the session for everyone), then ends it here. */
  depart(reason: string, forAll = false): void {
    for (const conn of this.s.conns) if (conn.peerId && !conn.fenced) this.parts.links.sendTo(conn, forAll ? wire.end({ reason }) : this.farewell(reason, conn))
    this.finish(reason)
  }

  /** Host: every provider's state as of now, with its digest and who took part; the session goes on. */
  async save(): Promise<SessionFinalSave> {
    const session = this.s
    const entries = await this.parts.bridge.collectSnapshot()
    return { sessionId: session.sessionId, seq: session.seq, digest: digestOf(entries), entries, peers: this.parts.participants.list() }
  }

  /** Tears the session down locally and returns to idle. Idempotent per session. */
  finish(reason: string): void {
    const session = this.core.session
    if (!session || !this.core.isActive() || this.core.lifecycle.state === 'leaving') return
    this.core.lifecycle.to('leaving')
    for (const conn of [...session.conns]) this.parts.links.detach(conn, reason)
    for (const inviteId of [...session.invites.keys()]) this.parts.invites.dropInvite(inviteId)
    this.parts.mesh.stopAllNegotiating()
    session.pendingJoin?.cancel()
    session.doorOffer?.cancel()
    for (const timer of [session.joinTimer, session.pickupTimer, session.heartbeatTimer, session.election?.timer]) if (timer) this.core.clock.clearTimeout(timer)
    this.parts.bridge.unsubscribeAll()
    this.setRole(null)
    // From here on, callbacks of this session see that it is over.
    this.core.ended = session
    this.core.session = null
    this.parts.journaling.ended(session, reason)
    this.core.lifecycle.to('idle')
    this.core.emit('session-ended', { sessionId: session.sessionId, reason })
  }
}
