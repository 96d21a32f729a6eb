/**
 * An in-memory network of endpoints whose links deliver through a VirtualClock, with
 * seeded latency and hooks to delay, drop, cut and partition. Deterministic: the same
 * seed and the same calls give the same deliveries at the same virtual times.
 */
import { byteSize } from '../encoding/bytes.js'
import { TransportError } from '../errors.js'
import { seededRandom, type Random } from '../runtime/random.js'
import { VirtualClock } from '../runtime/virtual-clock.js'
import type { Clock } from '../runtime/clock.js'
import { DEFAULT_MAX_MESSAGE_BYTES } from './framing.js'
import { Listeners } from './listeners.js'
import type { Lane, Link, LinkEvents, LinkMessage, LinkStats, PendingAnswer, PendingOffer, Signal, Transport } from './transport.js'

/** How a `MemoryNetwork` delivers. */
export interface MemoryNetworkOptions {
  /** Seeds latency, faults and `randomFor`: the same seed, the same run. Default 1. */
  seed?: number
  /** One-way latency bounds in virtual ms; each message draws from them. */
  latency?: {
    /** Fewest ms a message takes. Default 1. */
    min: number
    /** Most ms a message takes. Default 5. */
    max: number
  }
  /**
   * Link bandwidth in bytes per virtual ms; a message also takes floor(size / bytesPerMs)
   * to arrive. Default: unlimited. Set it to let control messages overtake bulk ones.
   */
  bytesPerMs?: number
  /** Larger sends throw `message-oversized`, as on the WebRTC transport. */
  maxMessageBytes?: number
  /**
   * Whether a link closed on one side across a partition stays open on the other, silent,
   * as a real one does until its peer's heartbeats give up on it (nothing of the close
   * crosses the cut). Default false: the close arrives anyway, after the latency.
   */
  silentCloses?: boolean
}

/** Per-direction fault settings; `a→b` is keyed by endpoint names. */
export interface LinkFault {
  /** Probability in [0, 1] that a message is lost (the link stays open). */
  drop?: number
  /** Extra one-way delay in ms. */
  delay?: number
  /**
   * A partition: nothing crosses until `heal`, then what was sent arrives in order, as a
   * reliable channel's retransmissions would deliver it (unless the link closed meanwhile).
   */
  blocked?: boolean
}

interface PendingMemoryOffer {
  from: string
  /** Like a real offer, several peers may answer it; `complete` picks one. */
  answers: Map<string, { resolve: (link: MemoryLink) => void; reject: (err: Error) => void }>
  cancelled: boolean
}

let networkCount = 0

/** An in-memory network for tests and simulations: controllers on it talk through links that deliver on a `VirtualClock`, with seeded latency and faults you can inject. Nothing runs until the clock is advanced. */
export class MemoryNetwork {
  /** The network's time; `await net.clock.advance(ms)` lets messages arrive and timers run. */
  readonly clock = new VirtualClock()
  /** The seed it was made with. */
  readonly seed: number
  private readonly random: Random
  private readonly latency: { min: number; max: number }
  private readonly bytesPerMs: number
  /** @internal */
  readonly maxMessageBytes: number
  /** See `MemoryNetworkOptions.silentCloses`. */
  silentCloses: boolean
  private readonly offers = new Map<string, PendingMemoryOffer>()
  private readonly faults = new Map<string, LinkFault>()
  private readonly links = new Set<MemoryLink>()
  private readonly frozen = new Map<string, Array<() => void>>()
  private held: Array<{ link: MemoryLink; message: LinkMessage; lane: Lane }> = []
  private readonly crashed = new Set<string>()
  /** Endpoints whose timers wake only on aligned ticks (a background tab's), with the tick in ms. */
  private readonly wakeTicks = new Map<string, number>()
  private readonly lastArrival = new Map<string, number>()
  /** Deliveries scheduled per direction and lane, by arrival time: the last one may still take company. */
  private readonly arriving = new Map<string, { at: number; messages: LinkMessage[] }>()
  private offerCount = 0
  private linkCount = 0
  /** Distinguishes networks in traces. */
  readonly name = `net${++networkCount}`

  constructor(options: MemoryNetworkOptions = {}) {
    this.seed = options.seed ?? 1
    this.random = seededRandom(this.seed)
    this.latency = options.latency ?? { min: 1, max: 5 }
    this.bytesPerMs = options.bytesPerMs ?? Number.POSITIVE_INFINITY
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
    this.silentCloses = options.silentCloses ?? false
  }

  /** A transport for the endpoint `name` (a controller's place on this network). */
  transport(name: string): Transport {
    return new MemoryTransport(this, name)
  }

  /**
   * The clock one endpoint's controller should use: its timers stop while the endpoint is
   * frozen (and run late on resume, as a thawed page's would) and never run after a crash.
   */
  clockFor(name: string): Clock {
    return {
      now: () => this.clock.now(),
      setTimeout: (fn, ms) => this.clock.setTimeout(() => this.runAt(name, fn), this.wakeDelay(name, ms)),
      clearTimeout: (handle) => this.clock.clearTimeout(handle),
    }
  }

  /**
   * Makes an endpoint a background tab (or, with undefined, a foreground one again): a timer
   * it sets from now on fires at the first multiple of `tickMs` at or after its due time, as
   * browsers align hidden pages' timers to wake-ups. Messages still arrive at once.
   */
  throttle(name: string, tickMs: number | undefined): void {
    if (tickMs) this.wakeTicks.set(name, tickMs)
    else this.wakeTicks.delete(name)
  }

  private wakeDelay(name: string, ms: number): number {
    const tick = this.wakeTicks.get(name)
    if (!tick) return ms
    const now = this.clock.now()
    return Math.ceil((now + Math.max(0, ms)) / tick) * tick - now
  }

  /** Stops an endpoint: no timer fires and no message is handled until `resume`. Its links stay open. */
  freeze(name: string): void {
    if (!this.crashed.has(name) && !this.frozen.has(name)) this.frozen.set(name, [])
  }

  /** Thaws a frozen endpoint: what was held runs now, in order. */
  resume(name: string): void {
    const held = this.frozen.get(name)
    this.frozen.delete(name)
    for (const task of held ?? []) this.clock.setTimeout(() => this.runAt(name, task), 0)
  }

  /** The endpoint's page dies without a word: nothing it had scheduled runs, nothing reaches it. */
  crash(name: string): void {
    this.frozen.delete(name)
    this.crashed.add(name)
  }

  private runAt(name: string, task: () => void): void {
    if (this.crashed.has(name)) return
    const held = this.frozen.get(name)
    if (held) held.push(task)
    else task()
  }

  /** A Random for one endpoint, derived from the network seed and the endpoint's name. */
  randomFor(name: string): Random {
    let h = this.seed >>> 0
    for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0
    return seededRandom(h)
  }

  /**
   * Sets (or, with undefined, clears) the faults of the `from`→`to` direction. A block it replaces
   * keeps what it held until `unblock` or `heal()`, while what is sent now passes: later messages
   * overtake earlier ones, which no reliable channel does (tests use it to lose messages). To add
   * a fault and keep a block, use `block` or `slow`.
   */
  setFault(from: string, to: string, fault: LinkFault | undefined): void {
    if (fault) this.faults.set(`${from}>${to}`, fault)
    else this.faults.delete(`${from}>${to}`)
  }

  /** Blocks every direction between the groups: nothing crosses until `heal()`. */
  partition(...groups: string[][]): void {
    for (const a of groups) for (const b of groups) {
      if (a === b) continue
      for (const x of a) for (const y of b) this.block(x, y)
    }
  }

  /** Blocks the `from`→`to` direction alone, its other faults kept: nothing crosses it until `unblock` or `heal()`. */
  block(from: string, to: string): void {
    this.setFault(from, to, { ...this.faults.get(`${from}>${to}`), blocked: true })
  }

  /** Delays the `from`→`to` direction by `delayMs` more, its other faults kept: a block stays, and what it holds stays in order. */
  slow(from: string, to: string, delayMs: number): void {
    this.setFault(from, to, { ...this.faults.get(`${from}>${to}`), delay: delayMs })
  }

  /**
   * Lifts the block on the `from`→`to` direction alone (a one-way cut, say: the other direction
   * passed meanwhile); what it held arrives now, in order, on links still open.
   */
  unblock(from: string, to: string): void {
    const fault = this.faults.get(`${from}>${to}`)
    if (fault?.blocked) this.faults.set(`${from}>${to}`, { ...fault, blocked: false })
    const released = this.held.filter(({ link }) => link.local === from && link.remote === to)
    this.held = this.held.filter(({ link }) => link.local !== from || link.remote !== to)
    for (const { link, message, lane } of released) if (link.open) this.deliver(link, message, byteSize(message), lane)
  }

  /** Lifts every partition; what was held arrives now, in order, on links still open. */
  heal(): void {
    for (const [key, fault] of this.faults) {
      if (fault.blocked) this.faults.set(key, { ...fault, blocked: false })
    }
    const held = this.held
    this.held = []
    for (const { link, message, lane } of held) if (link.open) this.deliver(link, message, byteSize(message), lane)
  }

  /** Closes every open link between two endpoints, as a failed ICE connection would. */
  cut(a: string, b: string, reason = 'cut'): void {
    for (const link of [...this.links]) {
      if ((link.local === a && link.remote === b) || (link.local === b && link.remote === a)) link.close(reason)
    }
  }

  /** The open end of a link from `from` to `to`: lets a test send raw bytes as `from`. */
  linkEnd(from: string, to: string): Link | undefined {
    return [...this.links].find((l) => l.open && l.local === from && l.remote === to)
  }

  /** Connection attempts not yet open nor abandoned: offers waiting for an answer, answers waiting for the offerer. */
  pendingAttempts(): {
    /** Offers made and not yet answered, completed or cancelled. */
    offers: number
    /** Answers made to those offers and not yet taken up. */
    answers: number
  } {
    let answers = 0
    for (const offer of this.offers.values()) answers += offer.answers.size
    return { offers: this.offers.size, answers }
  }

  /** Open links as `local>remote` pairs, one per end. */
  openLinks(): string[] {
    return [...this.links].filter((l) => l.open).map((l) => `${l.local}>${l.remote}`).sort()
  }

  /** @internal */
  registerOffer(from: string): string {
    const id = `mem:${this.name}:${from}:${++this.offerCount}`
    this.offers.set(id, { from, answers: new Map(), cancelled: false })
    return id
  }

  /** @internal */
  answerOffer(offer: Signal, by: string): { answer: string; link: Promise<MemoryLink>; cancel: () => void } {
    const pending = this.offers.get(offer)
    if (!pending || pending.cancelled) throw new TransportError('offer-unknown', 'This offer is not known on this network.')
    const answer = `${offer}|${by}|${pending.answers.size}`
    const link = new Promise<MemoryLink>((resolve, reject) => pending.answers.set(answer, { resolve, reject }))
    link.catch(() => {}) // an answer may be abandoned before anyone asks for its link, as over WebRTC
    return { answer, link, cancel: () => this.withdrawAnswer(offer, answer) }
  }

  /** @internal */
  completeOffer(offer: Signal, answer: Signal): Promise<MemoryLink> {
    const pending = this.offers.get(offer)
    const answerer = pending?.answers.get(answer)
    if (!pending || pending.cancelled || !answerer) {
      return Promise.reject(new TransportError('answer-mismatch', 'This answer does not match the offer.'))
    }
    // Any other answers to it are left waiting, never told: over WebRTC they hear nothing either.
    this.offers.delete(offer)
    const by = answer.split('|')[1]!
    const id = ++this.linkCount
    const offerEnd = new MemoryLink(this, `${id}a`, pending.from, by)
    const answerEnd = new MemoryLink(this, `${id}b`, by, pending.from)
    offerEnd.peer = answerEnd
    answerEnd.peer = offerEnd
    this.links.add(offerEnd)
    this.links.add(answerEnd)
    return new Promise((resolve) => {
      this.clock.setTimeout(() => {
        answerer.resolve(answerEnd)
        resolve(offerEnd)
      }, this.drawLatency())
    })
  }

  /** @internal */
  cancelOffer(offer: Signal): void {
    const pending = this.offers.get(offer)
    if (!pending) return
    // Its answerers are not told, as over WebRTC: they wait until their own join times out.
    pending.cancelled = true
    this.offers.delete(offer)
  }

  private withdrawAnswer(offer: Signal, answer: Signal): void {
    const answerer = this.offers.get(offer)?.answers.get(answer)
    this.offers.get(offer)?.answers.delete(answer)
    answerer?.reject(new TransportError('answer-withdrawn', 'The answer was withdrawn.'))
  }

  /**
   * @internal Schedules a delivery from `link` to its peer, keeping order per direction
   * and lane; lanes are independent, so control can overtake bulk.
   */
  deliver(link: MemoryLink, message: LinkMessage, size: number, lane: Lane): void {
    const key = `${link.local}>${link.remote}`
    const fault = this.faults.get(key)
    if (fault?.blocked) {
      this.held.push({ link, message: message.slice(), lane })
      return
    }
    const lost = fault?.drop !== undefined && this.random.next() < fault.drop
    if (lost) return
    const laneKey = lane === 'control' ? key : `${key}:${lane}`
    const transfer = Math.floor(size / this.bytesPerMs)
    const arrival = Math.max(
      this.clock.now() + this.drawLatency() + (fault?.delay ?? 0) + transfer,
      this.lastArrival.get(laneKey) ?? 0,
      // Control may overtake bulk, never the reverse: one ordered channel sends queued control first.
      lane === 'control' ? 0 : this.lastArrival.get(key) ?? 0,
    )
    this.lastArrival.set(laneKey, arrival)
    // Messages of one lane arriving at the same moment are handed over together, one after
    // another in the same task, as a frame of several messages is on WebRTC.
    const batch = this.arriving.get(laneKey)
    if (batch?.at === arrival) {
      batch.messages.push(message.slice())
      return
    }
    const messages = [message.slice()]
    this.arriving.set(laneKey, { at: arrival, messages })
    this.clock.setTimeout(() => {
      if (this.arriving.get(laneKey)?.messages === messages) this.arriving.delete(laneKey)
      this.runAt(link.remote, () => {
        for (const each of messages) link.peer?.receive(each)
      })
    }, arrival - this.clock.now())
  }

  /** @internal */
  closeRemote(link: MemoryLink, reason: string): void {
    const peer = link.peer
    this.links.delete(link)
    if (!peer) return
    const key = `${link.local}>${link.remote}`
    if (this.silentCloses && this.faults.get(key)?.blocked) return
    const arrival = Math.max(this.clock.now() + this.drawLatency(), this.lastArrival.get(key) ?? 0)
    this.clock.setTimeout(() => this.runAt(peer.local, () => peer.closeLocally(`remote: ${reason}`)), arrival - this.clock.now())
  }

  /** @internal */
  forget(link: MemoryLink): void {
    this.links.delete(link)
  }

  private drawLatency(): number {
    const { min, max } = this.latency
    return min + Math.floor(this.random.next() * (max - min + 1))
  }
}

class MemoryTransport implements Transport {
  readonly hasIceServers = false
  constructor(private readonly network: MemoryNetwork, private readonly name: string) {}

  async createOffer(): Promise<PendingOffer> {
    const offer = this.network.registerOffer(this.name)
    return {
      offer,
      complete: (answer) => this.network.completeOffer(offer, answer),
      cancel: () => this.network.cancelOffer(offer),
    }
  }

  async acceptOffer(offer: Signal): Promise<PendingAnswer> {
    return this.network.answerOffer(offer, this.name)
  }
}

export class MemoryLink implements Link {
  peer: MemoryLink | undefined
  open = true
  private readonly events = new Listeners()
  private bytesSent = 0
  private bytesReceived = 0

  constructor(
    private readonly network: MemoryNetwork,
    readonly id: string,
    readonly local: string,
    readonly remote: string,
  ) {}

  /** Text travels as text, as on WebRTC; its size counts as UTF-8. */
  send(message: LinkMessage, lane: Lane = 'control'): void {
    if (!this.open) throw new TransportError('link-closed', 'Cannot send on a closed link.')
    const size = byteSize(message)
    if (size > this.network.maxMessageBytes) {
      throw new TransportError(
        'message-oversized',
        `Message of ${size} bytes exceeds the limit of ${this.network.maxMessageBytes} bytes.`,
      )
    }
    this.bytesSent += size
    this.network.deliver(this, message, size, lane)
  }

  close(reason = 'closed'): void {
    if (!this.open) return
    this.network.closeRemote(this, reason)
    this.closeLocally(reason)
  }

  on<K extends keyof LinkEvents>(type: K, handler: (event: LinkEvents[K]) => void): () => void {
    this.events.on(type, handler)
    return () => this.events.off(type, handler)
  }

  async getStats(): Promise<LinkStats> {
    return { candidateType: 'memory', bytesSent: this.bytesSent, bytesReceived: this.bytesReceived }
  }

  /** @internal */
  receive(message: LinkMessage): void {
    if (!this.open) return
    this.bytesReceived += byteSize(message)
    this.events.emit('message', message)
  }

  /** @internal */
  closeLocally(reason: string): void {
    if (!this.open) return
    this.open = false
    this.network.forget(this)
    this.events.emit('close', { reason })
    this.events.clear()
  }
}
