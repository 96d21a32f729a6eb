import { SessionSyncController, type SessionAccess, type SessionEvents, type SessionSyncOptions, type SessionViewer } from '../../src/index.js'
import { MemoryNetwork } from '../../src/testing.js'
import { encodeMessage } from '../../src/wire/codec.js'
import { PROTOCOL_VERSION, type WireMessage } from '../../src/wire/messages.js'
import { KvProvider } from './kv-provider.js'

export const VIEWERS: SessionViewer[] = [{ uniqueId: 'left' }, { uniqueId: 'right' }]

export interface TestPeer {
  name: string
  controller: SessionSyncController
  kv: KvProvider
  layers: KvProvider
  cursor: KvProvider
  events: Array<{ type: keyof SessionEvents; payload: unknown }>
}

/** A network of controllers, each with a global store, a per-viewer store and a view-delta provider. */
export class TestSession {
  readonly net: MemoryNetwork
  readonly peers: TestPeer[] = []
  readonly trace: string[] = []

  constructor(seed = 1) {
    this.net = new MemoryNetwork({ seed })
  }

  get clock() {
    return this.net.clock
  }

  peer(name: string, options: Partial<SessionSyncOptions> = {}): TestPeer {
    const controller = new SessionSyncController({
      transport: this.net.transport(name),
      clock: this.net.clockFor(name),
      random: this.net.randomFor(name),
      user: { id: `u-${name}`, name },
      baseUrl: 'https://viewer.test/app',
      ...options,
    })
    controller.setViewers(VIEWERS)
    const kv = new KvProvider('kv', 'global', 20)
    const layers = new KvProvider('layers', 'per-viewer', 10)
    const cursor = Object.assign(new KvProvider('cursor', 'global', 50), { view: true })
    for (const provider of [kv, layers, cursor]) controller.registerProvider(provider)
    const peer: TestPeer = { name, controller, kv, layers, cursor, events: [] }
    controller.events.on('*', (type, payload) => {
      peer.events.push({ type, payload })
      this.trace.push(`${this.clock.now()} ${name} ${String(type)} ${JSON.stringify(payload, (k, v) => (k === 'error' ? String(v) : v))}`)
    })
    this.peers.push(peer)
    return peer
  }

  /** Lets virtual time pass (deliveries, timers) and async work settle. */
  settle(ms = 200): Promise<void> {
    return this.clock.advance(ms)
  }

  /**
   * The whole zero-infra handshake: invite link out, answer code back; then `settleMs` of
   * virtual time for what follows. Returns the invite's id.
   */
  async connect(host: TestPeer, guest: TestPeer, access: SessionAccess = 'editor', settleMs = 200): Promise<string> {
    const invite = await host.controller.createInvite({ access })
    const { answerCode } = await guest.controller.join(invite.url)
    const accepted = host.controller.acceptAnswer(answerCode)
    await this.settle()
    await accepted
    await this.settle(settleMs)
    return invite.inviteId
  }

  /** Host plus guests, all connected. */
  static async started(count: number, seed = 1): Promise<TestSession & { host: TestPeer; guests: TestPeer[] }> {
    const session = new TestSession(seed)
    const host = session.peer('host')
    await host.controller.start()
    const guests: TestPeer[] = []
    for (let i = 1; i < count; i++) {
      const guest = session.peer(`g${i}`)
      await session.connect(host, guest)
      guests.push(guest)
    }
    return Object.assign(session, { host, guests })
  }
}

export function eventsOf<K extends keyof SessionEvents>(peer: TestPeer, type: K): SessionEvents[K][] {
  return peer.events.filter((e) => e.type === type).map((e) => e.payload as SessionEvents[K])
}

export function diagnostics(peer: TestPeer, code?: string) {
  return eventsOf(peer, 'session-diagnostic').filter((d) => !code || d.code === code)
}

type Unversioned<M> = M extends unknown ? Omit<M, 'v'> : never
/** A wire message as a test writes it, without the version. */
export type Forged = Unversioned<WireMessage>

/** Writes messages (or raw bytes) on `from`'s end of its link to `to`: they arrive as if `from` sent them. */
export function forge(s: TestSession, from: string, to: string, ...messages: Array<Forged | Uint8Array>): void {
  const link = s.net.linkEnd(from, to)
  if (!link) throw new Error(`no open link ${from}>${to}`)
  for (const message of messages) link.send(message instanceof Uint8Array ? message : encodeMessage({ v: PROTOCOL_VERSION, ...message } as WireMessage))
}

/** Every message `at` receives from `from` from now on, as raw bytes. */
export function tap(s: TestSession, at: string, from: string): Uint8Array[] {
  const got: Uint8Array[] = []
  s.net.linkEnd(at, from)!.on('message', (data) => got.push(typeof data === 'string' ? new TextEncoder().encode(data) : data.slice()))
  return got
}
