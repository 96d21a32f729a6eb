/**
 * Liveness: heartbeats, stale and dead links, our own stalls, and a host's isolation.
 */
import type { SessionViewer } from '../types.js'
import { wire } from '../wire/build.js'
import { type Conn, Part, type RosterGap } from './state.js'

/**
 * Host: when a guest that hears none of our pings, or that we cannot hear, last heard us: from the
 * roster it held then, it may elect without us. Never after we last heard it (a real answer is heard
 * after its ping; a pong may name any ping).
 */
export function lastAnswered(c: Conn): number {
  return Math.min(c.answered ?? c.admittedAt ?? 0, c.lastHeard)
}

export interface Voter {
  admittedAt: number
  /** Away since (none: present). */
  since: number | undefined
  /** Each stretch it was out of our roster that may still hold an away peer's `since`, oldest first. */
  gaps: readonly RosterGap[] | undefined
  /** When it began to act as our guest (`Conn.followedAt`), if we know. */
  followed?: number | undefined
}
type Away = Voter & { since: number }

/** Stretches out of the roster kept per peer at most (`keepRosterGaps`). */
const MAX_ROSTER_GAPS = 8

/**
 * Host: whether `m` is in the electorate of the peer `away`, which went away at `away.since`:
 * admitted by then, and not out of our roster then unless `away` may still count it as one its
 * host listed lately: admitted before we dropped `m`, gone within two hard timeouts of that
 * (`Follower.listedLately`).
 * Counted while it was out, a peer dropped on a timeout and taken back later sat in the
 * electorate of guests admitted meanwhile, which never listed it, and a host cut off from
 * them hosted on beside their successor (seed 1771500). Every stretch counts, not the latest
 * alone: dropped and taken back twice, it sat in the electorate of a guest that went away
 * during the first.
 */
export function listedBy(m: Voter, away: Away, hardTimeoutMs: number): boolean {
  if (m.admittedAt > away.since) return false
  // Stretches never overlap: at most one holds `away.since`.
  const gap = m.gaps?.find((g) => away.since >= g.from && away.since < (g.to ?? Infinity))
  if (!gap) return true
  // Out or in then, unknown: the reading that errs toward ending (an away voter counted swells the away, a present one the rest).
  if (gap.merged) return m.since !== undefined
  // Out since our epoch began, and `away` followed us before it went: following our hello, it forgot whom
  // the old epoch's host listed, and we never listed `m` since. Counted, the peers we did not keep as we took
  // over, taken back later, left us a majority against the successor our guests elected (seed 2445286).
  if (gap.epochStart && away.followed !== undefined && away.followed >= gap.from && away.followed <= away.since) return false
  return away.admittedAt < gap.from && away.since - gap.from <= 2 * hardTimeoutMs
}

/**
 * Host: the stretches out of the roster still worth keeping. `floor` is the earliest time a peer
 * we weigh went away, or may yet be dated away from (the last of our pings it answered): a
 * stretch that ended by then holds no `since` `listedBy` will test, and goes. No age or count
 * alone is safe: a guest deaf to us keeps its `since` while we host on, however often another
 * is dropped and taken back. Each stretch takes a hard timeout's silence, so they pile up only
 * beside such a guest; past the cap the two oldest merge, and `listedBy` reads what it no longer
 * knows the way that errs toward ending rather than hosting on beside a successor.
 */
export function keepRosterGaps(gaps: readonly RosterGap[], floor: number): RosterGap[] {
  const kept = gaps.filter((g) => g.to === undefined || g.to > floor)
  while (kept.length > MAX_ROSTER_GAPS) kept.splice(0, 2, { ...kept[1]!, from: kept[0]!.from, merged: true })
  return kept
}

/** Host: the stretch `conn` is out of our roster, if one is open, ends at `now` (taken back, or a new stretch begins). */
export function endRosterGap(conn: Conn, now: number): void {
  const open = conn.outOfRoster?.at(-1)
  if (open && open.to === undefined) open.to = now
}

export class Liveness<V extends SessionViewer = SessionViewer> extends Part<V> {
  scheduleHeartbeat(): void {
    const session = this.s
    // From the first beat on, a timer firing far past its time is noticed as a stall.
    if (session.lastBeat === null) session.lastBeat = this.core.clock.now()
    session.heartbeatTimer = this.core.clock.setTimeout(() => {
      if (!this.current(session)) return
      this.beat()
      // A beat may end the session (a host cut off too long).
      if (this.current(session)) this.scheduleHeartbeat()
    }, this.core.heartbeat.intervalMs)
  }

  /** Pings every admitted link and judges silence: stale at the soft timeout, dead at the hard one. */
  private beat(): void {
    const now = this.core.clock.now()
    // After our own stall, what arrived meanwhile is handled first: judge nobody this beat.
    // So too after a stall a message noticed first: our guests cannot have answered a ping since it,
    // and counted away until they do, a host that leaves then would end everyone's session (seed 812720).
    this.noticeStall(now)
    const stalled = this.s.stallUnjudged
    this.s.stallUnjudged = false
    this.s.lastBeat = now
    if (!stalled && this.s.role === 'host') {
      this.checkIsolation(now)
      this.parts.host.admitParked()
    }
    if (!this.core.isActive()) return
    for (const conn of [...this.s.conns]) {
      const silence = now - conn.lastHeard
      // A fenced peer that never speaks again (it crashed) is let go after a second hard timeout.
      if (conn.fenced && silence >= 2 * this.core.heartbeat.hardTimeoutMs) {
        if (this.s.role === 'host') this.s.depart(conn, conn.awaySince ?? conn.lastHeard, now)
        this.parts.links.detach(conn, 'timeout')
      }
      if (!conn.peerId) continue
      // A fenced link is still pinged: if the peer behind it is back, it hears us and we it.
      if (conn.fenced) {
        this.parts.links.sendTo(conn, wire.ping({ n: Math.floor(now) }))
        continue
      }
      if (!stalled && silence >= this.core.heartbeat.hardTimeoutMs) {
        conn.fenced = conn === this.s.hostConn || this.s.role === 'host'
        if (conn === this.s.hostConn) this.parts.failover.onHostLost('timeout')
        // The host keeps the link, fenced: a guest back from a long stall is taken back when it speaks.
        else if (this.s.role === 'host') this.dropFenced(conn, now)
        else {
          this.parts.links.detach(conn, 'timeout')
          this.parts.failover.forgetPeer(conn.peerId, 'timeout')
          // The host forwards view deltas and asks for links by what we report: say it.
          this.parts.mesh.reportLinks()
        }
        if (!this.core.isActive()) return
        continue
      }
      if (silence >= this.core.heartbeat.softTimeoutMs && !conn.stale) {
        conn.stale = true
        this.core.emit('session-reconnecting', { peerId: conn.peerId })
      }
      this.parts.links.sendTo(conn, wire.ping({ n: Math.floor(now) }))
      conn.link.getStats?.().then((stats) => (conn.stats = stats), () => {})
    }
    // Guest pairs whose link failed or closed, unreported, are asked again when due.
    if (this.s.role === 'host') this.parts.mesh.requestMeshLinks()
    this.updateConnectivity()
  }

  /**
   * Our own event loop stood still (a busy tab, a frozen page): a timer fired far past its
   * time. The silence is ours, not theirs, so every link gets a fresh heartbeat window.
   */
  noticeStall(now: number): void {
    const late = this.s.lastBeat !== null ? now - this.s.lastBeat - this.core.heartbeat.intervalMs : 0
    if (late <= this.core.heartbeat.intervalMs) return
    const stoodStillFrom = this.s.lastBeat!
    // Host: long enough still that our guests found us silent, they may have lost us and be electing
    // without us (their pings, or what their links held, are no sign they did not): each counts as
    // away since we stood still until it answers a ping. Else a guest admitted after the thaw counts
    // in the electorate they had, and we host on beside their successor (seed 1005003).
    // Not away before it was admitted: the stall began at our last beat or later, and a guest we
    // admitted between that beat and the stall is in their electorate; dated from the beat, it and
    // everyone admitted since that beat fell out of every electorate we count (seed 1130282).
    // Nor later than the last of our pings it answered: one cut off before we stood still holds the
    // roster of that ping; dated from the stall, it counted a guest admitted in between among its
    // voters, and we hosted on beside the successor it elected (seed 1860796).
    const mayBeLost = this.s.role === 'host' && now - stoodStillFrom >= this.core.heartbeat.softTimeoutMs
    this.s.lastBeat = now
    this.s.stallUnjudged = true
    for (const conn of this.s.conns) {
      conn.lastHeard = now
      conn.answeredAt = now
      if (mayBeLost && conn.peerId) conn.awaySince ??= Math.min(Math.max(stoodStillFrom, conn.admittedAt ?? 0), lastAnswered(conn))
    }
    this.core.diagnostic('stalled', `This page stood still for ${Math.round(late)} ms; links get a fresh heartbeat window before anyone is judged silent.`)
  }

  /**
   * Host: whether the peers it cannot hear could elect a successor without it: a majority of
   * the session as they last saw it (peers admitted since they went quiet are not in their
   * roster). Then a successor's hello may be real; and if that lasts past the time our links
   * to them are kept, the others carry on without us: we end rather than host a second copy.
   */
  private checkIsolation(now: number): void {
    const members = [...this.s.conns].filter((c) => c.peerId && (c.fenced || c.probation || this.s.peers.has(c.peerId)))
    // A peer that says it follows another host, or claims to be one, is no more ours than a silent one;
    // nor is one we took back, or greeted as its new host, that has not acted as our guest since (its pings, or what its link held
    // while cut, are no sign it follows us: it may be electing without us).
    const followsAnother = this.s.followingAnother()
    for (const c of members) {
      const quiet = c.fenced || now - c.lastHeard >= this.core.heartbeat.softTimeoutMs
      // Heard but not hearing us (a link cut one way: its pings come, ours are lost): it may be electing
      // without us from the roster it held when it last answered a ping, one that lacks whom we admit
      // now; counted present on its pings, it left us a majority we did not have (seed 1171260).
      const deaf = now - c.answeredAt >= this.core.heartbeat.softTimeoutMs
      const stray = c.probation || followsAnother.has(c.peerId!)
      // Away since the last ping it answered, quiet or deaf: not since we last heard it, a time our own
      // stall moves on (`noticeStall`) though what it heard of us did not (seed 1860796). A peer that
      // strays after talking again keeps that time.
      if (quiet || deaf || stray) c.awaySince ??= quiet || deaf ? lastAnswered(c) : now
      // Back once it answers a ping we sent since. Talking is no sign: a peer that lost us pings on, and
      // its link delivers what it held while cut, as it elects without us from a roster that predates
      // the guests we admitted meanwhile (seed 967133).
      else if ((c.answered ?? -Infinity) > (c.awaySince ?? Infinity)) c.awaySince = undefined
    }
    // Forgotten after four hard timeouts, but not while we count down to our end: dropped mid-way
    // (our own stall lengthens the wait), it would stop the countdown a beat before it ends.
    if (this.s.isolatedSince === null) for (const [id, gone] of this.s.departed) if (now - gone.at > 4 * this.core.heartbeat.hardTimeoutMs) this.s.departed.delete(id)
    const departed = [...this.s.departed.values()]
    // No `since` we weigh, now or later, falls before the earliest of these: older stretches go (`keepRosterGaps`).
    const floor = Math.min(...members.map((c) => c.awaySince ?? lastAnswered(c)), ...departed.map((gone) => gone.since))
    for (const held of [...members, ...departed]) if (held.outOfRoster) held.outOfRoster = keepRosterGaps(held.outOfRoster, floor)
    const voters: Voter[] = [
      ...members.map((c) => ({ admittedAt: c.admittedAt ?? 0, since: c.awaySince, gaps: c.outOfRoster, followed: c.followedAt })),
      ...departed.map((gone) => ({ admittedAt: gone.admittedAt, since: gone.since, gaps: gone.outOfRoster })),
    ]
    // Any away peer may be a successor, elected by the away peers its roster listed when it went away.
    // Not only the first to go: one quiet since early on left out everyone admitted later (seed 734024).
    const hard = this.core.heartbeat.hardTimeoutMs
    const electedAway = voters.filter((v): v is Away => v.since !== undefined).some((a) => {
      const listed = voters.filter((m) => listedBy(m, a, hard))
      const silent = listed.filter((m) => m.since !== undefined).length
      return listed.length + 1 >= 3 && silent >= Math.floor((listed.length + 1) / 2) + 1
    })
    if (!electedAway) {
      this.s.isolatedSince = null
      return
    }
    this.s.isolatedSince ??= now
    if (now - this.s.isolatedSince >= 2 * this.core.heartbeat.hardTimeoutMs) this.parts.failover.giveUp('cut-off')
  }

  /** New host: each linked peer our roster does not keep (the lost host, those out of reach) is out of it from our epoch's start. */
  outOfNewRoster(now: number): void {
    for (const conn of this.s.conns) {
      if (!conn.peerId || this.s.peers.has(conn.peerId)) continue
      endRosterGap(conn, now)
      const gaps = (conn.outOfRoster ??= [])
      gaps.push({ from: now, epochStart: true })
    }
  }

  /** Host: out of our roster until taken back (`Takeover.readmit`): a guest admitted meanwhile never lists it (`listedBy`). */
  private dropFenced(conn: Conn, now: number): void {
    if (this.s.peers.has(conn.peerId!)) (conn.outOfRoster ??= []).push({ from: now })
    this.parts.host.dropPeer(conn.peerId!, 'timeout')
  }

  heard(conn: Conn, now: number): void {
    conn.lastHeard = now
    if (!conn.stale) return
    conn.stale = false
    // Back from a stall: its links that failed meanwhile are asked for again now, not after their backoff.
    if (this.s.role === 'host' && conn.peerId) this.parts.mesh.relink(conn.peerId)
    this.updateConnectivity()
  }

  /**
   * `reconnecting` while the links this peer depends on are all stale: a guest's link to
   * its host; for the host, every guest link (one quiet guest is that guest's problem).
   */
  updateConnectivity(): void {
    const state = this.core.lifecycle.state
    if ((state !== 'connected' && state !== 'reconnecting') || this.s.election) return
    const admitted = [...this.s.conns].filter((c) => c.peerId && !c.fenced)
    const cutOff = this.s.role === 'guest' ? !!this.s.hostConn?.stale : admitted.length > 0 && admitted.every((c) => c.stale)
    if (cutOff && state === 'connected') this.core.lifecycle.to('reconnecting')
    else if (!cutOff && state === 'reconnecting') this.core.lifecycle.to('connected')
  }
}
