/**
 * Failover: when the host is lost, survivors stand, back one winner each, and the winner
 * catches up and takes over once a majority backs it (the rules are in election.ts).
 */
import type { SessionViewer } from '../types.js'
import { wire } from '../wire/build.js'
import type { MessageOf } from '../wire/messages.js'
import { canGather, chooseWinner, quorumOf } from './election.js'
import { extended } from './lineage.js'
import { type Conn, type Election, Part } from './state.js'

/** Why a session ended when no new host could be agreed on, in words for the person. */
export const ELECTION_FAILURES = {
  isolated: 'The host is gone, and too few of the others could be reached to go on without it (the host may have left before you were linked to them); ask for a new invite.',
  'host-unreachable': 'You lost your link to the host while the others still reach it; ask for a new invite.',
  'no-new-host': 'The host left and no new host could be agreed on; ask for a new invite.',
  'cut-off': 'You were out of touch with most of the session for too long, and they carry on without you; ask for a new invite.',
} as const

export class Failover<V extends SessionViewer = SessionViewer> extends Part<V> {
  /**
   * The host is gone (goodbye, closed link, or silence past the hard timeout). Survivors
   * elect the best-ranked of them; local changes keep queueing in the outbox meanwhile.
   * `handedOver`: the host said goodbye, so it no longer counts in the electorate.
   */
  onHostLost(reason: string, handedOver = false): void {
    const lostId = this.s.hostId
    const lostLink = this.s.hostConn
    this.s.hostConn = null
    if (lostId) this.core.emit('session-host-lost', { hostId: lostId })
    // Never greeted (a resume from the journal is bootstrapped already): there was no session to fail over.
    if (!this.s.bootstrapped || !lostId) {
      this.core.diagnostic('host-lost', `The link to the host ended before it let you in (${reason}); ask for a new invite.`)
      return this.core.finish('host-lost')
    }
    if (lostId) this.forgetPeer(lostId, reason)
    this.startElection(lostId, lostLink, handedOver)
  }

  /** Removes a peer from this guest's view at once (the host's roster would say so later). */
  forgetPeer(peerId: string, reason: string): void {
    const peer = this.s.peers.get(peerId)
    this.s.peers.delete(peerId)
    this.s.rank = this.s.rank.filter((id) => id !== peerId)
    this.s.viewState.forget(peerId)
    if (peer) this.core.emit('session-peer-dropped', { peer, reason })
  }

  /**
   * The session has a host again (a new one we follow, or us). A resumed guest that was
   * still joining, waiting for its old host's snapshot, is in it too: that snapshot will not
   * come (the new host's, if it needs one, comes as to any survivor), and nothing else would
   * end its join (seed 996419).
   */
  hostFound(): void {
    const state = this.core.lifecycle.state
    if (state === 'reconnecting' || state === 'joining') this.core.lifecycle.to('connected')
  }

  private startElection(lostHost: string | null, lostLink: Conn | null, handedOver: boolean): void {
    if (this.core.lifecycle.state === 'connected') this.core.lifecycle.to('reconnecting')
    // A new election drops the hellos held from before it: they are no winner's word (a guest may
    // send one whenever it likes, and followed now it made us take that guest's deltas as our new
    // host's before its real hello, seed 1312452). A winner that hosts already greets us again when
    // our candidacy reaches it.
    if (this.s.election) this.core.clock.clearTimeout(this.s.election.timer)
    else this.s.claims.clear()
    const session = this.s
    const quorum = quorumOf({ succession: this.electorate(lostLink), lostHost, handedOver })
    this.s.election = {
      epoch: this.s.epoch,
      lostHost,
      lostLink,
      quorum,
      votes: new Map([[this.core.self.id, this.s.seq]]),
      linked: new Map(),
      backers: new Set(),
      alive: new Set(),
      timer: this.core.clock.setTimeout(() => this.current(session) && this.decide(), this.core.timers.electionTimeoutMs),
    }
    this.parts.links.broadcast(wire.candidate({ epoch: this.s.epoch, seq: this.s.seq, linked: this.linkedMembers(quorum.members) }))
    this.maybeDecide()
  }

  /** The published succession, and whoever was in this epoch's rosters within two hard timeouts of the lost host's last answer and did not say goodbye. */
  private electorate(lostLink: Conn | null): string[] {
    const lately = this.parts.follower.listedLately(lostLink).filter((id) => !this.s.succession.includes(id))
    return [...this.s.succession, ...lately]
  }

  eligible(peerId: string): boolean {
    const access = peerId === this.core.self.id ? this.core.self.access : this.s.successionAccess.get(peerId)
    return access !== 'viewer'
  }

  onCandidate(conn: Conn, message: MessageOf<'candidate'>): void {
    const sender = conn.peerId!
    if (this.s.role === 'host') {
      // A survivor late to an election I won, or one from a split-off side: take it back.
      if (message.epoch <= this.s.epoch && !message.alive) this.parts.takeover.takeBack(conn)
      return
    }
    if (message.epoch < this.s.epoch) return
    if (!this.s.election && message.epoch === this.s.epoch && !message.alive && this.s.hostConn) {
      // Someone lost the host before we noticed. If our link to it is quiet too, it is gone;
      // otherwise say so: the host lives, only their link to it failed.
      if (!this.s.hostConn.stale) return this.parts.links.sendTo(conn, wire.candidate({ epoch: this.s.epoch, seq: this.s.seq, alive: true }))
      this.s.hostConn.fenced = true
      this.onHostLost('timeout')
    }
    const election = this.s.election
    if (!election || message.epoch !== election.epoch || !election.quorum.members.has(sender)) return
    if (message.alive) election.alive.add(sender)
    else {
      // It said the host lives before it lost the host too: it never counted our candidacy.
      if (election.alive.delete(sender)) this.parts.links.sendTo(conn, wire.candidate({ epoch: election.epoch, seq: this.s.seq, linked: this.linkedMembers(election.quorum.members) }))
      election.votes.set(sender, message.seq)
      if (message.linked) election.linked.set(sender, message.linked)
    }
    this.maybeDecide()
  }

  /**
   * Peers the lost host removed, learnt only now (its roster waited in our queue as its link
   * closed): they leave this election, neither voting nor counted toward a majority, as they
   * left the electorate of the survivors that heard it in time (its succession omits them).
   * Counted still, they could leave us short of a majority that those survivors reach.
   */
  strikeRemoved(removed: ReadonlySet<string>): void {
    const election = this.s.election
    if (!election) return
    election.quorum = quorumOf({ succession: [...election.quorum.members].filter((id) => !removed.has(id)), lostHost: null, handedOver: false })
    for (const id of removed) {
      election.votes.delete(id)
      election.backers.delete(id)
      election.alive.delete(id)
    }
    this.maybeDecide()
  }

  /** A survivor backs us as the new host. */
  onBack(conn: Conn, message: MessageOf<'back'>): void {
    const election = this.s.election
    if (!election || message.epoch !== election.epoch || !election.quorum.members.has(conn.peerId!)) return
    election.backers.add(conn.peerId!)
    this.maybeTakeOver()
  }

  /**
   * Decides as soon as every survivor this peer is linked to has stood. One that said the
   * host lives may be about to lose it too (a goodbye reaches peers moments apart): its
   * candidacy may still come, so it is waited for until the election's timer.
   */
  maybeDecide(): void {
    const election = this.s.election
    if (!election || election.backed) return
    if (this.linkedMembers(election.quorum.members).every((id) => election.votes.has(id))) this.decide()
  }

  /** The members we hold a live link to: only they can back us, or hear our candidacy. */
  private linkedMembers(members: ReadonlySet<string>): string[] {
    return [...this.s.conns].filter((c) => c.peerId && !c.fenced && members.has(c.peerId)).map((c) => c.peerId!)
  }

  /**
   * The best-ranked eligible candidate among `candidates` that could gather a majority (by the
   * links its candidacy listed); when none could, the best-ranked, as before. Backing the best
   * one alone, survivors followed one cut off from most of them (two guests whose link had not
   * formed) and all gave up, while another, linked to them all, could have hosted (seed 1016830).
   */
  winnerOf(election: Election, candidates: Iterable<string> = election.votes.keys()): string | undefined {
    const ids = [...candidates]
    const eligible = (id: string) => this.eligible(id)
    const reach = (id: string) => (id === this.core.self.id ? this.linkedMembers(election.quorum.members) : election.linked.get(id))
    const able = (id: string) => eligible(id) && canGather(id, reach(id), election.quorum)
    return chooseWinner(ids, this.s.succession, able) ?? chooseWinner(ids, this.s.succession, eligible)
  }

  /** Backs the best-ranked eligible candidate heard that could gather a majority, once; if that is us, we gather backing. */
  private decide(): void {
    const election = this.s.election
    if (!election || election.backed) return
    this.core.clock.clearTimeout(election.timer)
    // A winner whose hello we hold stood too, though its candidacy came before our election (we said the host lived).
    const winner = this.winnerOf(election, [...election.votes.keys(), ...this.parts.takeover.claimants(election)])
    if (!winner) return this.giveUp(election.alive.size ? 'host-unreachable' : 'no-new-host')
    election.backed = winner
    // The others count the winner's majority themselves (Takeover.visiblyWon), rather than take its hello's word.
    this.parts.links.broadcast(wire.backing({ epoch: election.epoch, for: winner }), this.s.connOf(winner))
    if (winner !== this.core.self.id) {
      const conn = this.s.connOf(winner)
      if (conn) this.parts.links.sendTo(conn, wire.back({ epoch: election.epoch }))
      // Its hello may have come before we chose: with our back it may count as won now.
      if (this.s.claims.size) this.parts.links.serial(() => this.parts.takeover.recheckClaims())
      // Backing is final: a winner that never greets us may have taken over all the same.
      this.expire(election, 3 * this.core.timers.electionTimeoutMs, 'no-new-host')
      return
    }
    this.awaitBacks(election)
    if (!this.canGatherQuorum(election)) return
    this.maybeTakeOver()
  }

  /**
   * Standing, whether a majority may still back us: only linked members can (no new link
   * forms without a host). Gives up at once when not. Who says the host lives is still
   * counted: an untrusted peer could say so falsely to make us all give up.
   */
  canGatherQuorum(election: Election): boolean {
    if (canGather(this.core.self.id, this.linkedMembers(election.quorum.members), election.quorum)) return true
    this.giveUp('isolated')
    return false
  }

  /**
   * The winner, once a majority backs it, takes over with what it holds. It takes no
   * history from another survivor: nothing proves a survivor's word, and each survivor
   * hands over its own changes that the winner lacks once it follows (Takeover).
   */
  private maybeTakeOver(): void {
    const election = this.s.election
    if (!election || election.backed !== this.core.self.id || !this.majorityBacks(election)) return
    // No deadline while the takeover waits its turn (behind a slow provider, say); counted short then, it is set again.
    this.core.clock.clearTimeout(election.timer)
    this.parts.links.serial(() => this.becomeHost())
  }

  /** Standing: the time our backers have to reach a majority. */
  private awaitBacks(election: Election): void {
    this.expire(election, 2 * this.core.timers.electionTimeoutMs, election.alive.size ? 'host-unreachable' : 'isolated')
  }

  private expire(election: Election, ms: number, reason: keyof typeof ELECTION_FAILURES): void {
    const session = this.s
    election.timer = this.core.clock.setTimeout(() => {
      if (this.current(session) && this.s.election === election) this.giveUp(reason)
    }, ms)
  }

  /**
   * Whether a majority backs us: our own seat, and each backer that has not told us, on its own link,
   * that it backs another (its `backing`, or a hello as the winner itself). An honest peer backs one
   * per election; one that backed us too is a hostile seat that backed two, no vote we can count.
   * Counted, it gave a guest cut off through the election (its roster stale) a majority beside the
   * one that hostile guest won with the others (seed 2164186).
   */
  private majorityBacks(election: Election): boolean {
    const self = this.core.self.id
    const backers = [...election.backers].filter((id) => (this.parts.takeover.saidBacks(id, election) ?? self) === self)
    return backers.length + (election.quorum.members.has(self) ? 1 : 0) >= election.quorum.needed
  }

  /** No host could be agreed on: end rather than host a copy of the session while others go on. */
  giveUp(reason: keyof typeof ELECTION_FAILURES): void {
    const unsent = this.s.outbox.size ? ` ${this.s.outbox.size} unsent change(s) could not be delivered.` : ''
    this.core.diagnostic('election-failed', `${ELECTION_FAILURES[reason]}${unsent}`, { reason })
    // A host cut off ends the session for those still with it: they cannot reach the others either.
    this.parts.links.broadcast(this.s.role === 'host' ? wire.end({ reason }) : wire.bye({ reason: 'disconnected' }))
    this.core.finish(reason)
  }

  private async becomeHost(): Promise<void> {
    const election = this.s.election
    if (!election || this.s.role !== 'guest') return
    // Counted again in our turn: a backer's word that it backs another may have come in the same batch as its back.
    if (!this.majorityBacks(election)) return this.awaitBacks(election)
    this.s.election = null
    this.s.epoch = election.epoch + 1
    this.s.hostId = this.core.self.id
    // Silence through a stall of ours (not noticed yet, as a guest) is no sign of anyone's (below).
    const now = this.core.clock.now()
    this.parts.liveness.noticeStall(now)
    this.core.setRole('host')
    // Whoever has no link to us is out of reach; a linked one that did not stand is only slow.
    // One silent past the soft timeout is no more of our epoch (it may never get our hello): listed,
    // it would count as our voter for two hard timeouts and leave survivors short of a majority
    // (seed 1256565). Fenced, it is taken back if it speaks again: out of our roster until then
    // (`outOfNewRoster`, below). Counted while out, it sat in the electorate of guests we admitted
    // meanwhile, and cut off from them we hosted on beside their successor (seed 2449028).
    for (const id of [...this.s.rank]) {
      if (id === this.core.self.id) continue
      const conn = this.s.connOf(id)
      if (conn && now - conn.lastHeard >= this.core.heartbeat.softTimeoutMs) conn.fenced = true
      if (!conn || conn.fenced) this.forgetPeer(id, 'unreachable')
    }
    this.parts.liveness.outOfNewRoster(now)
    this.s.rank = [this.core.self.id, ...this.s.rank.filter((id) => id !== this.core.self.id)]
    for (const [id, peer] of this.s.peers) this.s.peers.set(id, { ...peer, role: 'guest' })
    this.s.reported = new Map()
    this.s.requested = new Map()
    this.parts.mesh.setTopology()
    // Our own changes our history lacks (older first), then our unconfirmed ones, become
    // authoritative right after the hello. The digest describes our state once they are out
    // (at `digestSeq`), so followers compare it there.
    const lacking = this.parts.takeover.ownLacking()
    this.s.lineage = extended(this.s.lineage, this.s.epoch, this.s.seq)
    const own = this.s.outbox.pending().filter((entry) => !this.s.seen.has(entry.intentId))
    const keyOf = this.parts.resync.keyOf.bind(this.parts.resync)
    const under = new Set(lacking.flatMap((delta) => delta.changes.map(keyOf)))
    for (const delta of lacking) for (const change of delta.changes) await this.parts.bridge.applyChange(change, this.core.self.id, delta.id)
    // An unconfirmed change is applied (again) after them when a snapshot replaced it, or an older
    // lacking change to the same provider state was just applied over it: else our state would keep
    // the older value while followers apply both in order, and the digest would send them to ours.
    for (const entry of own) {
      const change = { p: entry.providerId, d: entry.payload }
      if (entry.overwritten || under.has(keyOf(change))) await this.parts.bridge.applyChange(change, this.core.self.id, entry.intentId)
    }
    this.s.lastDigest = { digest: await this.parts.bridge.stateDigest(), seq: this.s.seq + lacking.length + own.length }
    for (const conn of this.s.conns) {
      if (!conn.peerId || conn.fenced || !this.s.peers.has(conn.peerId)) continue
      // Ours once it acts as our guest (a follower's resend and links come right after our hello), as one
      // taken back: a backer that stays with the old host (a hostile seat that backed us too) is no voter
      // we hold. Counted present on its pings, it left both us and that host a majority (seed 1992525).
      conn.probation = true
      this.parts.host.sendHello(conn, this.s.lastDigest)
    }
    this.hostFound()
    this.s.outbox.clear()
    for (const delta of lacking) this.parts.host.broadcastDelta(delta.id, this.core.self.id, delta.changes)
    for (const entry of own) this.parts.host.broadcastDelta(entry.intentId, this.core.self.id, [{ p: entry.providerId, d: entry.payload }])
    this.parts.mesh.requestMeshLinks()
  }
}
