/**
 * The seam between the session core and the network. The core opens links through a
 * Transport and talks over Links; it never sees a socket, a DataChannel or simple-peer.
 * Implementations: the in-memory network (transport/memory.ts) for deterministic tests
 * and simulation, and the WebRTC transport for browsers. Both pass one conformance suite.
 */

/** Non-trickle signalling: an offer or answer is one opaque, complete string. */
export type Signal = string

export interface Transport {
  /** Start an outgoing link. Resolves once the offer is complete (ICE gathered). */
  createOffer(): Promise<PendingOffer>
  /** Answer a remote offer. Resolves with the answer; `link` settles when the link opens. */
  acceptOffer(offer: Signal): Promise<PendingAnswer>
  /**
   * Packs this transport's signals compactly for invites (e.g. SDP → a few dozen bytes).
   * Without one, invites carry the signal as UTF-8.
   */
  readonly signalCodec?: SignalCodec
  /** Whether any ICE (STUN/TURN) servers are configured; false = same-network peers only. */
  readonly hasIceServers?: boolean
}

export interface PendingOffer {
  readonly offer: Signal
  /** Deliver the remote answer; settles when the link opens (or fails to). */
  complete(answer: Signal): Promise<Link>
  /** Abandon the attempt and free its resources. Safe to call more than once. */
  cancel(): void
}

export interface PendingAnswer {
  readonly answer: Signal
  readonly link: Promise<Link>
  cancel(): void
}

/** Packs offers and answers into invite bytes; may be asynchronous (a codec loaded on first use). */
export interface SignalCodec {
  pack(signal: Signal): Uint8Array | Promise<Uint8Array>
  /** Throws (or rejects) on bytes it cannot read; the invite layer turns that into a typed error. */
  unpack(bytes: Uint8Array): Signal | Promise<Signal>
}

/** Liveness and small deltas use `control`; bulk transfers (bootstrap) must not starve it. */
export type Lane = 'control' | 'bulk'

export type LinkEvents = {
  /** One whole message, as it was sent (framing is the transport's concern). */
  message: Uint8Array
  /** The link is gone; emitted exactly once. */
  close: { reason: string }
  error: Error
  /** Progress of a large message, either direction. */
  progress: TransferProgress
}

export interface TransferProgress {
  direction: 'send' | 'receive'
  bytes: number
  total: number
}

export interface LinkStats {
  /** host | srflx | relay | prflx, of the selected candidate pair, when known. */
  candidateType?: string
  /** The remote candidate's type in that pair. */
  remoteCandidateType?: string
  /** `relayed` when either end of the selected pair is a TURN relay candidate, `direct` otherwise. */
  path?: 'direct' | 'relayed'
  localAddress?: string
  remoteAddress?: string
  bytesSent: number
  bytesReceived: number
}

export interface Link {
  /** Stable for the life of the link, unique within its transport. */
  readonly id: string
  readonly open: boolean
  send(message: Uint8Array, lane?: Lane): void
  close(reason?: string): void
  on<K extends keyof LinkEvents>(type: K, handler: (event: LinkEvents[K]) => void): () => void
  getStats?(): Promise<LinkStats>
  /** Bytes held for messages still arriving, beside the most the link may hold (for `getStats()`). */
  inFlight?(): { bytes: number; budgetBytes: number }
}
