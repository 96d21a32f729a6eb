/**
 * Mesh and star: which guests link to each other, and the peer-assisted signalling
 * (through the host) that links them.
 */
import type { Link } from '../transport/transport.js'
import type { SessionViewer } from '../types.js'
import { wire } from '../wire/build.js'
import type { MessageOf } from '../wire/messages.js'
import { type Conn, type Negotiation, Part } from './state.js'

/** A pair still unlinked is asked again after a link timeout, then twice as late each time, up to this many link timeouts. */
const MAX_RETRY_TIMEOUTS = 8

export class Mesh<V extends SessionViewer = SessionViewer> extends Part<V> {
  /**
   * Which guest pairs hold a direct link: all of them in a mesh; in a star, only those with
   * one of the next successors (standby links), so failover never needs a new invite.
   */
  private wantsLink(a: string, b: string): boolean {
    if (this.s.mesh) return true
    const successors = this.s.rank.slice(1, 1 + this.core.timers.standbySuccessors)
    return successors.includes(a) || successors.includes(b)
  }

  /**
   * Host: asks the older of every guest pair that should be linked, and is not, to offer.
   * A pair still unlinked a link timeout after it was asked (the link failed, or closed
   * since) is asked again, later each time: a guest left linked to the host alone would
   * leave the others short of a majority, should the host go.
   */
  requestMeshLinks(): void {
    const now = this.core.clock.now()
    const guests = this.s.rank.slice(1)
    for (let i = 0; i < guests.length; i++) {
      for (let j = i + 1; j < guests.length; j++) {
        const [older, newer] = [guests[i]!, guests[j]!]
        if (!this.wantsLink(older, newer)) continue
        const pair = `${older}|${newer}`
        const last = this.s.requested.get(pair)
        if (this.s.reported.get(older)?.has(newer)) {
          // Linked: should the link close, it is asked for again one link timeout after the last request.
          if (last) last.tries = 1
          continue
        }
        if (last && now - last.at < this.core.timers.linkTimeoutMs * Math.min(2 ** (last.tries - 1), MAX_RETRY_TIMEOUTS)) continue
        const conn = this.s.connOf(older)
        if (!conn || conn.fenced) continue
        this.s.requested.set(pair, { at: now, tries: (last?.tries ?? 0) + 1 })
        this.parts.links.sendTo(conn, wire.connect({ peer: newer }))
      }
    }
  }

  /** Host: `peerId` is heard again after a silence; its missing links are asked for at once. */
  relink(peerId: string): void {
    for (const pair of this.s.requested.keys()) if (pair.split('|').includes(peerId)) this.s.requested.delete(pair)
    this.requestMeshLinks()
  }

  /** Host: passes an offer or answer between two admitted guests, and nobody else. */
  onSignal(conn: Conn, message: MessageOf<'signal'>): void {
    const target = this.s.connOf(message.to)
    if (!target || target === conn || !this.wantsLink(conn.peerId!, message.to)) {
      this.core.diagnostic('signal-refused', `Refused to relay a ${message.kind} from ${conn.peerId} to ${message.to}.`, { peerId: conn.peerId ?? undefined })
      return
    }
    if (!this.parts.host.withinBudget(conn, 'signal')) return this.parts.host.overBudget(conn, 'signal')
    this.parts.links.sendTo(target, wire.relay({ from: conn.peerId!, kind: message.kind, signal: message.signal }))
  }

  onLinks(conn: Conn, peers: string[]): void {
    const from = conn.peerId!
    this.s.reported.set(from, new Set(peers.filter((id) => this.s.peers.has(id) && this.wantsLink(from, id))))
    // A link that failed or closed: asked for again when its pair is due.
    this.requestMeshLinks()
  }

  /**
   * Host, after a topology change: links the guests are about to close no longer count, so
   * view deltas are forwarded from now on (a duplicate is dropped by last-write-wins; a gap would not be).
   */
  setTopology(): void {
    this.s.mesh = this.s.rank.length <= this.core.timers.meshLimit
    for (const [from, linked] of this.s.reported) for (const to of linked) if (!this.wantsLink(from, to)) linked.delete(to)
  }

  private linkCount(): number {
    return this.s.conns.size + this.s.negotiating.size
  }

  /** Guest: the host asked us to offer a link to `peerId`. */
  onConnect(peerId: string): void {
    if (!this.wantsLink(this.core.self.id, peerId) || !this.s.peers.has(peerId) || this.s.connOf(peerId) || this.s.negotiating.has(peerId)) return
    if (this.linkCount() >= this.core.limits.maxLinks) {
      this.core.diagnostic('link-limit', `Not linking to ${peerId}: ${this.core.limits.maxLinks} links is the limit.`, { peerId })
      return
    }
    const session = this.s
    const entry = this.negotiate(peerId)
    this.core.transport.createOffer().then(
      (pending) => {
        if (!this.current(session) || this.s.negotiating.get(peerId) !== entry) return pending.cancel()
        entry.offer = pending
        entry.cancel = () => pending.cancel()
        this.parts.links.toHost(wire.signal({ to: peerId, kind: 'offer', signal: pending.offer }))
      },
      (error: unknown) => this.linkFailed(peerId, entry, error),
    )
  }

  /** Guest: an offer or answer from another guest, relayed by our host. */
  onRelay(message: MessageOf<'relay'>): void {
    const peerId = message.from
    if (!this.wantsLink(this.core.self.id, peerId) || !this.s.peers.has(peerId)) return
    const entry = this.s.negotiating.get(peerId)
    if (message.kind === 'answer') {
      if (!entry?.offer) return
      entry.offer.complete(message.signal).then(
        (link) => this.adoptPeerLink(link, peerId, entry),
        (error: unknown) => this.linkFailed(peerId, entry, error),
      )
      return
    }
    if (this.s.connOf(peerId)) return
    // Glare: both sides offered. The smaller user id keeps its offer; the other answers.
    if (entry) {
      if (this.core.self.id < peerId) return
      this.stopNegotiating(peerId)
    }
    if (this.linkCount() >= this.core.limits.maxLinks) return
    const session = this.s
    const answering = this.negotiate(peerId)
    this.core.transport.acceptOffer(message.signal).then(
      (pending) => {
        if (!this.current(session) || this.s.negotiating.get(peerId) !== answering) return pending.cancel()
        answering.cancel = () => pending.cancel()
        this.parts.links.toHost(wire.signal({ to: peerId, kind: 'answer', signal: pending.answer }))
        pending.link.then(
          (link) => this.adoptPeerLink(link, peerId, answering),
          (error: unknown) => this.linkFailed(peerId, answering, error),
        )
      },
      (error: unknown) => this.linkFailed(peerId, answering, error),
    )
  }

  private negotiate(peerId: string): Negotiation {
    const entry: Negotiation = {
      cancel: () => {},
      timer: this.core.clock.setTimeout(() => this.linkFailed(peerId, entry, new Error('timed out')), this.core.timers.linkTimeoutMs),
    }
    this.s.negotiating.set(peerId, entry)
    return entry
  }

  /**
   * Guest: drops every link still being negotiated. Following a new host, their offers and answers
   * went through one we follow no more and may never come: kept, each blocked the new host's ask
   * for that pair until it timed out, and a host lost meanwhile left survivors unlinked (seed 1777750).
   */
  stopAllNegotiating(): void {
    for (const peerId of [...this.s.negotiating.keys()]) this.stopNegotiating(peerId)
  }

  stopNegotiating(peerId: string): void {
    const entry = this.s.negotiating.get(peerId)
    if (!entry) return
    this.s.negotiating.delete(peerId)
    this.core.clock.clearTimeout(entry.timer)
    entry.cancel()
  }

  private linkFailed(peerId: string, entry: Negotiation, error: unknown): void {
    if (this.s.negotiating.get(peerId) !== entry) return
    this.stopNegotiating(peerId)
    this.core.diagnostic('link-failed', `Could not link directly to ${peerId}: ${(error as Error)?.message ?? String(error)}. Its updates still arrive through the host, which asks for the link again later.`, { peerId })
    // The host asks again for links we report missing.
    this.reportLinks()
  }

  private adoptPeerLink(link: Link, peerId: string, entry: Negotiation): void {
    if (this.s.negotiating.get(peerId) !== entry || !this.wantsLink(this.core.self.id, peerId) || !this.s.peers.has(peerId) || this.s.connOf(peerId)) {
      link.close('not-needed')
      return
    }
    this.s.negotiating.delete(peerId)
    this.core.clock.clearTimeout(entry.timer)
    const conn = this.parts.links.attach(link)
    conn.peerId = peerId
    this.reportLinks()
  }

  /** Guest: closes links the topology no longer wants (star, or a peer that left). */
  pruneGuestLinks(): void {
    let changed = false
    for (const conn of [...this.s.conns]) {
      if (conn === this.s.hostConn || !conn.peerId || conn.fenced) continue
      if (this.s.peers.has(conn.peerId) && this.wantsLink(this.core.self.id, conn.peerId)) continue
      this.parts.links.detach(conn, this.s.peers.has(conn.peerId) ? 'star' : 'peer-left')
      changed = true
    }
    for (const peerId of [...this.s.negotiating.keys()]) {
      if (!this.s.peers.has(peerId) || !this.wantsLink(this.core.self.id, peerId)) this.stopNegotiating(peerId)
    }
    if (changed) this.reportLinks()
  }

  reportLinks(): void {
    const peers = [...this.s.conns].filter((c) => c !== this.s.hostConn && c.peerId).map((c) => c.peerId!)
    this.parts.links.toHost(wire.links({ peers }))
  }
}
