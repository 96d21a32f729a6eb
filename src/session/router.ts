/**
 * Routing: every received message passes the gate (session/gate.ts), then goes to the part
 * that handles it; links that close or say goodbye end here too.
 */
import type { ProviderRegistry } from '../providers/registry.js'
import type { LinkMessage } from '../transport/transport.js'
import type { PeerRole, SessionViewer } from '../types.js'
import { wire } from '../wire/build.js'
import type { MessageOf, WireMessage } from '../wire/messages.js'
import { outranks } from './election.js'
import { checkSender, type LinkFacts } from './gate.js'
import { type Conn, Part, type Session } from './state.js'
import type { Takeover } from './takeover.js'

/** What only a guest of ours sends: a peer taken back that sends one follows us now. */
const GUEST_ACTS: ReadonlySet<WireMessage['t']> = new Set(['links', 'resend', 'resync', 'intent', 'signal', 'forward', 'knock'])

export class Router<V extends SessionViewer = SessionViewer> extends Part<V> {
  /** `data`: the message as it came, which a delta or snapshot is kept as (no second encoding). */
  dispatch(conn: Conn, message: WireMessage, data?: LinkMessage): void | Promise<void> {
    if (!this.s.conns.has(conn)) return this.late(conn, message)
    if (conn.fenced) {
      // A peer we stopped hearing speaks again (a thawed old host, a guest back from a stall).
      // A host takes it back with a hello; a guest tells its old host whom it follows now.
      if (this.s.role === 'host') this.parts.takeover.takeBack(conn)
      else this.parts.takeover.tellMovedOn(conn)
      return
    }
    if (this.s.role === 'host' && conn.peerId !== null && ((message.t === 'delta' && message.epoch < this.s.epoch) || (message.t === 'hello' && !outranks(message, this.s)))) {
      this.core.diagnostic('stale-epoch', `${conn.peerId} still acts as host of epoch ${message.epoch}; fencing it.`, { peerId: conn.peerId })
      return this.parts.takeover.takeBack(conn)
    }
    const refusal = checkSender(this.factsOf(conn), message)
    if (refusal) {
      this.core.diagnostic('wire-out-of-role', `Dropped "${message.t}" from ${conn.peerId ?? 'an unadmitted link'}: ${refusal}.`, { peerId: conn.peerId ?? undefined, reason: refusal })
      return
    }
    if (conn.probation && GUEST_ACTS.has(message.t)) this.parts.takeover.readmit(conn)
    if (message.t === 'ping') return this.parts.links.sendTo(conn, wire.pong({ n: message.n }))
    if (message.t === 'pong') {
      conn.answeredAt = this.core.clock.now()
      conn.rtt = conn.answeredAt - message.n
      // That it hears us counts at once; that a guest is back (`Liveness.checkIsolation`), only in its
      // turn, after what it said before: a successor that took us back answers our pings behind its
      // hello, which may wait in our queue while the pong skips it. Its pong proves it heard us, not
      // that it follows us; counted back on it, a host cut off admitted the joiners it had parked.
      const answered = () => void (conn.answered = message.n)
      if (this.s.role === 'host' && this.s.draining) this.parts.links.serial(answered)
      else answered()
      return
    }
    return this.handle(conn, message, data)
  }

  /** What the gate needs to know about a link: one reader per link, not an object per message. */
  private factsOf(conn: Conn): LinkFacts {
    return (conn.facts ??= new LinkReader(this.s, conn, this.core.registry, this.parts.takeover))
  }

  private handle(conn: Conn, message: WireMessage, data?: LinkMessage): void | Promise<void> {
    switch (message.t) {
      case 'join': return this.s.role === 'host' ? this.parts.host.onJoin(conn, message) : this.parts.readmission.onJoinThroughUs(conn, message)
      case 'knock': return this.parts.readmission.onKnock(conn, message)
      case 'door': return this.parts.readmission.onDoor(message)
      case 'snapshot': return this.parts.follower.onSnapshot(message, data)
      case 'view': return this.parts.views.onView(conn, message)
      case 'intent': return this.parts.host.onIntent(conn, message)
      case 'delta': return this.parts.follower.onDelta(message, data)
      case 'ack': return this.parts.follower.onAck(message)
      case 'resend': return this.parts.host.serveMissing(conn, message.from)
      case 'resync': return this.parts.resync.onResync(conn, message)
      case 'reset': return this.parts.resync.onReset(message)
      case 'roster': return this.parts.follower.onRoster(message)
      case 'connect': return this.parts.mesh.onConnect(message.peer)
      case 'signal': return this.parts.mesh.onSignal(conn, message)
      case 'relay': return this.parts.mesh.onRelay(message)
      case 'links': return this.parts.mesh.onLinks(conn, message.peers)
      case 'candidate': return this.parts.failover.onCandidate(conn, message)
      case 'back': return this.parts.failover.onBack(conn, message)
      case 'backing': return this.parts.takeover.onBacking(conn, message)
      case 'handover': return this.parts.takeover.onHandover(conn, message)
      case 'forward': return this.parts.host.onForward(conn, message)
      case 'hello': return this.parts.follower.onHello(conn, message)
      case 'bye': return this.onBye(conn, message.reason)
      case 'end': return this.core.finish(endReason(message))
      case 'ping':
      case 'pong':
        return
    }
  }

  onLinkClosed(conn: Conn, reason: string): void {
    if (!this.s.conns.has(conn)) return
    this.s.conns.delete(conn)
    if (conn === this.s.hostConn) return this.parts.failover.onHostLost(reason)
    if (this.s.role === 'host' && conn.peerId) {
      // Gone without a goodbye: for a while it still counts among those who could elect without us.
      const now = this.core.clock.now()
      this.s.depart(conn, conn.awaySince ?? now, now)
      this.parts.host.dropPeer(conn.peerId, `link-closed: ${reason}`)
    } else this.parts.mesh.reportLinks()
    const election = this.s.election
    if (!election) return
    if (election.backed === this.core.self.id) this.parts.failover.canGatherQuorum(election)
    else this.parts.failover.maybeDecide()
  }

  /** A goodbye on any link drops that peer at once; the host's roster confirms it later. */
  private onBye(conn: Conn, reason: string): void {
    this.parts.links.detach(conn, 'bye')
    this.saidGoodbye(conn)
    if (conn === this.s.hostConn) return this.parts.failover.onHostLost(reason, true)
    // The winner we backed gave up: nobody else can be backed in this election.
    if (this.s.election?.backed === conn.peerId && conn.peerId !== this.core.self.id) return this.parts.failover.giveUp('no-new-host')
    if (conn.peerId) this.parts.host.dropPeer(conn.peerId, reason)
    if (this.s.role === 'guest') this.parts.mesh.reportLinks()
  }

  /**
   * A message that waited its turn while its link closed or was dropped (a link's close skips
   * the queue; a busy or background page may hold many): as if it never arrived, but for what
   * stays true once the link is gone. A goodbye: that peer still left (seed 837524). Our lost
   * host's last word: that it ended our session (it removed us, say), or whom it removed, who
   * must not get back in through whoever hosts next (seed 995305).
   */
  private late(conn: Conn, message: WireMessage): void {
    if (message.t === 'bye') return this.lateGoodbye(conn)
    if (!this.s.election || conn !== this.s.election.lostLink) return
    if (message.t === 'end') return this.core.finish(endReason(message))
    if ((message.t === 'roster' || message.t === 'hello') && message.removed) this.parts.follower.lateRemovals(message.removed)
  }

  /** A goodbye whose link closed first: as one, unless that peer is back on another link; a host's rosters say so now. */
  private lateGoodbye(conn: Conn): void {
    if (!conn.peerId || this.s.connOf(conn.peerId)) return
    this.saidGoodbye(conn)
    if (this.s.role === 'host') this.parts.links.broadcast(this.parts.host.rosterMessage())
  }

  /**
   * It left for good: it cannot stand on another side of a split, so it no longer counts in an
   * election. Host: our rosters say it left, for guests its goodbye did not reach (a roster drop
   * alone does not). Away from us before it left — quiet, or following (or being) another host —
   * it may have elected a successor first, who may host now without it: it still counts among
   * those who could elect without us, as one gone without a goodbye. Forgotten, its goodbye ended
   * a cut-off host's countdown, and both hosts stayed (seeds 930481, 6893).
   */
  private saidGoodbye(conn: Conn): void {
    const id = conn.peerId
    if (!id) return
    this.s.rosterSeen.delete(id)
    if (this.s.role !== 'host' || id === this.core.self.id) return
    this.s.left.touch(id)
    const now = this.core.clock.now()
    if (conn.awaySince !== undefined || this.s.followingAnother().has(id)) this.s.depart(conn, conn.awaySince ?? now, now)
    else this.s.departed.delete(id)
  }
}

/** Why a host's END ends our session: its own end of it, or its reason for ending ours. */
function endReason(message: MessageOf<'end'>): string {
  return message.reason === 'ended' ? 'host-ended' : message.reason
}

/** The gate's facts about one link, read as of each question (the link's session and state change under it). */
class LinkReader implements LinkFacts {
  constructor(
    private readonly session: Session,
    private readonly conn: Conn,
    private readonly registry: ProviderRegistry,
    private readonly takeover: Takeover,
  ) {}

  get role(): PeerRole | null {
    return this.session.role
  }

  get peerId(): string | null {
    return this.conn.peerId
  }

  get hostLink(): boolean {
    return this.conn === this.session.hostConn
  }

  get awaitingJoin(): boolean {
    return this.conn.inviteId !== undefined && !this.conn.joined
  }

  get knocker(): string | null {
    return this.conn.knocker ?? null
  }

  get viewer(): boolean {
    return this.conn.access === 'viewer'
  }

  owes(providerId: string): boolean {
    return this.conn.owed?.has(providerId) === true
  }

  viewProvider(providerId: string): boolean {
    return this.registry.isView(providerId)
  }

  helloRefusal(hello: MessageOf<'hello'>): string | null {
    return this.takeover.helloRefusal(this.conn, hello)
  }
}
