/**
 * Two hostile guests of one session that work together (the `collude` mode). Each is a
 * HostileGuest (forging on its own as before); on top, the pair: backs every candidate it hears
 * besides the one its own page backs (a seat that votes twice), stands for one of them in every
 * election and backs it (a real `back` and `backing` from the other's real seat, plus a
 * candidacy far ahead claiming links to everyone), vouches for each other with hellos and
 * handovers naming the other as host, writes forwards, deltas and views in the other's name,
 * tells the host it is linked to everyone, relays what one hears to the other and replays it
 * on its own links. Everything it smuggles in is keyed `forged:collude:<n>`.
 *
 * It also keeps the ground truth the invariants need to judge a colluder that hosts: which
 * honest peers sent it a `back` in each election, and the quorum it counted when it chose
 * itself (read from its own core as it broadcasts that choice); and, for an honest candidate,
 * the backs it counted in each election (read from its core as each comes), which tell two
 * honest winners of one election that a colluding seat backing both made (`splitVote`).
 */
import type { Random } from '../../src/runtime/random.js'
import { coreOf } from '../../src/session/internals.js'
import type { Lane, LinkMessage } from '../../src/transport/transport.js'
import type { MemoryLink } from '../../src/transport/memory.js'
import type { TestPeer, TestSession } from '../helpers/session.js'
import type { Forged, HostileGuest } from './hostile.js'
import type { FaultProviders } from './providers.js'

const HUGE = 1_000_000

/** What an honest candidate counted in one election: the members whose backs it took, and its quorum. */
interface Counted {
  backers: ReadonlySet<string>
  quorum: { members: ReadonlySet<string>; needed: number }
}

interface Won {
  /** Honest peers (by name) that sent it a `back` for this election. */
  backers: Set<string>
  /** The quorum its own core counted when it chose itself, when it did. */
  quorum?: { members: ReadonlySet<string>; needed: number }
}

export class Colluders {
  /** Per colluder name, per election epoch (that of the host lost): who backed it. */
  private readonly elections = new Map<string, Map<number, Won>>()
  private readonly lastStood = new Map<number, number>()
  /** Per colluder name, the forged keys it sent. */
  private readonly keys = new Map<string, Set<string>>()
  /** Per honest peer (by name), per election epoch: the backs it had counted when the last came (`watch`). */
  private readonly counted = new Map<string, Map<number, Counted>>()
  /** Per colluder, the candidates (`epoch:name`) it sent a back of its own. */
  private readonly backed = new Map<HostileGuest, Set<string>>()
  /** The forged keys a colluder sent as its own change, in its own name on its own link to an honest host (`ownChange`). */
  private readonly own = new Set<string>()
  /** Per honest peer, the forged keys it took from a colluder that hosted it as a majority's choice. */
  private readonly taken = new Map<TestPeer, Set<string>>()
  /** Per user id, the kv keys a snapshot from a colluder that hosted it as a majority's choice took from its state. */
  private readonly removed = new Map<string, Set<string>>()
  /** Per honest peer, per provider id: the whole snapshots from such a colluder that left that provider out. */
  private readonly skipped = new Map<TestPeer, Map<string, number>>()
  private stopped = false
  private counter = 0

  constructor(
    private readonly s: TestSession,
    readonly pair: readonly [HostileGuest, HostileGuest],
    private readonly rng: Random,
    private readonly log: (line: string) => void,
    private readonly crashed: ReadonlySet<TestPeer>,
    private readonly faulty: ReadonlyMap<TestPeer, FaultProviders>,
  ) {
    this.tap()
    for (const p of s.peers) this.watch(p)
  }

  get peers(): TestPeer[] {
    return this.pair.map((g) => g.peer)
  }

  start(): void {
    for (const [i, self] of this.pair.entries()) {
      const other = this.pair[1 - i]!
      self.onElection = (epoch, from) => this.onElection(self, epoch, from)
      const clock = this.s.net.clockFor(self.peer.name)
      const tick = () => {
        if (this.stopped || !self.peer.controller.isActive()) return
        if (this.rng.next() < 0.5) this.act(self, other)
        clock.setTimeout(tick, 300 + Math.floor(this.rng.next() * 1_700))
      }
      clock.setTimeout(tick, Math.floor(this.rng.next() * 1_000))
    }
  }

  stop(): void {
    this.stopped = true
  }

  /**
   * Why honest peers must not follow `host`, a colluder hosting in `epoch`, as the winner of
   * its election: the honest backs it got and the colluders' own seats fall short of the
   * majority it counted. Undefined when they do not (or nothing says what it counted).
   */
  unbacked(host: TestPeer, epoch: number): string | undefined {
    const won = this.elections.get(host.name)?.get(epoch - 1)
    if (!won?.quorum) return undefined
    const seats = this.peers.filter((p) => won.quorum!.members.has(p.controller.getSelf().id)).length
    if (won.backers.size + seats >= won.quorum.needed) return undefined
    return `${host.name}, a colluder, hosts epoch ${epoch} with ${won.backers.size} honest back(s) [${[...won.backers].join(',')}] and ${seats} colluding seat(s), short of the ${won.quorum.needed} it needed`
  }

  /**
   * Why `a` and `b`, honest peers hosting one session, may both host: each won the same election
   * (the one before the epoch both host) with a majority of the backs it counted, and the only
   * seats in both majorities are colluders' that backed both. A seat that backs two candidates that
   * cannot hear each other is the double-backing limit no majority vote escapes (docs/failover.md).
   * Undefined otherwise: two disjoint majorities, an honest seat in both, a win short of its quorum,
   * or wins of different elections are two hosts the library made.
   */
  splitVote(a: TestPeer, b: TestPeer): string | undefined {
    const epoch = coreOf(a.controller).session?.epoch
    if (epoch === undefined || coreOf(b.controller).session?.epoch !== epoch) return undefined
    const majority = (p: TestPeer) => {
      const counted = this.counted.get(p.name)?.get(epoch - 1)
      if (!counted) return undefined
      const seats = new Set([...counted.backers, p.controller.getSelf().id].filter((id) => counted.quorum.members.has(id)))
      return seats.size >= counted.quorum.needed ? seats : undefined
    }
    const [ofA, ofB] = [majority(a), majority(b)]
    if (!ofA || !ofB) return undefined
    const pair = new Set(this.peers.map((p) => p.controller.getSelf().id))
    const both = [...ofA].filter((id) => ofB.has(id))
    if (!both.length || !both.every((id) => pair.has(id))) return undefined
    return `${a.name} and ${b.name} each won election ${epoch - 1} with the back of ${both.join(', ')}, a colluder that backed both`
  }

  /**
   * Watches every message the network carries (a passive tap: nothing is delayed or drawn):
   * honest backs sent to a colluder, and the quorum a colluder counted as it chose itself.
   */
  private tap(): void {
    const net = this.s.net
    const deliver = net.deliver.bind(net)
    net.deliver = (link: MemoryLink, message: LinkMessage, size: number, lane: Lane) => {
      this.record(link.local, link.remote, message)
      deliver(link, message, size, lane)
    }
  }

  private record(from: string, to: string, message: LinkMessage): void {
    const sender = this.peers.find((p) => p.name === from)
    const text = typeof message === 'string' ? message : new TextDecoder().decode(message)
    const keys = sender ? text.match(/forged:[a-z]+:\d+/g) ?? [] : []
    for (const key of keys) this.wrote(sender!.name).add(key)
    if (!keys.length && !text.includes('"t":"back')) return
    let m: { t?: string; epoch?: number; for?: string; origin?: string }
    try {
      m = JSON.parse(text)
    } catch {
      return
    }
    if (sender && this.ownChange(sender, to, m)) for (const key of keys) this.own.add(key)
    if (typeof m.epoch !== 'number') return
    const target = this.peers.find((p) => p.name === to)
    if (m.t === 'back' && target && !sender) this.won(target.name, m.epoch).backers.add(from)
    if (m.t === 'backing' && sender && m.for === sender.controller.getSelf().id) {
      const election = coreOf(sender.controller).session?.election
      if (election?.epoch === m.epoch && election.backed === m.for) this.won(sender.name, m.epoch).quorum = election.quorum
    }
  }

  /**
   * Whether `m`, sent by the colluder `sender` to `to`, is an editor's own change: an intent, or a forward
   * in its own name, to an honest peer hosting it. The link proves who sent it, and its keys are that
   * editor's to write, whoever made the bytes: a forward the partner forged in its name, which it heard
   * and replayed to its host (seed 1922024).
   */
  private ownChange(sender: TestPeer, to: string, m: { t?: string; origin?: string }): boolean {
    const host = this.s.peers.find((p) => p.name === to)
    if (!host || this.peers.includes(host) || host.controller.getRole() !== 'host') return false
    return m.t === 'intent' || (m.t === 'forward' && m.origin === sender.controller.getSelf().id)
  }

  /**
   * Watches what `peer`'s providers are given: the forged keys in a snapshot or change it applies while
   * it follows a colluder of a session the pair outnumbers (that majority's choice, trusted while it
   * hosts), which that colluder sent itself. They stay its word when the colluder hosts no more: a peer
   * goes on with what its host gave it, and one that hosts next with what it holds (seed 1601837).
   * So does what such a snapshot took away (seeds 1668183, 1676661): the kv keys it held that the
   * snapshot lacks (changes confirmed before, even its own: none pending in its outbox, which it sends
   * again), and the providers a whole snapshot left out.
   */
  watch(peer: TestPeer): void {
    this.countBacks(peer)
    const note = (keys: string[]) => {
      const host = this.hostOf(peer)
      if (!host) return
      const sent = this.wrote(host.name)
      const mine = this.taken.get(peer) ?? new Set<string>()
      this.taken.set(peer, mine)
      for (const key of keys) if (sent.has(key)) mine.add(key)
      return host
    }
    for (const provider of [peer.kv, peer.layers]) {
      const [snapshot, delta] = [provider.applySnapshot.bind(provider), provider.applyDelta.bind(provider)]
      provider.applySnapshot = (data, viewer) => {
        if (note(Object.keys(data)) && provider === peer.kv) this.lose(peer, Object.keys(provider.store(viewer?.uniqueId ?? null)).filter((k) => !(k in data)))
        return snapshot(data, viewer)
      }
      provider.applyDelta = (d, meta) => (meta.view ? undefined : note([d.key]), delta(d, meta))
    }
    // The whole snapshots each counted provider took: one such a colluder's snapshot left out is its word too.
    const counted = () => [peer.kv, ...(this.faulty.get(peer) ? [this.faulty.get(peer)!.slow, this.faulty.get(peer)!.tally] : [])]
    const last = new Map(counted().map((p) => [p.id, p.snapshotsApplied.length]))
    peer.controller.on('session-bootstrap-complete', () => {
      const host = this.hostOf(peer)
      const mine = this.skipped.get(peer) ?? new Map<string, number>()
      this.skipped.set(peer, mine)
      for (const provider of counted()) {
        if (host && provider.snapshotsApplied.length === (last.get(provider.id) ?? 0)) mine.set(provider.id, (mine.get(provider.id) ?? 0) + 1)
        last.set(provider.id, provider.snapshotsApplied.length)
      }
    })
  }

  /** Records, as each back reaches honest `peer`, the backs its election has counted (`splitVote`). A back after it took over counts for nothing, as there. */
  private countBacks(peer: TestPeer): void {
    if (this.peers.includes(peer)) return
    const core = coreOf(peer.controller)
    const failover = core.parts.failover
    const onBack = failover.onBack.bind(failover)
    failover.onBack = (conn, message) => {
      onBack(conn, message)
      const election = core.session?.election
      if (!election || election.epoch !== message.epoch) return
      const mine = this.counted.get(peer.name) ?? new Map<number, Counted>()
      this.counted.set(peer.name, mine)
      mine.set(election.epoch, { backers: new Set(election.backers), quorum: { members: new Set(election.quorum.members), needed: election.quorum.needed } })
    }
  }

  /** Records `keys`, which a snapshot of its colluding host removes from `peer`'s state, but those pending in its outbox: it applies and sends those again. */
  private lose(peer: TestPeer, keys: string[]): void {
    const pending = new Set((coreOf(peer.controller).session?.outbox.pending() ?? []).filter((e) => e.providerId === 'kv').map((e) => e.payload.key))
    const user = peer.controller.getSelf().id
    const mine = this.removed.get(user) ?? new Set<string>()
    this.removed.set(user, mine)
    for (const key of keys) if (!pending.has(key)) mine.add(key)
  }

  /** The kv keys (of a user: its pages reload) that a snapshot from a colluder hosting it as a majority's choice removed (`watch`). */
  dropped(user: string): ReadonlySet<string> {
    return this.removed.get(user) ?? new Set()
  }

  /** Per provider id, the whole snapshots `peer` took from such a colluder that left that provider out (`watch`). */
  leftOut(peer: TestPeer): ReadonlyMap<string, number> {
    return this.skipped.get(peer) ?? new Map()
  }

  /** The forged keys a colluder sent an honest host as its own change: an editor's to write (`ownChange`). */
  ownChanges(): ReadonlySet<string> {
    return this.own
  }

  /** The forged keys `peer` took from a colluder that hosted it as the pair's majority's choice (`watch`). */
  took(peer: TestPeer): ReadonlySet<string> {
    return this.taken.get(peer) ?? new Set()
  }

  /** The colluder `peer` (honest, a guest) follows now, when the pair outnumbers the honest peers of its session. */
  private hostOf(peer: TestPeer): TestPeer | undefined {
    const pair = this.peers
    if (pair.includes(peer) || peer.controller.getRole() !== 'guest') return undefined
    const hostId = peer.controller.getPeers().find((x) => x.role === 'host')?.id
    const host = pair.find((p) => p.controller.getSelf().id === hostId)
    const session = peer.controller.sessionId
    const honest = this.s.peers.filter((q) => !pair.includes(q) && !this.crashed.has(q) && q.controller.isActive() && q.controller.sessionId === session)
    return host && pair.length > honest.length ? host : undefined
  }

  /** The forged keys `host` (a colluder) sent anyone: its word, once it is a trusted host. */
  forgedBy(host: TestPeer): ReadonlySet<string> {
    return this.wrote(host.name)
  }

  private wrote(name: string): Set<string> {
    const keys = this.keys.get(name) ?? new Set<string>()
    this.keys.set(name, keys)
    return keys
  }

  private won(name: string, epoch: number): Won {
    const mine = this.elections.get(name) ?? new Map<number, Won>()
    this.elections.set(name, mine)
    const won = mine.get(epoch) ?? { backers: new Set() }
    mine.set(epoch, won)
    return won
  }

  /** One cooperative act of `self` on behalf of `other`, drawn from the pair's own generator. */
  private act(self: HostileGuest, other: HostileGuest): void {
    if (!self.forging()) return
    const seen = other.seen()
    const epoch = Math.max(self.seen().epoch, seen.epoch)
    const seq = Math.max(self.seen().seq, seen.seq)
    const honest = this.honestIds()
    const notOther = (name: string) => name !== other.peer.name
    const key = () => ({ p: 'kv', d: { key: `forged:collude:${++this.counter}`, value: this.counter } })
    const pick = <T>(items: readonly T[]): T => items[Math.floor(this.rng.next() * items.length)]!
    const acts: Array<() => [string, string[]]> = [
      // A hello and a handover naming the other as host.
      () => ['vouch', self.sendTo('all', [this.hello(other.id, self.id, epoch + pick([0, 1, 2]), seq), { t: 'handover', epoch: epoch + pick([0, 1]), hostId: other.id }], this.rng, notOther)],
      // The other's changes, as if it had written or handed them over through us.
      () => ['fwd', self.sendTo('host', [{ t: 'forward', id: `forged${++this.counter}`, origin: other.id, changes: [key()] }], this.rng)],
      () => ['delta', self.sendTo('guest', [{ t: 'delta', seq: seq + 1, epoch, id: `forged${++this.counter}`, origin: other.id, changes: [key()] }], this.rng, notOther)],
      () => ['view', self.sendTo('all', [{ t: 'view', origin: other.id, n: HUGE + ++this.counter, ...key() }], this.rng)],
      () => ['links', self.sendTo('host', [{ t: 'links', peers: [other.id, ...honest] }], this.rng)],
      () => ['backing', self.sendTo('all', [{ t: 'backing', epoch, for: other.id }], this.rng, notOther)],
      // What the other heard, replayed on our links, and sent to it (relayed) too.
      () => {
        if (!seen.heard.length) return ['replay', []]
        const bytes = pick(seen.heard)
        const to = self.send(this.rng.next() < 0.5 ? 'all' : 'any', [bytes], this.rng, notOther)
        self.send('all', [bytes], this.rng, (name) => name === other.peer.name)
        return ['replay', to]
      },
    ]
    const [what, to] = pick(acts)()
    this.log(`colluder ${self.peer.name} for ${other.peer.name}: ${what}>${to.join(',') || '-'}`)
  }

  /**
   * An election is on (`from` stood, as `self` heard): `self` backs `from` too, whatever its own page
   * backs (two seats voting for every candidate: a majority for each of two that cannot hear each
   * other, were votes not one a peer). Once an election, the pair stands for one of them far ahead,
   * claiming links to everyone; the other backs it on its own link and tells everyone so; after the
   * election's wait the pair greets everyone with a hello of the leader's and a handover naming it.
   */
  private onElection(self: HostileGuest, epoch: number, from: string): void {
    if (this.stopped) return
    if (!this.peers.some((p) => p.name === from) && self.forging()) {
      const voted = this.backed.get(self) ?? new Set<string>()
      this.backed.set(self, voted)
      if (!voted.has(`${epoch}:${from}`)) {
        voted.add(`${epoch}:${from}`)
        self.sendTo('all', [{ t: 'back', epoch }], this.rng, (name) => name === from)
        this.log(`colluder ${self.peer.name} backs ${from} too in election ${epoch}`)
      }
    }
    if ((this.lastStood.get(epoch) ?? -Infinity) > this.s.clock.now() - 1_000) return
    this.lastStood.set(epoch, this.s.clock.now())
    const leader = this.pair[this.rng.next() < 0.5 ? 0 : 1]
    const other = this.pair.find((g) => g !== leader)!
    const everyone = [other.id, ...this.honestIds()]
    const to = leader.forging() ? leader.sendTo('all', [{ t: 'candidate', epoch, seq: HUGE, linked: everyone }], this.rng) : []
    if (other.forging()) {
      other.sendTo('all', [{ t: 'back', epoch }], this.rng, (name) => name === leader.peer.name)
      other.sendTo('all', [{ t: 'backing', epoch, for: leader.id }], this.rng)
    }
    this.log(`colluders stand for ${leader.peer.name} in election ${epoch}>${to.join(',') || '-'}`)
    this.s.net.clockFor(leader.peer.name).setTimeout(() => {
      if (this.stopped) return
      const seq = Math.max(leader.seen().seq, other.seen().seq)
      for (const g of this.pair) if (g.forging()) g.sendTo('all', [this.hello(leader.id, other.id, epoch + 1, seq), { t: 'handover', epoch: epoch + 1, hostId: leader.id }], this.rng)
      this.log(`colluders greet everyone as ${leader.peer.name}, host of epoch ${epoch + 1}`)
    }, 1_500 + Math.floor(this.rng.next() * 500))
  }

  private honestIds(): string[] {
    const ours = new Set(this.pair.map((g) => g.id))
    return this.s.peers.map((p) => p.controller.getSelf().id).filter((id) => !ours.has(id))
  }

  private hello(hostId: string, partner: string, epoch: number, seq: number): Forged {
    const honest = this.honestIds()
    return {
      t: 'hello', sessionId: this.pair[0].peer.controller.sessionId ?? 'forged', epoch, hostId, rank: [hostId, partner, ...honest],
      peers: [{ id: hostId, name: 'Mallory', role: 'host' }, { id: partner, name: 'Trudy', role: 'guest' }, ...honest.map((id) => ({ id, name: id, role: 'guest' }))],
      mesh: true, seq,
    }
  }
}
