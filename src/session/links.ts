/**
 * The link table: attach and detach links, send and broadcast, and receive: bytes decoded
 * at the edge, then handled one at a time in arrival order.
 */
import { WireError } from '../errors.js'
import { byteSize, sizeOver } from '../encoding/bytes.js'
import type { Link, LinkMessage } from '../transport/transport.js'
import type { SessionViewer } from '../types.js'
import { decodeMessage, encodeText, exactMessage } from '../wire/codec.js'
import { PROTOCOL_VERSION, type WireMessage } from '../wire/messages.js'
import { soon } from '../runtime/maybe.js'
import { type Conn, Part, type Session } from './state.js'

const noTask = (): void => {}

/** Messages that carry one change of a peer's (not the host's deltas, whose size the host checked): limited to `maxDeltaBytes`. */
const SINGLE_CHANGES: ReadonlySet<WireMessage['t']> = new Set(['view', 'intent', 'forward'])
/** How every ping and pong begins (wire builders put v and t first). */
const PING = `{"v":${PROTOCOL_VERSION},"t":"ping"`
const PONG = `{"v":${PROTOCOL_VERSION},"t":"pong"`
/** How every view delta and host delta begins (a cursor, a pan, a drawn shape): most of what a page receives. */
const VIEW = `{"v":${PROTOCOL_VERSION},"t":"view"`
const DELTA = `{"v":${PROTOCOL_VERSION},"t":"delta"`
/** An offer or answer a guest asks its host to pass on to another guest. */
const SIGNAL = `{"v":${PROTOCOL_VERSION},"t":"signal"`
const PING_BYTES = [...new TextEncoder().encode(PING)]
const PONG_BYTES = [...new TextEncoder().encode(PONG)]
const SIGNAL_BYTES = [...new TextEncoder().encode(SIGNAL)]

/** Where the type's first letter is: `p` begins no type but ping and pong; `s`, but signal, only snapshot. */
const TYPE_INITIAL = PING.length - 5
const P = 0x70
const S = 0x73

/** Whether the message begins with `text` (as characters) or `bytes` (as UTF-8). */
function begins(data: LinkMessage, text: string, bytes: readonly number[]): boolean {
  if (typeof data === 'string') return data.startsWith(text)
  return data.length >= bytes.length && bytes.every((b, i) => data[i] === b)
}

/**
 * A cheap look at the first bytes or characters, only to let a message skip the queue (the
 * decode still checks everything): heartbeats; and, for a host, the signals it passes between
 * two guests, which touch no provider and no order. Queued behind slow provider work (a
 * background tab's, on aligned timers) they would arrive after the offer timed out, and the
 * guests would stay unlinked, short of a majority should the host go (seed 967569).
 */
function outOfTurn(data: LinkMessage, host: boolean): boolean {
  const initial = typeof data === 'string' ? data.charCodeAt(TYPE_INITIAL) : data[TYPE_INITIAL]
  if (initial === P) return begins(data, PING, PING_BYTES) || begins(data, PONG, PONG_BYTES)
  return initial === S && host && begins(data, SIGNAL, SIGNAL_BYTES)
}

/** Longest stretch of message handling before the page gets the event loop back. */
const SLICE_MS = 8
/** Room for a message's own fields around the change. */
const ENVELOPE_BYTES = 1024

export class Links<V extends SessionViewer = SessionViewer> extends Part<V> {
  attach(link: Link, inviteId?: string): Conn {
    const now = this.core.clock.now()
    const conn: Conn = { link, peerId: null, inviteId, lastHeard: now, answeredAt: now, stale: false }
    this.s.conns.add(conn)
    const session = this.s
    // A link is heard while it is in the table: once out of it (detached, or closed), its events
    // are ignored until closing it drops the handlers, with no unsubscribe kept per handler.
    const heard = () => this.current(session) && session.conns.has(conn)
    link.on('message', (data) => {
      if (heard()) this.receive(conn, data)
    })
    link.on('close', ({ reason }) => {
      if (heard()) this.parts.router.onLinkClosed(conn, reason)
    })
    link.on('error', (error) => {
      if (heard()) this.core.diagnostic('link-error', error.message, { peerId: conn.peerId ?? undefined, error })
    })
    link.on('progress', (progress) => {
      if (heard() && conn === this.s.hostConn && !this.s.bootstrapped) this.core.emit('session-bootstrap-progress', progress)
    })
    return conn
  }

  detach(conn: Conn, reason: string): void {
    this.s.conns.delete(conn)
    conn.link.close(reason)
  }

  sendTo(conn: Conn, message: WireMessage): void {
    this.sendBytes(conn, encodeText(message), message.t === 'snapshot' || message.t === 'reset' ? 'bulk' : 'control')
  }

  /** A message encoded already (as bytes, or as text: see encodeText). */
  sendBytes(conn: Conn, encoded: LinkMessage, lane: 'control' | 'bulk' = 'control'): void {
    if (!conn.link.open) return
    try {
      conn.link.send(encoded, lane)
    } catch (error) {
      this.core.diagnostic('send-failed', `Could not send to ${conn.peerId ?? 'a peer'}: ${(error as Error).message}`, { peerId: conn.peerId ?? undefined, error })
    }
  }

  /** To every admitted peer this page is linked to (the host link, for a guest). */
  broadcast(message: WireMessage, except?: Conn): void {
    this.broadcastBytes(encodeText(message), except)
  }

  /** One encoding (bytes or text) for every peer. */
  broadcastBytes(encoded: LinkMessage, except?: Conn): void {
    for (const conn of this.s.conns) if (conn.peerId && !conn.fenced && conn !== except) this.sendBytes(conn, encoded)
  }

  private receive(conn: Conn, data: LinkMessage): void {
    const session = this.s
    const now = this.core.clock.now()
    // Liveness (and a host's relaying) is handled at once; everything else waits for the messages
    // before it, whose handlers may change who may send what (a new host's hello, then its orders).
    // It is decoded in its turn too, so a batch of thousands is decoded in slices (see breathe).
    // With none waiting, its turn is now: in the link's own event, with no microtask between.
    if (!outOfTurn(data, this.s.role === 'host')) this.serial(() => this.decodeAndDispatch(conn, data), now)
    else {
      const message = this.decode(conn, data)
      if (message) void this.parts.router.dispatch(conn, message, data)
    }
    // Then that the link was heard: no handler reads it, and the provider gets its change first.
    if (!this.current(session)) return
    this.parts.liveness.noticeStall(now)
    this.parts.liveness.heard(conn, now)
  }

  private decodeAndDispatch(conn: Conn, data: LinkMessage): void | Promise<void> {
    const message = this.decode(conn, data)
    return message && this.parts.router.dispatch(conn, message, data)
  }

  private decode(conn: Conn, data: LinkMessage): WireMessage | undefined {
    const exact = typeof data === 'string' ? this.exact(conn, data) : undefined
    if (exact) return exact
    let message: WireMessage
    try {
      message = decodeMessage(data, this.largestFrom(conn))
    } catch (error) {
      const code = error instanceof WireError ? error.code : 'wire-malformed'
      this.core.diagnostic(code, `Dropped a message from ${conn.peerId ?? 'an unadmitted link'}: ${(error as Error).message}`, { peerId: conn.peerId ?? undefined, error })
      return undefined
    }
    if (SINGLE_CHANGES.has(message.t) && sizeOver(data, this.singleChangeBytes)) {
      this.core.diagnostic('payload-too-large', `Dropped a "${message.t}" of ${byteSize(data)} bytes from ${conn.peerId ?? 'an unadmitted link'}: changes are limited to ${this.core.limits.maxDeltaBytes} bytes.`, { peerId: conn.peerId ?? undefined })
      return undefined
    }
    return message
  }

  /**
   * A view or host delta (most of what a page receives) exactly as our encoder writes it,
   * taken without the general decode's steps: the same two size bounds, the same exact
   * shape (the fast path's, held to valibot). Anything else is left to the general decode,
   * which says what is wrong with it.
   */
  private exact(conn: Conn, text: string): WireMessage | undefined {
    const type = text.startsWith(VIEW) ? 'view' : text.startsWith(DELTA) ? 'delta' : null
    if (!type) return undefined
    // Under every bound as UTF-8 (3 bytes a unit at most): no need to work out this link's.
    if (text.length * 3 > this.leastBound && sizeOver(text, this.boundFor(conn, type))) return undefined
    return exactMessage(text, type)
  }

  /** The least `boundFor` gives any link (all but a guest's host link get it): the limits are fixed for the controller's life. */
  private get leastBound(): number {
    return (this.least ??= Math.min(this.singleChangeBytes, this.core.limits.maxMessageBytes))
  }
  private least: number | undefined

  /** The most a message of this type from this link may weigh: both bounds the general decode applies. */
  private boundFor(conn: Conn, type: WireMessage['t']): number {
    return SINGLE_CHANGES.has(type) ? Math.min(this.largestFrom(conn), this.singleChangeBytes) : this.largestFrom(conn)
  }

  private get singleChangeBytes(): number {
    return this.core.limits.maxDeltaBytes + ENVELOPE_BYTES
  }

  /**
   * The largest message worth decoding from this link. Only our host sends more than one
   * change at a time (snapshots, resets); from anyone else a larger message is refused
   * before it is parsed, so a guest cannot make its peers decode 32 MiB of JSON.
   */
  private largestFrom(conn: Conn): number {
    return this.s.role === 'guest' && conn === this.s.hostConn ? this.core.limits.maxMessageBytes : this.leastBound
  }

  /**
   * Runs handlers one at a time, in arrival order, across async provider calls: from a
   * plain array, one promise reaction per handler that returns a promise and none for one
   * that does not. A received message (`receivedAt`, the time it came) that finds the queue
   * idle runs at once; other work starts in a microtask, after its caller's own steps.
   */
  serial(task: () => void | Promise<void>, receivedAt?: number): void {
    const session = this.s
    session.tasks.push(task)
    session.backlog.grew(++session.queued)
    if (session.draining) return
    session.draining = true
    session.busySince = receivedAt ?? this.core.clock.now()
    if (receivedAt === undefined) queueMicrotask(() => this.drain(session))
    else this.drain(session, true)
  }

  /**
   * Runs queued handlers until none is left; one that returns a promise resumes the queue
   * when it settles. `first`: only the handler just queued runs now; what else the link
   * delivers in this task (the rest of a batch) waits for a microtask, and is sliced as ever.
   */
  private drain(session: Session, first = false): void {
    const { tasks } = session
    while (session.nextTask < tasks.length) {
      const pause = first ? undefined : this.breathe(session)
      if (pause) return void pause.then(() => this.drain(session))
      const task = tasks[session.nextTask]!
      tasks[session.nextTask++] = noTask // let it go: a long burst's closures are not kept to its end
      let result: void | Promise<void> = undefined
      try {
        result = this.current(session) ? task() : undefined
      } catch (error) {
        this.internalError(error)
      }
      if (result) {
        const resume = () => {
          session.backlog.shrank(--session.queued)
          this.drain(session)
        }
        return void result.then(resume, (error: unknown) => {
          this.internalError(error)
          resume()
        })
      }
      session.backlog.shrank(--session.queued)
      if (first) return soon(() => this.drain(session))
    }
    tasks.length = 0
    session.nextTask = 0
    session.draining = false
  }

  private internalError(error: unknown): void {
    this.core.diagnostic('internal-error', `Unexpected error: ${(error as Error)?.message ?? String(error)}`, { error })
  }

  /**
   * A burst (thousands of deltas, a bootstrap's providers) is handled in slices: after
   * SLICE_MS of work, the page gets the event loop back — it renders, takes input, and its
   * heartbeats go out — before the next message, so no burst looks like a dead peer.
   */
  breathe(session: Session = this.s): Promise<void> | void {
    const clock = this.core.clock
    const now = clock.now()
    if (now - session.busySince < SLICE_MS) return
    session.backlog.sliced(session.queued, now)
    const pause = clock.yield ? clock.yield() : new Promise<void>((resolve) => clock.setTimeout(resolve, 0))
    return pause.then(() => void (session.busySince = clock.now()))
  }

  toHost(message: WireMessage): void {
    if (this.s.hostConn) this.sendTo(this.s.hostConn, message)
  }
}
