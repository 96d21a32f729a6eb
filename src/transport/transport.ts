/**
 * The seam between the session core and the network. The core opens links through a
 * Transport and talks over Links; it never sees a socket, a DataChannel or simple-peer.
 * Implementations: the in-memory network (transport/memory.ts) for deterministic tests
 * and simulation, and the WebRTC transport for browsers. Both pass one conformance suite.
 */

/** Non-trickle signalling: an offer or answer is one opaque, complete string. */
export type Signal = string

/** How the controller makes links: WebRTC in browsers (`createWebRtcTransport`), in memory in tests (`MemoryNetwork`). Implement it to carry sessions over something else. */
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
  /**
   * Loads what this transport's links need, where that code loads on first use (the WebRTC
   * transport's does). The controller awaits it as a session begins, so no link of a running
   * session waits on a fetch.
   */
  prepare?(): Promise<void>
}

/** An outgoing link waiting for its answer. */
export interface PendingOffer {
  /** The complete offer, to carry to the other side (in an invite). */
  readonly offer: Signal
  /** Deliver the remote answer; settles when the link opens (or fails to). */
  complete(answer: Signal): Promise<Link>
  /** Abandon the attempt and free its resources. Safe to call more than once. */
  cancel(): void
}

/** An incoming link whose answer is ready to send back. */
export interface PendingAnswer {
  /** The complete answer, to carry back to the offerer (the answer code). */
  readonly answer: Signal
  /** Settles when the link opens, or rejects when it cannot. */
  readonly link: Promise<Link>
  /** Abandons the attempt and frees its resources. Safe to call more than once. */
  cancel(): void
}

/** Packs offers and answers into invite bytes; may be asynchronous (a codec loaded on first use). */
export interface SignalCodec {
  /** A signal as compact bytes. */
  pack(signal: Signal): Uint8Array | Promise<Uint8Array>
  /** Throws (or rejects) on bytes it cannot read; the invite layer turns that into a typed error. */
  unpack(bytes: Uint8Array): Signal | Promise<Signal>
}

/** Liveness and small deltas use `control`; bulk transfers (bootstrap) must not starve it. */
export type Lane = 'control' | 'bulk'

/**
 * One whole message: UTF-8 bytes, or text. Text lets a transport whose channel carries
 * text send it as it is (no encoding on either side); one that does not sends its UTF-8.
 * A message may arrive as either, whichever it was sent as.
 */
export type LinkMessage = Uint8Array | string

/** What a Link reports, by event name. */
export type LinkEvents = {
  /** One whole message, as it was sent (framing is the transport's concern). */
  message: LinkMessage
  /** The link is gone; emitted exactly once. */
  close: {
    /** Why the link ended, in a word or a short phrase. */
    reason: string
  }
  /** A failure on the link; `close` follows if it is fatal. */
  error: Error
  /** Progress of a large message, either direction. */
  progress: TransferProgress
}

/** How far a large message has come. */
export interface TransferProgress {
  /** Whether this side is sending or receiving it. */
  direction: 'send' | 'receive'
  /** Bytes so far. */
  bytes: number
  /** Bytes in all. */
  total: number
}

/** A link's network facts, from WebRTC's `getStats()`. */
export interface LinkStats {
  /** host | srflx | relay | prflx, of the selected candidate pair, when known. */
  candidateType?: string
  /** The remote candidate's type in that pair. */
  remoteCandidateType?: string
  /** `relayed` when either end of the selected pair is a TURN relay candidate, `direct` otherwise. */
  path?: 'direct' | 'relayed'
  /** This side's address of the selected candidate pair. */
  localAddress?: string
  /** The other side's address of the selected candidate pair. */
  remoteAddress?: string
  /** Bytes sent on the link so far. */
  bytesSent: number
  /** Bytes received on the link so far. */
  bytesReceived: number
}

/** One open, reliable, ordered channel to one peer: whole messages, in order. */
export interface Link {
  /** Stable for the life of the link, unique within its transport. */
  readonly id: string
  /** False once closed. */
  readonly open: boolean
  /** Sends one whole message; `lane` (default `control`) lets small messages overtake bulk ones. */
  send(message: LinkMessage, lane?: Lane): void
  /** Closes the link; `close` is emitted once. */
  close(reason?: string): void
  /** Listens to one event; the returned function stops listening. */
  on<K extends keyof LinkEvents>(type: K, handler: (event: LinkEvents[K]) => void): () => void
  /** The selected candidate pair and byte counts, where the transport knows them. */
  getStats?(): Promise<LinkStats>
  /** Bytes held for messages still arriving, beside the most the link may hold (for `getStats()`). */
  inFlight?(): {
    /** Bytes of messages partly received. */
    bytes: number
    /** The most the link may hold of them. */
    budgetBytes: number
  }
}
