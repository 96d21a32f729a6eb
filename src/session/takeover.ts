/**
 * Following a new host, and taking peers back: who may claim to be our host, following
 * one, handing over, and re-admitting a peer we stopped hearing.
 */
import type { SessionViewer } from '../types.js'
import { wire } from '../wire/build.js'
import type { MessageOf, PeerInfo } from '../wire/messages.js'
import { epochAt, type Lineage, spliced } from './lineage.js'
import { endRosterGap, lastAnswered } from './liveness.js'
import { type Conn, type Election, Part } from './state.js'

export class Takeover<V extends SessionViewer = SessionViewer> extends Part<V> {
  /**
   * Whether a hello may make its sender our host. Our host's link is ours from the invite;
   * anyone else becomes host only through an election we take part in, as the winner we
   * back — or, for a host, only when a majority of its session, each over its own link,
   * says it follows that successor now (after a stall or a partition of the host's).
   */
  helloRefusal(conn: Conn, hello: MessageOf<'hello'>): string | null {
    if (conn === this.s.hostConn) {
      if (conn.peerId === null) return null
      return hello.hostId === this.s.hostId && hello.epoch === this.s.epoch ? null : 'host-claim-changed'
    }
    if (hello.hostId !== conn.peerId) return 'names-another-host'
    if (this.s.role === 'host') {
      if (this.core.formerNames.get(conn.peerId) === undefined || conn.access === 'viewer' || !this.parts.failover.eligible(conn.peerId)) return 'not-eligible'
      // It hosts now: whom it said it followed before is no longer its word, and must not make that host real (seed 1171985).
      this.withdrawWord(conn.peerId)
      if (this.corroborated(hello.hostId, hello.epoch)) return null
      // Its followers may yet tell us: keep the latest claim until a majority has.
      this.s.claims.set(conn.peerId, { conn, hello })
      this.strays(conn)
      return 'host-still-leads'
    }
    if (this.s.handedTo?.hostId === conn.peerId && this.s.handedTo.epoch === hello.epoch) return null
    const election = this.s.election
    if (!election) {
      // Our host may yet tell us it stepped down for this one: keep the latest claim until then.
      this.s.claims.set(conn.peerId, { conn, hello })
      return 'no-election'
    }
    if (hello.epoch !== election.epoch + 1) return 'wrong-epoch'
    // It told us on its own link that it backs another: a peer backs one per election, a winner
    // itself, so it did not win. Its first word counts, as any backer's — also where we cannot
    // count a majority and would take the word of the one we backed (seed 1531703).
    if (this.backedBy(conn.peerId, conn.peerId, election) !== conn.peerId) return 'backs-another'
    // Its latest word on its own link in this election is that the host lives: it stands no more. An
    // honest peer says so only before it loses the host, and its candidacy then withdraws it (seed 1696499).
    if (election.alive.has(conn.peerId)) return 'says-host-lives'
    if (election.backed && election.backed !== conn.peerId) {
      // We backed another, yet a majority of the electorate backed this one, each on its own link
      // to us: it won, the one we backed lost. Its backers' word may still be on its way.
      if (this.countedWin(conn.peerId, election)) return null
      this.s.claims.set(conn.peerId, { conn, hello })
      return 'backed-another'
    }
    if (!election.backed) {
      const best = this.parts.failover.winnerOf(election, [...election.votes.keys(), conn.peerId])
      if (best !== conn.peerId) return 'better-candidate'
    }
    const won = this.visiblyWon(conn.peerId, election)
    if (won) return null
    // Its backers' word may still be on its way: keep the latest claim until it comes, or the election's timer ends.
    if (won === null) this.s.claims.set(conn.peerId, { conn, hello })
    return 'unbacked'
  }

  /**
   * Guest: whether `candidate` won, as we can count it ourselves: its hello (its own back), our
   * back, and each survivor's `backing` on its own link. A candidate that lost may still greet
   * those that backed it; its word is not enough. `null`: not yet (hold its hello).
   */
  private visiblyWon(candidate: string, election: Election): boolean | null {
    const { members, needed } = election.quorum
    const said = (id: string) => this.backedBy(id, candidate, election)
    // The lost host backs nobody; one that said it backs another never backs this one (its first word counts).
    const possible = [...members].filter((id) => id !== election.lostHost && (said(id) ?? candidate) === candidate)
    if (possible.length < needed) return false
    if (this.countedWin(candidate, election)) return true
    // Who may yet tell us: it stood on a link of ours that is open and not silent (its word follows its candidacy).
    const open = (id: string, conn = this.s.connOf(id)) => !!conn && !conn.fenced && !conn.stale
    const unsaid = possible.filter((id) => said(id) === undefined)
    const pending = unsaid.filter((id) => election.votes.has(id) && open(id))
    if (possible.length - unsaid.length + pending.length >= needed) return null
    // Known limit: where too few of the quorum stood on our links to ever make a majority we can
    // count (a star, a mesh not yet whole, a side of a split), we take the word of the one we
    // backed: there a forged win and a real one look alike. Only once we backed it: before our
    // own choice, a better candidate may yet stand (a claim held from before the election
    // made a guest that had not won our host, seed 1247700). `decide` looks at it again.
    return election.backed === candidate ? true : null
  }

  /** Whom `id` backs in this election, as we know it: its `backing`, our own back, a candidate's own hello. */
  private backedBy(id: string, candidate: string, election: Election): string | undefined {
    return this.backingOf(id, election) ?? (id === this.core.self.id ? election.backed : id === candidate ? candidate : undefined)
  }

  /** Whom `id` told us itself, on its own link, that it backs in this election: its `backing`, or itself where it greeted us as the winner. */
  saidBacks(id: string, election: Election): string | undefined {
    return this.backingOf(id, election) ?? (this.claimants(election).includes(id) ? id : undefined)
  }

  private backingOf(id: string, election: Election): string | undefined {
    const backing = this.s.backings.get(id)
    return backing?.epoch === election.epoch ? backing.for : undefined
  }

  /** Guest: whether a majority of the electorate (the lost host aside) backed `candidate`, each as it told us itself. */
  private countedWin(candidate: string, election: Election): boolean {
    const { members, needed } = election.quorum
    return [...members].filter((id) => id !== election.lostHost && this.backedBy(id, candidate, election) === candidate).length >= needed
  }

  /** Guest: a survivor linked to us says whom it backs. Its first word per election counts: one that equivocates is counted once. */
  onBacking(conn: Conn, message: MessageOf<'backing'>): void | Promise<void> {
    if (this.s.role !== 'guest' || message.epoch !== this.s.epoch) return
    const backer = conn.peerId!
    if (this.s.backings.get(backer)?.epoch === message.epoch) return
    this.s.backings.set(backer, { epoch: message.epoch, for: message.for })
    return this.recheckClaims()
  }

  /** Guest: members whose held hello says they won this election. Each stood: its candidacy may have come before our election began. */
  claimants(election: Election): string[] {
    const live = (conn: Conn) => this.s.conns.has(conn) && !conn.fenced
    return [...this.s.claims].filter(([id, { conn, hello }]) => hello.epoch === election.epoch + 1 && live(conn) && election.quorum.members.has(id)).map(([id]) => id)
  }

  /** Guest: a claim we held may be ours to follow now (its backers spoke, or we backed it). */
  recheckClaims(): void | Promise<void> {
    for (const { conn, hello } of this.s.claims.values()) {
      if (this.s.conns.has(conn) && !conn.fenced && this.helloRefusal(conn, hello) === null) return this.parts.follower.onHello(conn, hello)
    }
  }

  /**
   * Host: whether enough of its session follow `hostId` (itself included) that it can have
   * won an election without us: a majority of the members we had, as each says on its link.
   */
  private corroborated(hostId: string, epoch: number): boolean {
    const members = new Set([this.core.self.id, ...this.s.rank])
    for (const conn of this.s.conns) if (conn.peerId) members.add(conn.peerId)
    // Only members' word counts: one that has left is no more of the majority than of the members
    // (two colluding guests: one's word, then its goodbye, made the other's claim alone a majority).
    const followers = new Set([...(this.s.movedOn.get(`${hostId}@${epoch}`) ?? [])].filter((id) => members.has(id)))
    followers.add(hostId)
    // Word of a later epoch makes an earlier claim stale (its host was replaced in turn) —
    // when as many say so: one forged word must not keep us from a real successor.
    for (const [key, later] of this.s.movedOn) {
      if (Number(key.slice(key.lastIndexOf('@') + 1)) > epoch && later.size >= followers.size) return false
    }
    return followers.size >= Math.floor(members.size / 2) + 1
  }

  /**
   * Host: a peer of ours follows (or is) another host, from the latest of our pings it answered
   * before saying so: `checkIsolation` must not count a guest admitted since in that host's
   * electorate. Not on the next beat (seed 729712), nor on the word's arrival: a peer answers no
   * ping once it has fenced us, so that ping is the last word of ours it is known to have held
   * when it elected; a roster sent after it may have waited behind a partition (seed 1661036).
   */
  private strays(conn: Conn): void {
    conn.awaySince ??= lastAnswered(conn)
  }

  /** Our host stepped down for a successor: its hello is ours to follow, whether it came already or comes next. */
  onHandover(conn: Conn, message: MessageOf<'handover'>): void | Promise<void> {
    if (this.s.role === 'host') return this.onMovedOn(conn, message)
    // No open link to the successor (it dropped us while we stood still): its hello can never
    // come, and our old host's pings would keep us following it. It no longer hosts: it is lost.
    const successor = this.s.connOf(message.hostId)
    if (!successor || successor.fenced) return this.steppedDownOutOfReach(conn)
    this.s.handedTo = { hostId: message.hostId, epoch: message.epoch }
    const claim = this.s.claims.get(message.hostId)
    if (claim && claim.hello.epoch === message.epoch && this.s.conns.has(claim.conn)) return this.followNewHost(claim.conn, claim.hello)
  }

  /** Guest: our host stepped down for a host we cannot reach. As after its goodbye, we elect without it (or end). */
  private steppedDownOutOfReach(conn: Conn): void {
    this.parts.links.detach(conn, 'stepped-down')
    this.parts.failover.onHostLost('stepped-down', true)
  }

  /** Guest: our old host speaks again; say (once a heartbeat) whom we follow, so it can step down. */
  tellMovedOn(conn: Conn): void {
    const now = this.core.clock.now()
    if (!this.s.hostId || conn.peerId === this.s.hostId || now - (conn.toldMovedOn ?? -Infinity) < this.core.heartbeat.intervalMs) return
    conn.toldMovedOn = now
    this.parts.links.sendTo(conn, wire.handover({ epoch: this.s.epoch, hostId: this.s.hostId }))
  }

  /** Host: a peer follows one host at a time (or hosts itself): its latest word replaces whom it said it followed before. */
  private withdrawWord(peerId: string): void {
    for (const [key, followers] of this.s.movedOn) if (followers.delete(peerId) && !followers.size) this.s.movedOn.delete(key)
  }

  /** Host: a peer of ours says it follows another host now (we were cut off, or stood still). */
  private onMovedOn(conn: Conn, message: MessageOf<'handover'>): void | Promise<void> {
    const key = `${message.hostId}@${message.epoch}`
    if (message.epoch <= this.s.epoch) return
    this.withdrawWord(conn.peerId!)
    const followers = this.s.movedOn.get(key) ?? new Set<string>()
    followers.add(conn.peerId!)
    this.s.movedOn.set(key, followers)
    this.strays(conn)
    const claim = this.s.claims.get(message.hostId)
    if (!claim || claim.hello.epoch !== message.epoch || !this.s.conns.has(claim.conn)) return
    if (this.corroborated(message.hostId, message.epoch)) return this.followNewHost(claim.conn, claim.hello)
  }

  /**
   * Deltas we applied that a new host never got: past its hello's sequence number, or of
   * another epoch than its lineage gives their sequence number (a host that went on after it
   * was replaced, however many failovers back; all of `hostedEpoch`'s, when we hosted it). We
   * hand over our own changes among them (`isOwn`), as their origin may; nobody's word is taken for
   * another's (that origin hands its own over). Returns how many it lacks: then we take its state.
   */
  handOverOwn(conn: Conn, message: MessageOf<'hello'>, hostedEpoch: number | null): number {
    const beyond = this.lacking(message.lineage ?? [], message.seq, hostedEpoch)
    for (const delta of beyond) {
      if (this.isOwn(delta)) this.parts.links.sendTo(conn, wire.forward({ id: delta.id, origin: delta.origin, changes: delta.changes }))
    }
    return beyond.length
  }

  /**
   * Elected: our own changes that our own history lacks, handed over to ourselves as to any
   * winner. A snapshot replaced our state with that of a host which had not yet applied what we
   * handed it (a resumed page's journal: the host's snapshot comes with its hello), and that host
   * was lost (seed 1171834). One we hold under its id (the snapshot's ids, a delta since) is in it.
   */
  ownLacking(): MessageOf<'delta'>[] {
    return this.lacking(this.s.lineage, this.s.seq, null).filter((d) => this.isOwn(d) && !this.s.seen.has(d.id))
  }

  /**
   * A change we made, as we know it (`ownChanges`: our intents' deltas, our changes as host), not as a delta's
   * origin field says: a host (a hostile one, elected) may name us as the origin of what it forged (seed 2470772).
   */
  private isOwn(delta: MessageOf<'delta'>): boolean {
    return delta.origin === this.core.self.id && this.s.ownChanges.has(delta.id)
  }

  /** The deltas we hold (our history, and our own changes a snapshot may have cleared from it), each once, that a history (`lineage`, up to `seq`) lacks. */
  private lacking(lineage: Lineage, seq: number, hostedEpoch: number | null): MessageOf<'delta'>[] {
    const held = new Set<string>()
    const kept = [...this.s.replay.all(), ...this.s.ownChanges.values()].map(this.parts.follower.keptDelta).filter((d) => !held.has(d.id) && !!held.add(d.id))
    const forked = (d: { epoch: number; seq: number }) => (epochAt(lineage, d.seq) ?? d.epoch) !== d.epoch
    return kept.filter((d) => d.epoch === hostedEpoch || d.seq > seq || forked(d))
  }

  /**
   * A survivor hears from the new host (or a fenced old host hears from its successor):
   * follow it, fetch what we lack, and re-send our unconfirmed intents with their ids.
   */
  async followNewHost(conn: Conn, message: MessageOf<'hello'>): Promise<void> {
    const wasHost = this.s.role === 'host'
    const oldEpoch = this.s.epoch
    // Our former host's link stays, fenced: should it come back, we tell it whom we follow now.
    const former = !wasHost && this.s.hostId ? this.s.connOf(this.s.hostId) : undefined
    if (former && former !== conn) former.fenced = true
    // Our guests on the losing side that the winner does not know: let them go, so they elect again and find it.
    const myGuests = wasHost ? [...this.s.conns].filter((c) => c !== conn && c.peerId && !c.fenced) : []
    const election = this.s.election
    if (election) this.core.clock.clearTimeout(election.timer)
    // Won before we chose: we follow it all the same, and those still counting its backers wait for our word.
    if (election && !election.backed) this.parts.links.broadcast(wire.backing({ epoch: election.epoch, for: message.hostId }), conn)
    this.s.election = null
    this.s.handedTo = null
    this.s.claims.clear()
    this.s.backings.clear()
    this.s.movedOn.clear()
    this.s.isolatedSince = null
    conn.fenced = false
    this.s.hostConn = conn
    // A demoted host holds state as good as a bootstrap; its changes go out as intents now.
    this.s.bootstrapped = true
    this.s.hostId = message.hostId
    this.s.epoch = message.epoch
    this.core.setRole('guest')
    if (wasHost) this.parts.host.admitParked()
    // Peers only an earlier epoch's host listed cannot vote in this epoch unless its host takes
    // them back (and lists them): counted still, they could leave the survivors without a majority.
    if (message.epoch > oldEpoch) this.s.rosterSeen.clear()
    this.parts.follower.onRoster(message)
    this.parts.failover.hostFound()
    // Past its sequence number we hold history it lacks, even with none of it left in the replay
    // log (a snapshot clears it): its deltas at those numbers would be skipped, and no digest checked.
    const beyond = this.handOverOwn(conn, message, wasHost ? oldEpoch : null) > 0 || this.s.seq > message.seq
    for (const guest of myGuests) {
      const known = message.peers.some((p) => p.id === guest.peerId)
      this.parts.links.sendTo(guest, known ? wire.handover({ epoch: message.epoch, hostId: message.hostId }) : wire.bye({ reason: 'merged' }))
    }
    // Whatever we were waiting for from the old host will not come: start over with this one.
    // What it said of its history (`Outbox.confirm`) is not this one's: our changes are sent to it again.
    this.s.outbox.unconfirm()
    this.s.reorder.clear()
    this.s.earlyDeltas.clear()
    this.s.rebootstrapping = false
    this.s.nextLineage = null
    this.s.resendRequested = -1
    // Links negotiated through the old host: this one asks for those still missing, at once.
    this.parts.mesh.stopAllNegotiating()
    this.s.digestCheck = !beyond && message.digest !== undefined ? { digest: message.digest, seq: message.digestSeq ?? message.seq, held: spliced(this.s.lineage, this.s.seq, message.lineage ?? []) } : null
    if (wasHost || beyond) this.parts.follower.rebootstrap()
    // Whatever it issued since its hello (which may have waited for our host's word) too.
    else this.parts.links.sendTo(conn, wire.resend({ from: this.s.seq + 1 }))
    // Ours now when we hold its history; when we take its snapshot, once that comes.
    this.parts.follower.adoptLineage(message.lineage)
    this.parts.mesh.reportLinks()
    this.parts.follower.flushOutbox()
    await this.parts.follower.checkDigest()
  }

  /**
   * New host: a peer of the old epoch speaks (a thawed old host, or a survivor late to the
   * election). The hello fences it — it follows us — and it is a guest of ours again.
   */
  takeBack(conn: Conn): void {
    conn.fenced = false
    // Its admission time stays (none: a member since before we hosted). Stamped now, a peer that
    // follows our successor would drop out of the electorate `checkIsolation` weighs, and a host
    // cut off from a majority would never end.
    // Back in the roster only once it acts as our guest: a host that has not stepped down yet is not one.
    if (!this.s.peers.has(conn.peerId!)) conn.probation = true
    this.parts.host.sendHello(conn, this.s.lastDigest)
  }

  /** A peer taken back acts as our guest now: it is in the session again. */
  readmit(conn: Conn): void {
    const peerId = conn.peerId!
    conn.probation = false
    conn.followedAt = this.core.clock.now()
    if (this.s.peers.has(peerId)) return
    // Listed again from now on: guests admitted while it was out may elect without it (`listedBy`).
    endRosterGap(conn, this.core.clock.now())
    const access = conn.access ?? this.s.successionAccess.get(peerId)
    const peer: PeerInfo = { id: peerId, name: this.core.formerNames.get(peerId) ?? peerId, role: 'guest', color: this.parts.host.colourFor(peerId), ...(access === 'viewer' ? { access } : {}) }
    this.s.peers.set(peerId, peer)
    this.s.left.delete(peerId)
    this.s.rank.push(peerId)
    this.parts.mesh.setTopology()
    this.parts.links.broadcast(this.parts.host.rosterMessage())
    this.core.emit('session-peer-joined', { peer })
    this.parts.mesh.requestMeshLinks()
  }

}
