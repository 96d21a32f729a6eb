/**
 * A hostile guest for the simulator: an admitted editor whose page runs modified code. Its
 * controller is the ordinary one (it keeps its seat and may make ordinary changes), but at
 * random moments, and whenever it sees an election, it writes raw
 * messages onto its own links: forged, replayed and out-of-role ones of every wire type.
 *
 * What it forges is recognisable: any state it smuggles in uses keys `forged:<how>:<n>`,
 * which no honest peer ever sets. Keys it may legitimately write as an editor (its own
 * intents) never start with `forged:`, but for a forward its colluding partner forged in its
 * name, which it may replay to its host as its own change (`Colluders.ownChange`).
 */
import type { Random } from '../../src/runtime/random.js'
import type { Link } from '../../src/transport/transport.js'
import { PROTOCOL_VERSION, WIRE_TYPES } from '../../src/wire/messages.js'
import type { TestPeer, TestSession } from '../helpers/session.js'

/** A wire message without its version, loosely typed so a type the schema lacks can be forged too. */
export type Forged = { t: string } & Record<string, unknown>
export type Target = 'host' | 'guest' | 'any' | 'all'
interface Forgery {
  to: Target
  messages: Forged[]
  /** How, when the type alone does not say (for the trace). */
  how?: string
}

/** What the hostile guest knows and can draw from when it forges. */
export interface Kit {
  self: string
  sessionId: string
  inviteId: string
  epoch: number
  seq: number
  honest: string[]
  /** Intent ids seen in deltas, and the id each author will use next. */
  intentIds: string[]
  nextIds: string[]
  pick<T>(items: readonly T[]): T
  between(min: number, max: number): number
  chance(p: number): boolean
  /** A fresh number for ids and keys. */
  n(): number
}

const HUGE = 1_000_000
const garbage = (k: Kit) => k.pick(['x', `mem:forged:${k.n()}`, 'mem:net1:p0:1'])
const forgedKv = (k: Kit, how: string) =>
  k.chance(0.5) ? { p: 'kv', d: { key: `forged:${how}:${k.n()}`, value: k.n() } } : { p: 'layers', d: { key: `forged:${how}:${k.n()}`, value: k.n(), viewerId: 'left' } }
const claimant = (k: Kit) => k.pick([k.self, k.self, '0', ...k.honest])

function hello(k: Kit): Forged {
  const hostId = claimant(k)
  const others = [k.self, ...k.honest].filter((id) => id !== hostId)
  return {
    t: 'hello', sessionId: k.sessionId, epoch: k.chance(0.6) ? k.epoch + k.between(1, 2) : k.epoch, hostId,
    rank: [hostId, ...others], peers: [{ id: hostId, name: 'Mallory', role: 'host' }, ...others.map((id) => ({ id, name: id, role: 'guest' }))],
    mesh: k.chance(0.7), seq: k.pick([0, k.seq, HUGE]), ...(k.chance(0.3) ? { digest: `forged${k.n()}`, digestSeq: k.seq, lineage: k.pick([[[1, 0] as [number, number]], [[k.epoch + 1, 0] as [number, number]]]) } : {}),
  }
}

/** One forger per wire type: what to send, and to whom. */
export const FORGERS: Record<string, (k: Kit) => Forgery> = {
  join: (k) => ({ to: 'host', messages: Array.from({ length: k.between(1, 3) }, () => ({
    t: 'join', inviteId: k.chance(0.7) ? k.inviteId : `made-up-${k.n()}`,
    user: { id: k.chance(0.5) ? `u-ghost${k.n()}` : k.pick(k.honest.length ? k.honest : [k.self]), name: 'Mallory', role: 'guest' },
  })) }),
  hello: (k) => ({ to: k.pick(['host', 'guest', 'all'] as const), messages: [hello(k)] }),
  snapshot: (k) => ({ to: 'any', messages: [{ t: 'snapshot', seq: k.seq + k.between(1, 5), ids: [], entries: [
    { p: 'kv', w: null, d: { [`forged:snap:${k.n()}`]: 1 } }, { p: 'layers', w: 'left', d: { [`forged:snap:${k.n()}`]: 1 } },
  ] }] }),
  view: (k) => {
    const { p, d } = forgedKv(k, 'view')
    return { to: 'all', messages: [{ t: 'view', origin: k.chance(0.7) ? k.self : k.pick([k.self, ...k.honest]), n: HUGE + k.n(), p, d }] }
  },
  // An editor's own intents are legitimate, whatever they say: ordinary keys only. Most squat
  // on the id an honest peer will use next; some go to guests, out of role.
  intent: (k) => {
    const squat = k.chance(0.6) && k.nextIds.length > 0
    return { to: k.chance(0.8) ? 'host' : 'guest', how: squat ? 'squat' : undefined, messages: Array.from({ length: k.between(1, 3) }, () => ({
      t: 'intent', id: squat ? k.pick(k.nextIds) : `raw${k.n()}`, p: 'kv', d: { key: `${k.self}:raw:${k.n()}`, value: k.n() },
    })) }
  },
  delta: (k) => ({ to: 'any', messages: Array.from({ length: k.between(1, 3) }, (_, i) => ({
    t: 'delta', seq: k.seq + 1 + i, epoch: k.chance(0.7) ? k.epoch : k.epoch + 1, id: `forged${k.n()}`,
    origin: k.pick([k.self, ...k.honest]), changes: [forgedKv(k, 'delta')],
  })) }),
  ack: (k) => ({ to: 'guest', messages: [{ t: 'ack', id: k.intentIds.length ? k.pick(k.intentIds) : `raw${k.n()}`, ok: k.chance(0.3), reason: 'refused' }] }),
  resend: (k) => ({ to: k.chance(0.7) ? 'host' : 'guest', messages: Array.from({ length: k.between(1, 20) }, () => ({ t: 'resend', from: k.pick([0, 1, k.seq, HUGE]) })) }),
  // Provider state it is not owed (no change of its was declined), or again and again.
  resync: (k) => ({ to: k.chance(0.8) ? 'host' : 'guest', messages: Array.from({ length: k.between(1, 20) }, () => ({ t: 'resync', p: k.pick(['kv', 'layers', 'cursor', 'nope']) })) }),
  reset: (k) => ({ to: 'guest', messages: [{ t: 'reset', seq: k.seq + k.between(0, 5), p: k.pick(['kv', 'layers']), entries: [{ w: k.chance(0.5) ? null : 'left', d: { [`forged:reset:${k.n()}`]: 1 } }] }] }),
  roster: (k) => ({ to: 'guest', messages: [{ t: 'roster', rank: [k.self, ...k.honest], peers: [{ id: k.self, name: 'Mallory', role: 'host' }, ...k.honest.map((id) => ({ id, name: id, role: 'guest' }))], mesh: k.chance(0.5) }] }),
  bye: (k) => ({ to: k.chance(0.2) ? 'host' : 'guest', messages: [{ t: 'bye', reason: k.pick(['left', 'page-closed', 'merged']) }] }),
  end: (k) => ({ to: 'any', messages: [{ t: 'end', reason: k.pick(['ended', 'removed']) }] }),
  ping: (k) => ({ to: 'any', messages: [{ t: 'ping', n: k.pick([0, HUGE * HUGE]) }] }),
  pong: (k) => ({ to: 'any', messages: [{ t: 'pong', n: k.pick([0, HUGE * HUGE]) }] }),
  connect: (k) => ({ to: 'guest', messages: [{ t: 'connect', peer: k.pick([`u-ghost${k.n()}`, k.self, ...k.honest]) }] }),
  signal: (k) => ({ to: 'host', messages: [{ t: 'signal', to: k.pick([`u-ghost${k.n()}`, ...k.honest]), kind: k.pick(['offer', 'answer']), signal: garbage(k) }] }),
  relay: (k) => ({ to: 'guest', messages: [{ t: 'relay', from: k.pick([k.self, ...k.honest]), kind: k.pick(['offer', 'answer']), signal: garbage(k) }] }),
  links: (k) => ({ to: 'host', messages: [{ t: 'links', peers: k.chance(0.5) ? k.honest : [`u-ghost${k.n()}`] }] }),
  candidate: (k) => {
    const lie = candidate(k, k.epoch)
    return { to: 'all', how: lie.alive ? 'alive' : 'ahead', messages: [lie] }
  },
  back: (k) => ({ to: 'all', messages: [{ t: 'back', epoch: k.pick([k.epoch, k.epoch + 1]) }] }),
  // Backing itself to some, another to the rest: whichever word a peer hears first is the one it counts.
  backing: (k) => ({ to: 'all', messages: [{ t: 'backing', epoch: k.pick([k.epoch, k.epoch + 1]), for: k.pick([k.self, ...k.honest]) }] }),
  handover: (k) => ({ to: k.pick(['host', 'guest', 'all'] as const), messages: [{ t: 'handover', epoch: k.pick([k.epoch, k.epoch + 1]), hostId: claimant(k) }] }),
  forward: (k) => ({ to: 'host', messages: [{
    t: 'forward', id: k.chance(0.7) || !k.intentIds.length ? `forged${k.n()}` : k.pick(k.intentIds),
    // A forward in the hostile's own name is just an editor's change; the forgery is in another's name.
    origin: k.pick(k.honest.length ? k.honest : ['u-nobody']), changes: [forgedKv(k, 'fwd')],
  }] }),
  // Coming back as someone else, with a token it cannot know; or a door that opens nothing.
  knock: (k) => ({ to: 'any', messages: [{
    t: 'knock', user: { id: k.pick([`u-ghost${k.n()}`, k.self, ...k.honest]), name: 'Mallory', role: 'guest' },
    resume: { epoch: k.epoch, seq: k.seq, token: `forged-token-${k.n()}` }, signal: garbage(k),
  }] }),
  door: (k) => ({ to: 'any', messages: [{
    t: 'door', peer: k.pick([k.self, `u-ghost${k.n()}`, ...k.honest]),
    ...(k.chance(0.5) ? { signal: garbage(k), inviteId: `made-up-${k.n()}` } : k.chance(0.5) ? { reason: 'forged' } : {}),
  }] }),
}

/**
 * Wire types added after the hostile guest's draw was fixed. They are forged from a generator
 * of their own (`HostileGuest.actLater`), so every earlier seed's attacks stay exactly as they were.
 */
const LATER_TYPES: ReadonlySet<string> = new Set(['resync', 'reset', 'knock', 'door', 'backing'])

/** Forgers the attacks lean on (the rest stay in the mix), by weight. */
const WEIGHTS: Record<string, number> = { hello: 4, forward: 3, view: 3, candidate: 2, join: 2, intent: 3, delta: 2, snapshot: 2, back: 2, handover: 2 }

function candidate(k: Kit, epoch: number): Forged {
  return k.chance(0.5) ? { t: 'candidate', epoch, seq: HUGE } : { t: 'candidate', epoch, seq: 0, alive: true }
}

/** The intent id after `id` (a controller's are a 12-character prefix and a base-36 counter). */
function nextId(id: string): string | undefined {
  const m = /^(.{12})([0-9a-z]+)$/.exec(id)
  return m ? `${m[1]}${(parseInt(m[2]!, 36) + 1).toString(36)}` : undefined
}


export class HostileGuest {
  /** When the hostile guest told which peer "the host is alive". */
  readonly aliveSent: Array<{ to: string; at: number }> = []
  /**
   * Peers it told it stands far ahead: they may catch up from it, and then take its deltas
   * as history. Without FORGES_HISTORY it sends them no forged delta or snapshot (the known
   * limit, issue #14, is not what the simulator looks for).
   */
  private readonly watched = new WeakSet<Link>()
  private readonly heard: Uint8Array[] = []
  private readonly intentIds: string[] = []
  private readonly nextIds = new Map<string, string>()
  private epoch = 1
  private seq = 0
  private counter = 0
  private laterCounter = 0
  private stopped = false
  private lastReaction = -Infinity
  /** A colluding partner's hook (test/sim/collude.ts): the peer `from` stands in an election, at this epoch. */
  onElection?: (epoch: number, from: string) => void
  private readonly clock

  constructor(
    private readonly s: TestSession,
    readonly peer: TestPeer,
    private readonly rng: Random,
    private readonly inviteId: string,
    private readonly log: (line: string) => void,
    /** Draws for LATER_TYPES only. */
    private readonly later: Random = rng,
  ) {
    // Its own clock: a frozen hostile page forges nothing, a crashed one never again.
    this.clock = s.net.clockFor(peer.name)
  }

  get id(): string {
    return this.peer.controller.getSelf().id
  }

  /** Forges at random moments from now on, until `stop`. */
  start(): void {
    const tick = () => {
      if (this.stopped || !this.peer.controller.isActive()) return
      this.watch()
      if (this.rng.next() < 0.6) this.act()
      this.actLater()
      this.clock.setTimeout(tick, 200 + Math.floor(this.rng.next() * 1_800))
    }
    this.watch()
    this.clock.setTimeout(tick, Math.floor(this.rng.next() * 1_000))
  }

  stop(): void {
    this.stopped = true
  }

  /** One burst: a few forgeries, or a replay of what it heard. */
  act(): void {
    if (!this.forging()) return
    const kit = this.kit()
    const types = WIRE_TYPES.filter((t) => FORGERS[t] && !LATER_TYPES.has(t))
    const weighted = types.flatMap((t) => Array<string>(WEIGHTS[t] ?? 1).fill(t))
    const sent: string[] = []
    for (let i = kit.between(1, 3); i > 0; i--) {
      if (kit.chance(0.1) && this.heard.length) {
        const bytes = kit.pick(this.heard)
        sent.push(`replay>${this.send('any', [bytes]).join(',') || '-'}`)
        continue
      }
      const type = kit.pick(weighted)
      // A bulk of intents for providers nobody has, now and then.
      const forgery = type === 'intent' && kit.chance(0.1)
        ? { to: 'host' as const, how: 'nope', messages: Array.from({ length: 200 }, (): Forged => ({ t: 'intent', id: `junk${kit.n()}`, p: 'nope', d: {} })) }
        : FORGERS[type]!(kit)
      const count = forgery.messages.length > 1 ? `${forgery.messages.length}×` : ''
      const to = this.send(forgery.to, forgery.messages.map(encode), this.rng)
      if (forgery.messages.some((m) => m.t === 'candidate' && m.alive)) this.toldAlive(to)
      sent.push(`${count}${type}${forgery.how ? `:${forgery.how}` : ''}>${to.join(',') || '-'}`)
    }
    if (sent.length) this.log(`hostile ${this.peer.name}: ${sent.join(' ')}`)
  }

  /**
   * One forgery of every wire type but the two that would only get it dropped (`bye`, `end`),
   * plus what costs a host the most to keep or answer: view deltas under fresh viewer ids,
   * intents it must decline, whole-snapshot requests, offers to relay.
   */
  flood(): void {
    if (!this.forging()) return
    const kit = this.kit()
    for (const type of WIRE_TYPES) {
      if (type === 'bye' || type === 'end') continue
      const forgery = FORGERS[type]!(kit)
      this.send(forgery.to, forgery.messages.map(encode))
    }
    const costly: Forged[] = [
      { t: 'view', origin: kit.self, n: HUGE + kit.n(), p: 'cursor', d: { key: 'k', value: 0, viewerId: `w${kit.n()}` } },
      { t: 'intent', id: `junk${kit.n()}`, p: 'kv', d: { key: `${kit.self}:junk`, value: kit.n() } },
      { t: 'resend', from: 0 },
      { t: 'signal', to: kit.pick(kit.honest), kind: 'offer', signal: garbage(kit) },
    ]
    this.send('host', costly.map(encode))
  }

  /** Now and then, one forgery of a LATER_TYPES type, drawn from its own generator. */
  private actLater(): void {
    if (!this.forging() || this.later.next() >= 0.3) return
    const kit = this.kit(this.later, () => ++this.laterCounter)
    const type = kit.pick([...LATER_TYPES])
    const forgery = FORGERS[type]!(kit)
    const to = this.send(forgery.to, forgery.messages.map(encode), this.later)
    this.log(`hostile ${this.peer.name}: ${forgery.messages.length > 1 ? `${forgery.messages.length}×` : ''}${type}>${to.join(',') || '-'}`)
  }

  /** What it has learnt, for a colluding partner to use. */
  seen(): { heard: readonly Uint8Array[]; epoch: number; seq: number } {
    return { heard: this.heard, epoch: this.epoch, seq: this.seq }
  }

  /** Only while its own controller is an active guest: a legitimate host's word is law anyway. */
  forging(): boolean {
    return !this.stopped && this.peer.controller.isActive() && this.peer.controller.getRole() === 'guest'
  }

  private kit(rng = this.rng, n = () => ++this.counter): Kit {
    const self = this.id
    const honest = this.s.peers.map((p) => p.controller.getSelf().id).filter((id) => id !== self)
    return {
      self, sessionId: this.peer.controller.sessionId ?? 'forged', inviteId: this.inviteId, epoch: this.epoch, seq: this.seq, honest,
      intentIds: this.intentIds, nextIds: [...this.nextIds.values()],
      pick: (items) => items[Math.floor(rng.next() * items.length)]!,
      between: (min, max) => min + Math.floor(rng.next() * (max - min + 1)),
      chance: (p) => rng.next() < p,
      n,
    }
  }

  /** Its open links, by the name of the peer at the other end. */
  private links(): Array<[string, Link]> {
    const out: Array<[string, Link]> = []
    for (const p of this.s.peers) {
      const link = p === this.peer ? undefined : this.s.net.linkEnd(this.peer.name, p.name)
      if (link) out.push([p.name, link])
    }
    return out
  }

  /** Forges `messages` onto the links `to` names (those `only` allows); returns the names of the peers it sent to. */
  sendTo(to: Target, messages: Forged[], rng: Random, only?: (name: string) => boolean): string[] {
    return this.send(to, messages.map(encode), rng, only)
  }

  /** Sends to the links `to` names (those `only` allows); returns the names of the peers it sent to. */
  send(to: Target, messages: Uint8Array[], rng = this.rng, only?: (name: string) => boolean): string[] {
    const links = only ? this.links().filter(([name]) => only(name)) : this.links()
    const hostId = this.peer.controller.getPeers().find((p) => p.role === 'host' && !p.self)?.id
    const isHost = (name: string) => this.s.peers.find((p) => p.name === name)?.controller.getSelf().id === hostId
    let targets = to === 'host' ? links.filter(([name]) => isHost(name)) : to === 'guest' ? links.filter(([name]) => !isHost(name)) : links
    if (to !== 'all' && targets.length > 1) targets = [targets[Math.floor(rng.next() * targets.length)]!]
    for (const [, link] of targets) {
      for (const bytes of messages) {
        try {
          link.send(bytes)
        } catch {
          // The link closed under it: nothing sent.
        }
      }
    }
    return targets.map(([name]) => name)
  }

  private toldAlive(names: string[]): void {
    for (const name of names) this.aliveSent.push({ to: name, at: this.s.clock.now() })
  }

  /** Listens on every link it holds (new ones appear as the mesh forms). */
  private watch(): void {
    for (const [name, link] of this.links()) {
      if (this.watched.has(link)) continue
      this.watched.add(link)
      link.on('message', (data) => this.observe(name, link, typeof data === 'string' ? new TextEncoder().encode(data) : data))
    }
  }

  /** Learns the epoch, sequence and intent ids; answers elections with lies. */
  private observe(from: string, link: Link, bytes: Uint8Array): void {
    let m: Forged & { epoch?: number; seq?: number; id?: string; origin?: string; alive?: boolean }
    try {
      m = JSON.parse(new TextDecoder().decode(bytes))
    } catch {
      return
    }
    if (m.t === 'ping' || m.t === 'pong') return
    this.heard.push(bytes.slice())
    if (this.heard.length > 32) this.heard.shift()
    if (typeof m.epoch === 'number' && m.t !== 'candidate') this.epoch = Math.max(this.epoch, m.epoch)
    if (m.t === 'delta' && typeof m.seq === 'number') {
      this.seq = Math.max(this.seq, m.seq)
      if (typeof m.id === 'string') {
        this.intentIds.push(m.id)
        if (this.intentIds.length > 64) this.intentIds.shift()
        const next = nextId(m.id)
        if (next && typeof m.origin === 'string' && m.origin !== this.id) this.nextIds.set(m.origin, next)
      }
    }
    if (!this.forging()) return
    if (m.t === 'candidate' && !m.alive) this.onElection?.(m.epoch ?? this.epoch, from)
    const now = this.s.clock.now()
    if (m.t === 'candidate' && !m.alive && now - this.lastReaction > 500 && this.rng.next() < 0.7) {
      // An election is on: stand far ahead of everyone, or claim the host still lives.
      this.lastReaction = now
      const kit = this.kit()
      const lie = candidate(kit, m.epoch ?? this.epoch)
      this.clock.setTimeout(() => {
        if (!this.forging()) return
        const to = this.send('all', [encode(lie)])
        if (lie.alive) this.toldAlive(to)
        this.log(`hostile ${this.peer.name}: candidate:${lie.alive ? 'alive' : 'ahead'}>${to.join(',') || '-'}`)
      }, kit.between(0, 20))
    }
    if (m.t === 'candidate' && !m.alive && this.rng.next() < 0.5) {
      // A survivor stands: it may win, so feed it history no host ever made.
      const kit = this.kit()
      const start = typeof m.seq === 'number' ? m.seq + 1 : 1
      const lies: Forged[] = kit.chance(0.7)
        ? [0, 1, 2].map((i) => ({ t: 'delta', seq: start + i, epoch: this.epoch, id: `forged${kit.n()}`, origin: kit.pick(kit.honest), changes: [forgedKv(kit, 'history')] }))
        : [{ t: 'snapshot', seq: start + 2, ids: [], entries: [{ p: 'kv', w: null, d: { [`forged:history:${kit.n()}`]: 1 } }] }]
      for (const lie of lies) if (link.open) link.send(encode(lie))
      this.log(`hostile ${this.peer.name}: ${lies.length}×${lies[0]!.t}:history>${from}`)
    }
  }
}

export function encode(message: Forged): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ v: PROTOCOL_VERSION, ...message }))
}
