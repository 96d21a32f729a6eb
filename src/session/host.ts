/**
 * The host's side: admission, intents turned into authoritative deltas, handed-over
 * changes, replay and snapshots, dropping and removing peers.
 */
import { SessionStateError } from '../errors.js'
import { providerDelta } from '../providers/fields.js'
import type { SessionViewer } from '../types.js'
import { wire } from '../wire/build.js'
import { encodeText } from '../wire/codec.js'
import { MAX_LEFT, MAX_REMOVED, type MessageOf, type PeerInfo, type WireMessage } from '../wire/messages.js'
import { pickColour } from './colours.js'
import { lastAnswered } from './liveness.js'
import { checkSize } from '../wire/shape.js'
import { type ApplyContext, type Change, type Conn, Part } from './state.js'

type Resume = MessageOf<'join'>['resume']

/** How often a snapshot is collected again when host changes were made while it was collected. */
const SNAPSHOT_ATTEMPTS = 3

export class HostSide<V extends SessionViewer = SessionViewer> extends Part<V> {
  async onJoin(conn: Conn, message: MessageOf<'join'>): Promise<void> {
    conn.joined = true
    const user = message.user
    if (message.inviteId !== conn.inviteId) {
      this.core.diagnostic('join-refused', `Refused a join for invite ${message.inviteId} on a link opened for another invite.`)
      return this.parts.links.detach(conn, 'wrong-invite')
    }
    const returning = this.parts.readmission.returning(conn, user.id, message.resume?.token)
    if (returning === 'duplicate') {
      this.core.diagnostic('join-refused', `Refused a join from "${user.name}": user id ${user.id} is already in the session, and did not prove it is the same peer.`)
      return this.turnAway(conn, user, 'duplicate-user')
    }
    if (this.s.removed.has(user.id)) return this.turnAway(conn, user, 'removed')
    // The same peer, back from a crash or a sleep (its token proves it): the admit hook let it in already.
    if (returning === 'back') return this.admit(conn, user, message.resume, true)
    const admit = this.core.options.admit
    if (admit) {
      // Asking may take a person's time: never hold up the session while they decide.
      const session = this.s
      Promise.resolve()
        .then(() => admit({ ...user, role: 'guest' }, { inviteId: message.inviteId, access: conn.access ?? 'editor' }))
        .catch((error: unknown) => {
          this.core.diagnostic('admit-error', `The admit hook failed: ${(error as Error)?.message ?? String(error)}; refusing.`, { error })
          return false
        })
        .then((ok) => {
          if (!this.current(session) || !this.s.conns.has(conn)) return
          if (ok) this.parts.links.serial(() => this.admit(conn, user, message.resume))
          else this.turnAway(conn, user, 'refused')
        })
      return
    }
    await this.admit(conn, user, message.resume)
  }

  /**
   * The joiners that waited while we were cut off: once we are not, let in (or turned away, as
   * ever); once we follow another host, turned away, as this session goes on there.
   */
  admitParked(): void {
    if (this.s.isolatedSince !== null) return
    for (const { conn, user, admit } of this.s.parkedJoins.splice(0)) {
      if (!this.s.conns.has(conn)) continue
      if (this.s.role === 'host') admit()
      else this.turnAway(conn, user, 'cut-off')
    }
  }

  private turnAway(conn: Conn, user: PeerInfo, reason: string): void {
    this.core.diagnostic('join-refused', `Refused "${user.name}" (${reason}).`, { peerId: user.id })
    this.parts.links.sendTo(conn, wire.end({ reason }))
    this.parts.links.detach(conn, reason)
  }

  /** `back`: the peer is here already, and its new link replaces its old one. */
  private async admit(conn: Conn, user: PeerInfo, resume?: Resume, back = false): Promise<void> {
    if (this.s.peers.has(user.id) && !back) return this.parts.links.detach(conn, 'duplicate-user')
    // Cut off from most of the session, this host may have been replaced: it grows nothing
    // the others cannot see (they would elect by a smaller roster than ours). The joiner waits:
    // most often its guests answer within a beat (after a stall of ours), and it is let in then;
    // should this session end, its END says so (see admitParked).
    if (this.s.isolatedSince !== null) {
      this.s.parkedJoins.push({ conn, user, admit: () => this.parts.links.serial(() => this.admit(conn, user, resume, back)) })
      return
    }
    // Its old link goes (below) and it leaves the roster, to come back in it at once: its mesh links form again.
    if (back) this.dropPeer(user.id, 'resumed')
    const peer: PeerInfo = { id: user.id, name: user.name, role: 'guest', color: this.colourFor(user.id), ...(conn.access === 'viewer' ? { access: 'viewer' as const } : {}) }
    this.parts.readmission.closeOldLinks(conn, peer.id)
    conn.peerId = peer.id
    conn.admittedAt = this.core.clock.now()
    this.s.peers.set(peer.id, peer)
    // Back (with a new invite, say): a stale goodbye must not drop it from guests' electorate.
    this.s.left.delete(peer.id)
    this.s.successionAccess.set(peer.id, conn.access ?? 'editor')
    this.s.rank.push(peer.id)
    this.parts.mesh.setTopology()
    this.core.formerNames.set(peer.id, peer.name)
    this.sendHello(conn, undefined, this.parts.readmission.issue(peer.id, peer.access ?? 'editor'))
    this.parts.links.broadcast(this.rosterMessage(), conn)
    if (this.core.lifecycle.state === 'hosting') this.core.lifecycle.to('connected')
    this.core.emit('session-peer-joined', { peer })
    this.parts.mesh.requestMeshLinks()
    await this.bootstrap(conn, resume)
  }

  /** A peer back from a reload holds the session up to `resume.seq`: it gets what came after, when the replay log still has it. */
  private async bootstrap(conn: Conn, resume?: Resume): Promise<void> {
    const missed = resume && resume.epoch === this.s.epoch && resume.seq <= this.s.seq ? this.s.replay.range(resume.seq + 1, this.s.seq) : undefined
    if (!missed) return this.sendSnapshot(conn)
    for (const encoded of missed) this.parts.links.sendBytes(conn, encoded)
  }

  /** A colour for a user joining now, away from everyone's in the session. */
  colourFor(userId: string): string {
    return pickColour(userId, this.rosterPeers().map((p) => p.color))
  }

  rosterMessage(): WireMessage {
    return wire.roster({ rank: this.s.rank, peers: this.rosterPeers(), mesh: this.s.mesh, ...this.removedList(), ...this.leftList(), keys: this.parts.readmission.keys() })
  }

  /** Whom we removed, for every guest to hold: whoever hosts next keeps them out too. */
  private removedList(): { removed?: string[] } {
    return this.s.removed.size > 0 ? { removed: this.s.removed.recent(MAX_REMOVED) } : {}
  }

  /** Who said goodbye to us lately: a guest their goodbye missed must not wait for them in an election. */
  private leftList(): { left?: string[] } {
    return this.s.left.size > 0 ? { left: this.s.left.recent(MAX_LEFT) } : {}
  }

  private rosterPeers(): PeerInfo[] {
    return [this.core.self, ...this.s.peers.values()]
  }

  private async sendSnapshot(conn: Conn): Promise<void> {
    const { seq, ids, entries } = await this.labelledSnapshot()
    if (this.s.conns.has(conn)) this.parts.links.sendTo(conn, wire.snapshot({ seq, ids, entries }))
  }

  /**
   * Every provider's state (or only one's) with the label that says what it holds: the
   * sequence number and the intent ids it reflects. The label is read in the same
   * synchronous stretch in which every provider's `snapshot()` is called (collectSnapshot
   * starts them all before it returns), so no host change can fall between label and
   * content, however long a provider takes to resolve. Holding local changes back instead
   * would not help: the provider's own state has changed by the time it emits. A provider
   * that reads its state late (after an await) could still take in a change made while we
   * wait; when the sequence number moved meanwhile, we collect again, a few times at most,
   * and then rely on the contract (a snapshot is the state when it was called).
   */
  async labelledSnapshot(only?: string): Promise<{ seq: number; ids: string[]; entries: MessageOf<'snapshot'>['entries'] }> {
    for (let attempt = 1; ; attempt++) {
      const collecting = this.parts.bridge.collectSnapshot(only)
      const seq = this.s.seq
      const ids = this.s.seen.recent(this.core.limits.replayLogSize)
      const entries = await collecting
      if (this.s.seq === seq || attempt >= SNAPSHOT_ATTEMPTS) return { seq, ids, entries }
    }
  }

  async onIntent(conn: Conn, message: MessageOf<'intent'>): Promise<void> {
    const origin = conn.peerId!
    const ack = (answer: { ok: boolean; reason?: string; seq?: number }) => this.parts.links.sendTo(conn, wire.ack({ id: message.id, ...answer }))
    // Sent again, and in our history: its delta is at or below our `seq`, and may still be on its way
    // to the guest (behind a gap it asked us to fill); the guest waits for it, or to be past `seq`.
    if (this.s.seen.has(message.id)) return ack({ ok: true, seq: this.s.seq })
    // Sent again (a flushed outbox): the same answer, and the provider does not see it twice.
    const declined = this.s.declined.of(origin).get(message.id)
    if (declined) return ack({ ok: false, reason: declined })
    if (!this.authorized(conn, message)) {
      this.core.diagnostic('intent-unauthorized', `Refused a change to "${message.p}" from ${origin}: not allowed.`, { peerId: origin, providerId: message.p })
      return this.decline(conn, message, 'unauthorized')
    }
    // Only an intent that takes effect is remembered in `seen` (broadcastDelta records it): a
    // flood of refused ones must not push real ids out of the dedupe window.
    const provider = this.core.registry.get(message.p)
    if (!provider) {
      this.core.diagnostic('unknown-provider', `Intent from ${origin} for unknown provider "${message.p}" refused.`, { peerId: origin, providerId: message.p })
      return ack({ ok: false, reason: 'unknown-provider' })
    }
    const { ok, viewer } = this.parts.bridge.resolveViewer(provider, message.d.viewerId, origin)
    if (!ok) return this.decline(conn, message, 'unknown-viewer')
    const context: ApplyContext = { capture: [] }
    const { failed, value } = await this.parts.bridge.deliver(provider, viewer, message.d, { providerId: provider.id, origin, intentId: message.id }, context)
    // A provider that throws has refused nothing: the guest is told it failed (not that it was
    // refused) and takes that provider's state again; no other provider is touched.
    if (failed) return this.decline(conn, message, 'provider-error')
    if (value === false) return this.decline(conn, message, 'refused')
    const asSent = [{ p: provider.id, d: message.d }]
    try {
      this.broadcastDelta(message.id, origin, context.capture!.length ? context.capture! : asSent)
    } catch (error) {
      // What the provider emitted cannot travel (too large, not JSON): the others get the
      // change as the guest sent it, which did travel, so every peer still applies it.
      this.core.diagnostic('capture-unsendable', `Provider "${provider.id}" answered a change from ${origin} with one that cannot be sent (${(error as Error).message}); sending the change as made.`, { providerId: provider.id, peerId: origin, error })
      this.broadcastDelta(message.id, origin, asSent, this.core.limits.maxMessageBytes)
    }
  }

  /**
   * A change that did not take effect here: the guest gets an ack that says why and may ask
   * for that provider's state once (`resync`), to undo its optimistic change; only then.
   */
  private decline(conn: Conn, message: MessageOf<'intent'>, reason: string): void {
    this.s.declined.of(conn.peerId!).set(message.id, reason)
    if (reason === 'provider-error') this.s.failedHere.touch(message.id)
    if (this.core.registry.get(message.p)) (conn.owed ??= new Set()).add(message.p)
    this.parts.links.sendTo(conn, wire.ack({ id: message.id, ok: false, reason }))
  }

  /** Viewers may not change anything; `authorizeIntent` refines the rule per provider and kind. */
  private authorized(conn: Conn, message: Pick<MessageOf<'intent'>, 'id' | 'p' | 'd'>): boolean {
    const peer = this.s.peers.get(conn.peerId!)
    if (!peer) return false
    const allowed = (peer.access ?? 'editor') === 'editor'
    const hook = this.core.options.authorizeIntent
    if (!hook) return allowed
    try {
      const delta = providerDelta(message.d, { providerId: message.p, origin: peer.id, intentId: message.id })
      return hook({ intentId: message.id, providerId: message.p, origin: peer.id, delta }, peer, allowed) === true
    } catch (error) {
      this.core.diagnostic('authorize-error', `authorizeIntent threw: ${(error as Error)?.message ?? String(error)}; refusing.`, { error })
      return false
    }
  }

  /** Host: removes a guest. It is told, its links go on every peer, and it cannot come back. */
  kick(peerId: string, reason = 'removed'): void {
    if (this.s.role !== 'host') throw new SessionStateError('not-host', 'Only the host can remove a peer.')
    this.s.removed.touch(peerId)
    this.parts.readmission.forget(peerId)
    const conn = this.s.connOf(peerId)
    if (conn) {
      // Removed while away, it has not heard so and may be electing without us: it still counts
      // among those who could, as one whose link closed (else a cut-off host stops counting down).
      // So does one unheard past a beat: a cut just begun is not yet marked away (seed 788259); and
      // one heard but answering none of our pings past a beat, a cut one way just begun: our END is
      // lost on its way as surely, and it elects from the roster it held when it last heard us.
      const now = this.core.clock.now()
      const beat = this.core.heartbeat.intervalMs
      const since = conn.awaySince ?? (now - conn.lastHeard > beat || now - conn.answeredAt > beat ? lastAnswered(conn) : undefined)
      if (since !== undefined) this.s.depart(conn, since, now)
      this.parts.links.sendTo(conn, wire.end({ reason }))
      this.parts.links.detach(conn, reason)
    }
    this.dropPeer(peerId, reason)
  }

  /**
   * New host: a survivor hands over a change of its own that we never got (the gate lets
   * nothing else through): checked like its intent, applied and re-issued once.
   */
  async onForward(conn: Conn, message: MessageOf<'forward'>): Promise<void> {
    if (this.s.seen.has(message.id)) return
    // We already declined it, sent to us as its origin's intent: that answer stands, and the provider does not see it again.
    if (this.s.declined.of(message.origin).get(message.id)) return
    for (const change of message.changes) {
      if (!this.authorized(conn, { id: message.id, p: change.p, d: change.d })) {
        this.core.diagnostic('intent-unauthorized', `Refused a handed-over change to "${change.p}" from ${conn.peerId}: not allowed.`, { peerId: conn.peerId ?? undefined, providerId: change.p })
        return
      }
    }
    this.s.seen.touch(message.id)
    for (const change of message.changes) await this.parts.bridge.applyChange(change, message.origin, message.id)
    this.broadcastDelta(message.id, message.origin, message.changes)
  }

  /** Throws (and changes nothing) when `changes` cannot be encoded, or encode larger than `maxBytes`. */
  broadcastDelta(intentId: string, origin: string, changes: Change[], maxBytes = this.core.limits.maxDeltaBytes): void {
    const seq = this.s.seq + 1
    // Sent as text (a text frame, as it is), and kept so.
    const text = encodeText(wire.delta({ seq, epoch: this.s.epoch, id: intentId, origin, changes }))
    checkSize(text, maxBytes, changes[0]!.p)
    this.s.seq = seq
    // Out first, then kept: the guests' wait is the time to the last send.
    for (const conn of this.s.conns) if (conn.peerId && !conn.fenced) this.parts.links.sendBytes(conn, text)
    this.s.seen.touch(intentId)
    if (origin === this.core.self.id) this.s.ownChanges.set(intentId, text)
    this.parts.journaling.applied(seq, text, this.s.replay.add(seq, text))
  }

  /**
   * Deltas `from`..now from the replay log, or a snapshot when the log no longer has them
   * all. A snapshot costs the host far more than the request: a few per link per window,
   * one at a time; beyond, one more is sent in the next window (an honest guest waiting
   * to re-bootstrap is served late, never stranded), and requests meanwhile cost nothing.
   */
  serveMissing(conn: Conn, from: number): Promise<void> | void {
    if (!this.withinBudget(conn, 'resend')) return this.overBudget(conn, 'resend')
    const missed = from <= this.s.seq ? this.s.replay.range(from, this.s.seq) : []
    if (missed && from !== 0) {
      for (const encoded of missed) this.parts.links.sendBytes(conn, encoded)
      return
    }
    if (conn.snapshotOwed) return
    if (!this.withinBudget(conn, 'snapshot')) {
      conn.snapshotOwed = true
      this.overBudget(conn, 'snapshot')
      const session = this.s
      this.core.clock.setTimeout(() => {
        if (this.current(session) && this.s.conns.has(conn)) this.parts.links.serial(() => this.sendOwedSnapshot(conn))
      }, this.core.heartbeat.hardTimeoutMs)
      return
    }
    conn.snapshotOwed = true
    return this.sendOwedSnapshot(conn)
  }

  private async sendOwedSnapshot(conn: Conn): Promise<void> {
    try {
      await this.sendSnapshot(conn)
    } finally {
      conn.snapshotOwed = false
    }
  }

  /** Requests of one kind per link per hard timeout: each costs us more than it costs the sender. */
  withinBudget(conn: Conn, kind: 'resend' | 'snapshot' | 'signal'): boolean {
    const now = this.core.clock.now()
    const served = (conn.served ??= new Map())
    let window = served.get(kind)
    if (!window || now - window.since >= this.core.heartbeat.hardTimeoutMs) served.set(kind, (window = { since: now, count: 0 }))
    return ++window.count <= this.core.timers[`${kind}Budget`]
  }

  /** Reported once per window and kind, not once per request: a flood must not become a flood of diagnostics. */
  overBudget(conn: Conn, kind: 'resend' | 'snapshot' | 'signal'): void {
    const window = conn.served?.get(kind)
    if (window && window.count !== this.core.timers[`${kind}Budget`] + 1) return
    this.core.diagnostic('budget-exceeded', `${conn.peerId} sent too many ${kind} requests; ${kind === 'snapshot' ? 'one more is answered in a while' : 'the rest are dropped for now'}.`, { peerId: conn.peerId ?? undefined, reason: `${kind}-budget` })
  }

  dropPeer(peerId: string, reason: string): void {
    if (!this.s.peers.has(peerId)) return
    this.parts.failover.forgetPeer(peerId, reason)
    if (this.s.role === 'host') {
      this.s.reported.delete(peerId)
      // Nobody is linked to it any more: should it come back (a resume), its links form again.
      for (const linked of this.s.reported.values()) linked.delete(peerId)
      this.parts.mesh.setTopology()
      this.parts.links.broadcast(this.rosterMessage())
      this.parts.mesh.relink(peerId)
    }
    this.parts.liveness.updateConnectivity()
  }

  /** `token`: the resume token of a guest just admitted, for it alone. */
  sendHello(conn: Conn, digest?: { digest: string; seq: number }, token?: string): void {
    this.parts.links.sendTo(conn, wire.hello({
      sessionId: this.s.sessionId, epoch: this.s.epoch, hostId: this.core.self.id,
      rank: this.s.rank, peers: this.rosterPeers(), mesh: this.s.mesh, seq: this.s.seq, keys: this.parts.readmission.keys(),
      ...(digest ? { digest: digest.digest, digestSeq: digest.seq } : {}),
      ...(this.s.lineage.length ? { lineage: this.s.lineage } : {}),
      ...this.removedList(),
      ...this.leftList(),
      ...(token !== undefined ? { token } : {}),
    }))
  }
}
