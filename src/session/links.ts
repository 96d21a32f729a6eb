/**
 * The link table: attach and detach links, send and broadcast, and receive: bytes decoded
 * at the edge, then handled one at a time in arrival order.
 */
import { WireError } from '../errors.js'
import type { Link } from '../transport/transport.js'
import type { SessionViewer } from '../types.js'
import { decodeMessage, encodeMessage } from '../wire/codec.js'
import { PROTOCOL_VERSION, type WireMessage } from '../wire/messages.js'
import { type Conn, Part } from './state.js'

/** Messages that carry one change of a peer's (not the host's deltas, whose size the host checked): limited to `maxDeltaBytes`. */
const SINGLE_CHANGES: ReadonlySet<WireMessage['t']> = new Set(['view', 'intent', 'forward'])
/** `{"v":<version>,"t":"p` then `ing"` or `ong"`: how every ping and pong is encoded (wire builders put v and t first). */
const LIVENESS_PREFIX = [...new TextEncoder().encode(`{"v":${PROTOCOL_VERSION},"t":"p`)]
const ING = [...new TextEncoder().encode('ing"')]
const ONG = [...new TextEncoder().encode('ong"')]

/** A cheap look at the first bytes: only to let heartbeats skip the queue; the decode still checks everything. */
function isLiveness(bytes: Uint8Array): boolean {
  const n = LIVENESS_PREFIX.length
  if (bytes.length < n + 4 || LIVENESS_PREFIX.some((b, i) => bytes[i] !== b)) return false
  const tail = bytes[n] === 0x69 ? ING : ONG
  return tail.every((b, i) => bytes[n + i] === b)
}

/** Longest stretch of message handling before the page gets the event loop back. */
const SLICE_MS = 8
/** Room for a message's own fields around the change. */
const ENVELOPE_BYTES = 1024

export class Links<V extends SessionViewer = SessionViewer> extends Part<V> {
  attach(link: Link, inviteId?: string): Conn {
    const conn: Conn = { link, peerId: null, inviteId, offs: [], lastHeard: this.core.clock.now(), stale: false }
    this.s.conns.add(conn)
    const session = this.s
    conn.offs.push(
      link.on('message', (bytes) => {
        if (this.current(session)) this.receive(conn, bytes)
      }),
      link.on('close', ({ reason }) => {
        if (this.current(session)) this.parts.router.onLinkClosed(conn, reason)
      }),
      link.on('error', (error) => {
        if (this.current(session)) this.core.diagnostic('link-error', error.message, { peerId: conn.peerId ?? undefined, error })
      }),
      link.on('progress', (progress) => {
        if (this.current(session) && conn === this.s.hostConn && !this.s.bootstrapped) this.core.emit('session-bootstrap-progress', progress)
      }),
    )
    return conn
  }

  detach(conn: Conn, reason: string): void {
    this.s.conns.delete(conn)
    for (const off of conn.offs) off()
    conn.link.close(reason)
  }

  sendTo(conn: Conn, message: WireMessage): void {
    this.sendBytes(conn, encodeMessage(message), message.t === 'snapshot' || message.t === 'reset' ? 'bulk' : 'control')
  }

  sendBytes(conn: Conn, bytes: Uint8Array, lane: 'control' | 'bulk' = 'control'): void {
    if (!conn.link.open) return
    try {
      conn.link.send(bytes, lane)
    } catch (error) {
      this.core.diagnostic('send-failed', `Could not send to ${conn.peerId ?? 'a peer'}: ${(error as Error).message}`, { peerId: conn.peerId ?? undefined, error })
    }
  }

  /** To every admitted peer this page is linked to (the host link, for a guest). */
  broadcast(message: WireMessage, except?: Conn): void {
    this.broadcastBytes(encodeMessage(message), except)
  }

  broadcastBytes(bytes: Uint8Array, except?: Conn): void {
    for (const conn of this.s.conns) if (conn.peerId && !conn.fenced && conn !== except) this.sendBytes(conn, bytes)
  }

  private receive(conn: Conn, bytes: Uint8Array): void {
    this.parts.liveness.noticeStall(this.core.clock.now())
    this.parts.liveness.heard(conn)
    // Liveness is answered at once; everything else waits for the messages before it, whose
    // handlers may change who may send what (a new host's hello, then its orders). It is
    // decoded in its turn too, so a batch of thousands is decoded in slices (see breathe).
    if (!isLiveness(bytes)) return this.serial(() => this.decodeAndDispatch(conn, bytes))
    const message = this.decode(conn, bytes)
    if (message) void this.parts.router.dispatch(conn, message)
  }

  private decodeAndDispatch(conn: Conn, bytes: Uint8Array): void | Promise<void> {
    const message = this.decode(conn, bytes)
    return message && this.parts.router.dispatch(conn, message)
  }

  private decode(conn: Conn, bytes: Uint8Array): WireMessage | undefined {
    let message: WireMessage
    try {
      message = decodeMessage(bytes, this.largestFrom(conn))
    } catch (error) {
      const code = error instanceof WireError ? error.code : 'wire-malformed'
      this.core.diagnostic(code, `Dropped a message from ${conn.peerId ?? 'an unadmitted link'}: ${(error as Error).message}`, { peerId: conn.peerId ?? undefined, error })
      return undefined
    }
    if (SINGLE_CHANGES.has(message.t) && bytes.byteLength > this.singleChangeBytes) {
      this.core.diagnostic('payload-too-large', `Dropped a "${message.t}" of ${bytes.byteLength} bytes from ${conn.peerId ?? 'an unadmitted link'}: changes are limited to ${this.core.limits.maxDeltaBytes} bytes.`, { peerId: conn.peerId ?? undefined })
      return undefined
    }
    if (message.t === 'delta') this.core.received.set(message, bytes)
    return message
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
    return this.s.role === 'guest' && conn === this.s.hostConn ? this.core.limits.maxMessageBytes : Math.min(this.singleChangeBytes, this.core.limits.maxMessageBytes)
  }

  /** Runs handlers one at a time, in arrival order, across async provider calls. */
  serial(task: () => void | Promise<void>): void {
    const session = this.s
    if (session.queued++ === 0) session.busySince = this.core.clock.now()
    session.backlog.grew(session.queued)
    this.s.chain = this.s.chain
      .then(() => this.breathe())
      .then(() => (this.current(session) ? task() : undefined))
      .catch((error: unknown) => this.core.diagnostic('internal-error', `Unexpected error: ${(error as Error)?.message ?? String(error)}`, { error }))
      .finally(() => session.backlog.shrank(--session.queued))
  }

  /**
   * A burst (thousands of deltas, a bootstrap's providers) is handled in slices: after
   * SLICE_MS of work, the page gets the event loop back — it renders, takes input, and its
   * heartbeats go out — before the next message, so no burst looks like a dead peer.
   */
  breathe(): Promise<void> | void {
    const session = this.s
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
