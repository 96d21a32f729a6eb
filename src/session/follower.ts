/**
 * A follower's side: the host's hello and roster, bootstrap, authoritative deltas applied
 * in order, acks, and the outbox sent again when needed.
 */
import { andThen, type Maybe } from '../runtime/maybe.js'
import type { SessionViewer } from '../types.js'
import { wire } from '../wire/build.js'
import { decodeMessage, encodeText } from '../wire/codec.js'
import type { LinkMessage } from '../transport/transport.js'
import type { MessageOf, PeerInfo } from '../wire/messages.js'
import type { Lineage } from './lineage.js'
import type { OutboxEntry } from './outbox.js'
import { keyOf } from './resync.js'
import { type Change, type Conn, Part } from './state.js'

export class Follower<V extends SessionViewer = SessionViewer> extends Part<V> {
  onHello(conn: Conn, message: MessageOf<'hello'>): void | Promise<void> {
    this.parts.readmission.heard(message)
    // The host we follow saying hello again (it took us back): the roster is news, and what we missed.
    if (conn === this.s.hostConn && conn.peerId !== null) {
      this.adoptLineage(message.lineage)
      this.onRoster(message)
      // What we asked it for while it held our link fenced it dropped: a snapshot we wait for is asked
      // again, or we would wait for good, every delta held back (seed 745686).
      if (this.s.rebootstrapping) this.parts.links.sendTo(conn, wire.resend({ from: 0 }))
      else if (this.s.bootstrapped && message.seq > this.s.seq) this.parts.links.sendTo(conn, wire.resend({ from: this.s.seq + 1 }))
      // Our links, as we always answer a hello: a host that took us back lists us once we do.
      this.parts.mesh.reportLinks()
      return this.flushOutbox()
    }
    if (conn.peerId !== null) return this.parts.takeover.followNewHost(conn, message)
    conn.peerId = message.hostId
    this.s.hostId = message.hostId
    this.s.epoch = message.epoch
    this.s.lineage = message.lineage ?? []
    this.s.sessionId = message.sessionId
    this.core.emit('session-started', { sessionId: message.sessionId, role: 'guest', self: this.core.getSelf() })
    this.onRoster(message)
    this.parts.journaling.greeted(message)
  }

  onRoster({ rank: listed, peers: described, mesh, removed = [], left = [], keys }: Pick<MessageOf<'roster'>, 'rank' | 'peers' | 'mesh' | 'removed' | 'left' | 'keys'>): void {
    this.parts.readmission.learn(keys)
    this.learnRemoved(removed)
    const { rank, peers } = this.heldToWhatWeKnow(listed, described)
    const next = new Map(peers.filter((p) => p.id !== this.core.self.id).map((p) => [p.id, p]))
    this.core.formerNames.setAll([...next.values()].map((peer) => [peer.id, peer.name] as const))
    const me = described.find((p) => p.id === this.core.self.id)
    if (me?.access) this.core.self = { ...this.core.self, access: me.access }
    if (me?.color) this.core.self = { ...this.core.self, color: me.color }
    // A fenced old host that the new host took back is a peer again. One silent past the hard
    // timeout is a page that is gone (its user came back on a new page, which the roster lists):
    // unfenced, it would be dropped with that peer at the next beat, and its new link never form.
    const since = this.core.clock.now() - this.core.heartbeat.hardTimeoutMs
    for (const conn of [...this.s.conns]) {
      if (!conn.fenced || !conn.peerId || !next.has(conn.peerId)) continue
      if (conn.lastHeard > since) conn.fenced = false
      else this.parts.links.detach(conn, 'gone')
    }
    const previous = this.s.peers
    this.s.peers = next
    this.s.rank = rank
    this.s.succession = [...rank]
    const now = this.core.clock.now()
    for (const id of rank) this.s.rosterSeen.set(id, now)
    // Said goodbye to the host, maybe not to us: out of the electorate, yet free to come back.
    for (const id of left) this.s.rosterSeen.delete(id)
    this.listedLately(this.s.hostConn)
    this.s.successionAccess = new Map(peers.map((p) => [p.id, p.access ?? 'editor']))
    this.s.mesh = mesh
    for (const [id, peer] of next) if (!previous.has(id)) this.core.emit('session-peer-joined', { peer })
    for (const [id, peer] of previous) if (!next.has(id)) this.core.emit('session-peer-dropped', { peer, reason: 'left' })
    this.parts.mesh.pruneGuestLinks()
  }

  /**
   * A roster is our host's word on who else is here, held to what we know ourselves: who hosts is
   * the peer our link follows, first and as host, whatever the role fields say (a colluder that
   * hosted sent us our own old roster, naming us host: we followed nobody, seed 1773682); each peer
   * once (one listed five times, seed 1777969); none we know was removed (out for good, whoever
   * lists them). An honest host's roster passes as it is: itself first, each guest once, none removed.
   */
  private heldToWhatWeKnow(listed: readonly string[], described: readonly PeerInfo[]): { rank: string[]; peers: PeerInfo[] } {
    const self = this.core.self.id
    const { hostId: host, removed } = this.s
    const keep = (id: string) => id === self || id === host || !removed.has(id)
    const rank = [...new Set(host ? [host, ...listed] : listed)].filter(keep)
    const peers = [...new Map(described.filter((p) => keep(p.id)).map((p) => [p.id, p])).values()]
    if (host && host !== self && !peers.some((p) => p.id === host)) peers.push(this.s.peers.get(host) ?? { id: host, name: this.core.formerNames.get(host) ?? host, role: 'host' })
    const roleOf = (id: string): PeerInfo['role'] => (id === host ? 'host' : 'guest')
    return { rank, peers: peers.map((p) => (p.role === roleOf(p.id) ? p : { ...p, role: roleOf(p.id) })) }
  }

  /**
   * Removed by the host: out for good, kept out by whoever hosts next, and (like a peer that
   * said goodbye) it cannot stand on another side of a split.
   */
  private learnRemoved(removed: readonly string[]): void {
    for (const id of removed) {
      this.s.removed.touch(id)
      this.s.rosterSeen.delete(id)
    }
  }

  /**
   * Whom our lost host removed, in a roster its closed link left queued: learnt as from any
   * roster, and the removed peer leaves our view, links and election now (no later roster
   * drops it), so that, should we host next, we do not greet it as a survivor.
   */
  lateRemovals(removed: readonly string[]): void {
    this.learnRemoved(removed)
    const out = new Set(removed)
    for (const id of out) this.parts.failover.forgetPeer(id, 'removed')
    for (const conn of [...this.s.conns]) if (conn.peerId && out.has(conn.peerId)) this.parts.links.detach(conn, 'removed')
    this.parts.failover.strikeRemoved(out)
  }

  /**
   * Peers a roster listed within two hard timeouts of when the host was last known alive (the
   * latest of our pings it answered); older entries are forgotten here. A peer the host dropped
   * may be electing without it; a host cut off from such peers ends within that time, so one still
   * answering then was not. Not by our clock alone: a host that crashed mid-countdown, found gone
   * only after our own stall, left its guests a roster without the other side, and they elected a
   * second host by a majority of what was left (seed 1039593).
   */
  listedLately(host: Conn | null): string[] {
    const since = (host?.answered ?? this.core.clock.now()) - 2 * this.core.heartbeat.hardTimeoutMs
    for (const [id, at] of this.s.rosterSeen) if (at < since) this.s.rosterSeen.delete(id)
    return [...this.s.rosterSeen.keys()]
  }

  async onSnapshot(message: MessageOf<'snapshot'>, data?: LinkMessage): Promise<void> {
    if (this.s.bootstrapped && !this.s.rebootstrapping && message.seq < this.s.seq) {
      // An answer to an earlier request, overtaken by deltas we already applied: it would roll us back.
      this.core.diagnostic('stale-snapshot', `Ignored a snapshot at #${message.seq}; this peer is at #${this.s.seq}.`)
      return
    }
    const order = (p: string) => this.core.registry.priorityOf(p)
    const entries = message.entries.map((e, i) => ({ e, i })).sort((a, b) => order(a.e.p) - order(b.e.p) || a.i - b.i)
    /** The provider states this snapshot replaces; one it left out (its host's `snapshot()` failed) keeps what it held. */
    const replaced = new Set<string>()
    for (const { e } of entries) {
      const provider = this.core.registry.get(e.p)
      if (!provider) {
        this.core.diagnostic('unknown-provider', `Snapshot for provider "${e.p}", which this page does not have; skipped.`, { providerId: e.p })
        continue
      }
      const { ok, viewer } = this.parts.bridge.resolveViewer(provider, e.w)
      if (!ok) continue
      replaced.add(keyOf(provider.id, viewer?.uniqueId ?? null))
      await this.parts.links.breathe()
      await this.parts.bridge.callProvider(provider.id, 'applySnapshot', () => provider.applySnapshot(e.d, viewer), {})
    }
    this.s.seq = message.seq
    this.s.snapshotSeq = message.seq
    // Our state is the host's history now, and so is our lineage.
    if (this.s.nextLineage) this.s.lineage = this.s.nextLineage
    this.s.nextLineage = null
    this.parts.journaling.snapshotApplied(message, data?.length)
    // Every provider's state is the host's at `seq` now: no earlier reset's marks hold.
    this.s.resetAt.clear()
    // What we had seen no longer says what our state holds; the snapshot's ids do (and, for a
    // provider it left out, what we had seen or, as a host, failed on).
    this.parts.resync.keepLeftOut(replaced, this.s.seen, this.s.failedHere)
    this.s.seen.reset(message.ids)
    this.s.failedHere.reset([])
    this.s.replay.clear()
    // Intents the snapshot already reflects (listed, or at or below a number our host said holds them) are done;
    // the rest it replaced must be applied again.
    for (const entry of this.s.outbox.pending()) {
      if (!this.s.seen.has(entry.intentId) && !this.s.outbox.heldBy(entry.intentId, message.seq)) {
        if (replaced.has(this.parts.resync.keyOf({ p: entry.providerId, d: entry.payload }))) entry.overwritten = true
        continue
      }
      this.s.outbox.settle(entry.intentId)
      // In the history now, at a sequence number no later than the snapshot's.
      if (this.s.ownChanges.has(entry.intentId)) continue
      const own = wire.delta({ seq: message.seq, epoch: this.s.epoch, id: entry.intentId, origin: this.core.self.id, changes: [{ p: entry.providerId, d: entry.payload }] })
      this.s.ownChanges.set(entry.intentId, encodeText(own))
    }
    for (const seq of [...this.s.reorder.keys()]) if (seq <= message.seq) this.s.reorder.delete(seq)
    const first = !this.s.bootstrapped
    this.s.bootstrapped = true
    this.s.rebootstrapping = false
    if (first) {
      if (this.s.joinTimer) this.core.clock.clearTimeout(this.s.joinTimer)
      this.s.joinTimer = null
    }
    if (this.core.lifecycle.state === 'joining') this.core.lifecycle.to('connected')
    this.core.emit('session-bootstrap-complete', { entries: message.entries.length, seq: message.seq })
    const early = [...this.s.earlyDeltas.values()]
    this.s.earlyDeltas.clear()
    for (const delta of early) await this.onDelta(delta)
    await this.drainReorder()
    if (first) this.flushOutbox()
  }

  /**
   * Our host's lineage, as the lineage of the history we hold: at once, or, while we wait for its
   * snapshot, once that snapshot has replaced our state. Adopted before, it named the host's epoch
   * for sequence numbers we hold of another: elected meanwhile, we told survivors that their
   * diverging history agreed with ours, and they kept it (seed 1144124).
   */
  adoptLineage(lineage: Lineage = []): void {
    if (this.s.rebootstrapping) this.s.nextLineage = lineage
    else this.s.lineage = lineage
  }

  /** Sends every unconfirmed intent again, with its original id: the host dedupes. */
  flushOutbox(): void {
    if (!this.s.hostConn) return
    for (const entry of this.s.outbox.pending()) {
      this.parts.links.sendTo(this.s.hostConn, wire.intent({ id: entry.intentId, p: entry.providerId, d: entry.payload }))
    }
  }

  /** `data`: the delta as it came, kept as it is (for a resend, the journal) without a second encoding. */
  onDelta(message: MessageOf<'delta'>, data?: LinkMessage): Maybe<void> {
    if (!this.s.bootstrapped || this.s.rebootstrapping) {
      this.keepText(message, data)
      this.s.earlyDeltas.set(message.seq, message)
      return
    }
    // Only our current host (or the survivor we catch up from) gets here; an older epoch is
    // history it resends. A fenced old host's deltas are refused at the edge.
    if (message.epoch > this.s.epoch) return
    if (message.seq <= this.s.seq) {
      if (message.origin === this.core.self.id) this.s.outbox.settle(message.id)
      return
    }
    if (message.seq > this.s.seq + 1) {
      // Over budget, the oldest buffered go: they are asked for again once the gap fills.
      this.keepText(message, data)
      this.s.reorder.set(message.seq, message)
      this.requestResend()
      return
    }
    return andThen(this.applyAuthoritative(message, data), () => andThen(this.drainReorder(), () => this.checkDigest()))
  }

  /** A delta that waits keeps the text it came as: the buffers weigh it by that, and it is not encoded again. */
  private keepText(message: MessageOf<'delta'>, data: LinkMessage | undefined): void {
    if (data !== undefined) this.core.received.set(message, data)
  }

  private drainReorder(): Maybe<void> {
    for (let next = this.s.reorder.get(this.s.seq + 1); next; next = this.s.reorder.get(this.s.seq + 1)) {
      // At the new host's digest, compare before going past it; differ, and what follows waits for the snapshot.
      if (this.s.digestCheck?.seq === this.s.seq) return andThen(this.checkDigest(), () => (this.s.rebootstrapping ? undefined : this.drainReorder()))
      this.s.reorder.delete(next.seq)
      const applying = this.applyAuthoritative(next)
      if (applying) return applying.then(() => this.drainReorder())
    }
  }

  /** Asks the host for what is missing, once per gap position. */
  private requestResend(): void {
    const from = this.s.seq + 1
    if (this.s.resendRequested === from || !this.s.hostConn) return
    this.s.resendRequested = from
    this.core.diagnostic('seq-gap', `Missed deltas from #${from}; asking the host to resend.`)
    this.parts.links.sendTo(this.s.hostConn, wire.resend({ from }))
  }

  private applyAuthoritative(message: MessageOf<'delta'>, data?: LinkMessage): Maybe<void> {
    const session = this.s
    session.seq = message.seq
    const mine = message.origin === this.core.self.id ? session.outbox.settle(message.id) : undefined
    // Past where our host said it holds a change of ours whose delta did not reach us: our state has it.
    session.outbox.passed(message.seq)
    const applied = (session.seen.has(message.id) && !mine) || (mine && !mine.overwritten && asSent(message.changes, mine))
    // The provider first (what the person waits for), then the bookkeeping, in the same step.
    const applying = applied ? undefined : this.applyChanges(message, 0)
    session.seen.touch(message.id)
    // Kept as it came, to serve a resend: no second encoding.
    const encoded = data ?? this.core.received.get(message) ?? encodeText(message)
    // Ours only by what we know (an intent of ours it settles, a change we already hold as ours), never by
    // its origin field alone: handed over as ours, a host's forgery would outlive its reign (seed 2470772).
    if (mine || (message.origin === this.core.self.id && session.ownChanges.has(message.id))) session.ownChanges.set(message.id, encoded)
    this.parts.journaling.applied(message.seq, encoded, session.replay.add(message.seq, encoded))
    return applying
  }

  /** The delta's changes from the `from`th on, in order, each after the one before has finished. */
  private applyChanges(message: MessageOf<'delta'>, from: number): Maybe<void> {
    for (let i = from; i < message.changes.length; i++) {
      const change = message.changes[i]!
      if (this.parts.resync.holds(change, message.seq, message.id)) continue
      const applying = this.parts.bridge.applyChange(change, message.origin, message.id, message.seq)
      if (applying) return applying.then(() => this.applyChanges(message, i + 1))
    }
  }

  onAck(message: MessageOf<'ack'>): void {
    // Already in our host's history, at or below `seq`: its delta may still come (a resend behind this
    // ack), and must find the entry, or the change made here is applied again (seed 2236880). Settled
    // by that delta, or once our state is past `seq` without it; at once if it is already.
    if (message.ok && message.seq !== undefined) {
      this.s.outbox.confirm(message.id, message.seq)
      if (this.s.bootstrapped && !this.s.rebootstrapping) this.s.outbox.passed(this.s.seq)
      return
    }
    const entry = this.s.outbox.settle(message.id)
    if (!entry || message.ok) return
    const reason = message.reason ?? 'refused'
    const extra = { providerId: entry.providerId, intentId: entry.intentId, reason }
    if (reason === 'provider-error') this.core.diagnostic('intent-failed', `The host's provider "${entry.providerId}" failed on a change made here; taking that provider's state again.`, extra)
    else this.core.diagnostic('intent-refused', `The host refused a change to "${entry.providerId}" (${reason}); it was undone.`, extra)
    // Undo our optimistic change in that provider alone, by taking its state again: a whole
    // snapshot would hold back every other provider's deltas until it came.
    if (reason !== 'unknown-provider') this.parts.resync.request(entry.providerId)
  }

  /**
   * Asks our host for a fresh snapshot. Newer deltas wait for it: it travels as bulk, and they may overtake it.
   * `held`: the lineage of our history when it is not our host's after all; the host's waits for its snapshot.
   */
  rebootstrap(held?: Lineage): void {
    if (this.s.rebootstrapping || !this.s.hostConn) return
    this.awaitSnapshot(held)
    this.parts.links.sendTo(this.s.hostConn, wire.resend({ from: 0 }))
  }

  /**
   * Our host's snapshot is to replace our state. `held`: the lineage of the history we hold
   * meanwhile, when it is not the host's; the host's is ours once the snapshot comes (`onSnapshot`).
   */
  awaitSnapshot(held?: Lineage): void {
    this.s.rebootstrapping = true
    if (!held) return
    this.s.nextLineage = this.s.lineage
    this.s.lineage = held
  }

  /** A delta from our own replay log or journal: what we validated (or encoded) ourselves. */
  readonly keptDelta = (encoded: LinkMessage): MessageOf<'delta'> => decodeMessage(encoded, this.core.limits.maxMessageBytes) as MessageOf<'delta'>

  /**
   * Follower: at the sequence number the takeover digest describes, compare; differ → re-bootstrap,
   * and our lineage is that of the history we hold until the snapshot comes (seed 1144124's rule).
   * Called after each delta and, ahead of a gap filled at once, in `drainReorder`: never past that number.
   */
  checkDigest(): Maybe<void> {
    const check = this.s.digestCheck
    if (!check || this.s.seq < check.seq || this.s.rebootstrapping) return
    this.s.digestCheck = null
    if (this.s.seq > check.seq) return
    return this.parts.bridge.stateDigest().then((digest) => {
      if (digest === check.digest) return
      this.core.diagnostic('digest-mismatch', `State differs from the new host's at #${check.seq}; fetching a fresh snapshot.`)
      this.rebootstrap(check.held)
    })
  }
}

/** Our own change, exactly as we sent it (one change, same provider, same JSON): this page applied it already. */
function asSent(changes: Change[], mine: OutboxEntry): boolean {
  return changes.length === 1 && changes[0]!.p === mine.providerId && JSON.stringify(changes[0]!.d) === mine.json
}
