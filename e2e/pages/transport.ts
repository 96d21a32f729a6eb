/**
 * Test page for the WebRTC transport, loaded in two pages in separate browser contexts.
 * The offering page runs the conformance cases; the answering page holds the answering
 * ends of their links. Playwright relays between the two (e2e/transport.spec.ts):
 * `toAnswerer` is exposed in the offering page, `toOfferer` in the answering page.
 */
import mitt from 'mitt'
import { TransportError } from '../../src/errors.js'
import type { Lane, Link, LinkEvents, LinkMessage, LinkStats, PendingAnswer, PendingOffer, Signal, Transport, TransferProgress } from '../../src/transport/transport.js'
import { createWebRtcTransport } from '../../src/transport/webrtc-lazy.js'
import { conformanceCases, type Capability, type ConformanceEnv } from '../../test/transport/conformance.js'

const MAX_MESSAGE_BYTES = 4 * 1024 * 1024
const WAIT_LIMIT_MS = 20_000

export type AnswererCommand =
  | { op: 'accept'; offer: Signal }
  | { op: 'send'; attempt: number; data: string; lane: Lane }
  | { op: 'close'; attempt: number; reason?: string }
  | { op: 'cancel'; attempt: number }

export type AnswererReply =
  | { ok: true; attempt?: number; answer?: Signal }
  | { ok: false; code: string; message: string }

/** What happens at an answering end, relayed to the offering page. Bytes travel as base64. */
export type AnswerEndEvent = { attempt: number } & (
  | { type: 'open'; id: string }
  | { type: 'failed'; code: string; message: string }
  | { type: 'message'; data: string }
  | { type: 'close'; reason: string }
  | { type: 'error'; code: string; message: string }
  | { type: 'progress'; progress: TransferProgress }
)

export interface Harness {
  capabilities: Capability[]
  /** Offering page: runs one conformance case; rejects with the failure. */
  runCase(name: string): Promise<void>
  /** Offering page: opens one link and returns its stats, leaving it open. */
  openLinkStats(): Promise<LinkStats>
  /** Offering page: how many frames a link hands its channel for a lone message and for a burst (see transport.spec.ts). */
  framesWritten(burst: number): Promise<{ lone: number; burstInTask: number; burstAfterTask: number; received: number }>
  /** Offering page: answers an offer it cancelled first; the codes of the link's failure and its cause. */
  answerCancelledOffer(): Promise<{ code: string; cause: string }>
  /** Offering page: events from answering ends, in order. */
  deliver(events: AnswerEndEvent[]): void
  /** Answering page: a command from the offering page. */
  answer(command: AnswererCommand): Promise<AnswererReply>
}

declare global {
  interface Window {
    harness: Harness
    toAnswerer(command: AnswererCommand): Promise<AnswererReply>
    toOfferer(events: AnswerEndEvent[]): Promise<void>
  }
}

const transport = createWebRtcTransport({ maxMessageBytes: MAX_MESSAGE_BYTES })

// ---- answering page ----

const answerEnds = new Map<number, { link?: Link; cancel(): void }>()
let attempts = 0
let outbox: AnswerEndEvent[] = []

/** Batches events per task: a large transfer makes hundreds of progress events. */
function relay(event: AnswerEndEvent): void {
  if (outbox.length === 0) {
    setTimeout(() => {
      void window.toOfferer(outbox)
      outbox = []
    })
  }
  outbox.push(event)
}

async function answer(command: AnswererCommand): Promise<AnswererReply> {
  try {
    if (command.op === 'accept') return await acceptRelayed(command.offer)
    const end = answerEnds.get(command.attempt)
    if (command.op === 'send') end?.link?.send(fromBase64(command.data), command.lane)
    else if (command.op === 'close') end?.link?.close(command.reason)
    else end?.cancel()
    return { ok: true }
  } catch (error) {
    return failure(error)
  }
}

async function acceptRelayed(offer: Signal): Promise<AnswererReply> {
  const pending = await transport.acceptOffer(offer)
  const attempt = ++attempts
  answerEnds.set(attempt, { cancel: pending.cancel })
  pending.link.then(
    (link) => {
      answerEnds.set(attempt, { link, cancel: pending.cancel })
      link.on('message', (message) => relay({ attempt, type: 'message', data: toBase64(message) }))
      link.on('progress', (progress) => relay({ attempt, type: 'progress', progress }))
      link.on('error', (error) => relay({ attempt, type: 'error', ...failure(error) }))
      link.on('close', ({ reason }) => relay({ attempt, type: 'close', reason }))
      relay({ attempt, type: 'open', id: link.id })
    },
    (error: unknown) => relay({ attempt, type: 'failed', ...failure(error) }),
  )
  return { ok: true, attempt, answer: pending.answer }
}

function failure(error: unknown): { ok: false; code: string; message: string } {
  const code = error instanceof TransportError ? error.code : 'unexpected'
  return { ok: false, code, message: error instanceof Error ? error.message : String(error) }
}

// ---- offering page ----

/** Stands in for the answering page's Link; its methods and events cross the relay. */
class RelayedLink implements Link {
  id = ''
  open = false
  readonly events = mitt<LinkEvents>()
  readonly opened: Promise<Link>
  settleOpen!: { resolve(link: Link): void; reject(error: Error): void }

  constructor(private readonly attempt: number) {
    this.opened = new Promise((resolve, reject) => (this.settleOpen = { resolve, reject }))
  }

  send(message: LinkMessage, lane: Lane = 'control'): void {
    if (!this.open) throw new TransportError('link-closed', 'Cannot send on a closed link.')
    relayCommand({ op: 'send', attempt: this.attempt, data: toBase64(message), lane })
  }

  close(reason?: string): void {
    relayCommand({ op: 'close', attempt: this.attempt, reason })
  }

  on<K extends keyof LinkEvents>(type: K, handler: (event: LinkEvents[K]) => void): () => void {
    this.events.on(type, handler)
    return () => this.events.off(type, handler)
  }
}

const relayedEnds = new Map<number, RelayedLink>()
/** Failures of relayed commands; a case fails if there are any. */
const relayFailures: string[] = []

/** Ends are made by whichever arrives first: the accept reply or the end's first event. */
function relayedEnd(attempt: number): RelayedLink {
  let end = relayedEnds.get(attempt)
  if (!end) relayedEnds.set(attempt, (end = new RelayedLink(attempt)))
  return end
}

function relayCommand(command: AnswererCommand): void {
  window.toAnswerer(command).then((reply) => {
    if (!reply.ok) relayFailures.push(`${command.op}: ${reply.code}: ${reply.message}`)
  })
}

function deliver(events: AnswerEndEvent[]): void {
  for (const event of events) deliverOne(event)
}

function deliverOne(event: AnswerEndEvent): void {
  const end = relayedEnd(event.attempt)
  switch (event.type) {
    case 'open':
      end.id = event.id
      end.open = true
      return end.settleOpen.resolve(end)
    case 'failed':
      return end.settleOpen.reject(new TransportError(event.code, event.message))
    case 'message':
      return end.events.emit('message', fromBase64(event.data))
    case 'progress':
      return end.events.emit('progress', event.progress)
    case 'error':
      return end.events.emit('error', new TransportError(event.code, event.message))
    case 'close':
      end.open = false
      return end.events.emit('close', { reason: event.reason })
  }
}

/** The answering page's transport, as seen from the offering page. */
const relayedAnswerer: Transport = {
  createOffer(): Promise<PendingOffer> {
    throw new Error('The relayed transport only answers.')
  },
  async acceptOffer(offer: Signal): Promise<PendingAnswer> {
    const reply = await window.toAnswerer({ op: 'accept', offer })
    if (!reply.ok) throw new TransportError(reply.code, reply.message)
    const attempt = reply.attempt!
    return {
      answer: reply.answer!,
      link: relayedEnd(attempt).opened,
      cancel: () => relayCommand({ op: 'cancel', attempt }),
    }
  },
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const env: ConformanceEnv = {
  offerer: transport,
  answerer: relayedAnswerer,
  maxMessageBytes: MAX_MESSAGE_BYTES,
  supports: new Set<Capability>(['progress']),
  async until(condition, what) {
    const deadline = performance.now() + WAIT_LIMIT_MS
    while (!condition()) {
      if (performance.now() > deadline) throw new Error(`Not within ${WAIT_LIMIT_MS} ms: ${what}`)
      await sleep(10)
    }
  },
  sleep,
}

async function runCase(name: string): Promise<void> {
  const found = conformanceCases.find((c) => c.name === name)
  if (!found) throw new Error(`No conformance case "${name}"`)
  await found.run(env)
  if (relayFailures.length > 0) throw new Error(`Relayed commands failed: ${relayFailures.join('; ')}`)
}

async function openLinkStats(): Promise<LinkStats> {
  const pending = await transport.createOffer()
  const answered = await relayedAnswerer.acceptOffer(pending.offer)
  const link = await pending.complete(answered.answer)
  await answered.link
  return link.getStats!()
}

/**
 * Counts `RTCDataChannel.send` calls: a lone message on an idle channel, then (once the
 * channel's buffer is empty again) a burst sent in one task, during that task and after it.
 */
async function framesWritten(burst: number): Promise<{ lone: number; burstInTask: number; burstAfterTask: number; received: number }> {
  const pending = await transport.createOffer()
  const answered = await relayedAnswerer.acceptOffer(pending.offer)
  const link = await pending.complete(answered.answer)
  const far = await answered.link
  let received = 0
  far.on('message', () => received++)
  const channel = (link as Link & { channel: RTCDataChannel }).channel
  const send = RTCDataChannel.prototype.send
  let writes = 0
  RTCDataChannel.prototype.send = function (this: RTCDataChannel, data: never) {
    if (this === channel) writes++
    return send.call(this, data)
  }
  try {
    link.send('{"lone":true}')
    const lone = writes
    await env.until(() => received === 1 && channel.bufferedAmount === 0, 'the lone message to arrive and the channel to drain')
    writes = 0
    for (let i = 0; i < burst; i++) link.send(`{"n":${i}}`)
    const burstInTask = writes
    await env.until(() => received === 1 + burst, 'the burst to arrive')
    return { lone, burstInTask, burstAfterTask: writes - burstInTask, received }
  } finally {
    RTCDataChannel.prototype.send = send
    link.close()
  }
}

// ---- bytes over the relay ----

/** Text crosses the relay as its UTF-8: a link may deliver text either way. */
function toBase64(message: LinkMessage): string {
  const bytes = typeof message === 'string' ? new TextEncoder().encode(message) : message
  let binary = ''
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(binary)
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

async function answerCancelledOffer(): Promise<{ code: string; cause: string }> {
  const pending = await transport.acceptOffer(await cancelledOffer())
  const error = await pending.link.then(
    () => new Error('the link opened'),
    (error: unknown) => error,
  )
  const cause = error instanceof Error ? error.cause : undefined
  return { code: failure(error).code, cause: cause instanceof TransportError ? cause.code : String(cause) }
}

async function cancelledOffer(): Promise<Signal> {
  const offer = await transport.createOffer()
  offer.cancel()
  return offer.offer
}

window.harness = { capabilities: [...env.supports], runCase, openLinkStats, framesWritten, answerCancelledOffer, deliver, answer }
