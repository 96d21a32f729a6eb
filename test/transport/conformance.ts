/**
 * What every Transport must do, as named cases that run anywhere: under vitest on the
 * memory network and in a browser page on the WebRTC transport. No test-runner or Node
 * imports here.
 *
 * A case opens links with `pair(env)`: `a` is the offering end and is driven directly;
 * `b` is the answering end, which in the browser suite lives in another page, so cases
 * make synchronous assertions on `a` only and observe `b` through its events.
 */
import { TransportError } from '../../src/errors.js'
import type { Lane, Link, LinkEvents, LinkMessage, Transport, TransferProgress } from '../../src/transport/transport.js'

export type Capability = 'progress'

export interface ConformanceEnv {
  offerer: Transport
  answerer: Transport
  /** The transports' message limit; must be at least 3.5 MB. */
  maxMessageBytes: number
  supports: ReadonlySet<Capability>
  /** Resolves once `condition()` holds, letting (virtual or real) time pass; throws on timeout. */
  until(condition: () => boolean, what: string): Promise<void>
  /** Lets `ms` of (virtual or real) time pass. */
  sleep(ms: number): Promise<void>
}

export interface ConformanceCase {
  name: string
  /** Capabilities the case needs; a runner reports the case as not applicable without them. */
  requires?: Capability[]
  run(env: ConformanceEnv): Promise<void>
}

export class AssertionError extends Error {
  override name = 'AssertionError'
}

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message)
}

function assertEqualBytes(message: LinkMessage | undefined, expected: Uint8Array, what: string): void {
  assert(message !== undefined, `${what}: nothing arrived`)
  assert(typeof message !== 'string', `${what}: bytes arrived as text`)
  const actual = message
  assert(actual.byteLength === expected.byteLength, `${what}: ${actual.byteLength} bytes, expected ${expected.byteLength}`)
  for (let i = 0; i < expected.byteLength; i++) {
    if (actual[i] !== expected[i]) throw new AssertionError(`${what}: byte ${i} is ${actual[i]}, expected ${expected[i]}`)
  }
}

function assertTransportError(error: unknown, what: string, code?: string): void {
  assert(error instanceof TransportError, `${what}: expected a TransportError, got ${String(error)}`)
  if (code) assert(error.code === code, `${what}: expected code "${code}", got "${error.code}"`)
}

function assertThrowsTransportError(action: () => unknown, what: string, code?: string): void {
  try {
    action()
  } catch (error) {
    assertTransportError(error, what, code)
    return
  }
  throw new AssertionError(`${what}: did not throw`)
}

/** Waits for a promise while letting time pass, which the memory network needs to make progress. */
async function settled<T>(env: ConformanceEnv, promise: Promise<T>, what: string): Promise<T> {
  let done = false
  const tracked = promise.finally(() => {
    done = true
  })
  tracked.catch(() => {})
  await env.until(() => done, what)
  return tracked
}

async function rejection(env: ConformanceEnv, promise: Promise<unknown>, what: string): Promise<unknown> {
  try {
    await settled(env, promise, what)
  } catch (error) {
    return error
  }
  throw new AssertionError(`${what}: was not refused`)
}

export async function pair(env: ConformanceEnv): Promise<[Link, Link]> {
  const pending = await env.offerer.createOffer()
  const answered = await env.answerer.acceptOffer(pending.offer)
  const offerEnd = pending.complete(answered.answer)
  return [await settled(env, offerEnd, 'offer end opens'), await settled(env, answered.link, 'answer end opens')]
}

/** Everything a link emits, in order. */
function record(link: Link) {
  const events: { [K in keyof LinkEvents]: LinkEvents[K][] } = { message: [], close: [], error: [], progress: [] }
  for (const type of Object.keys(events) as (keyof LinkEvents)[]) {
    link.on(type, (event) => (events[type] as unknown[]).push(event))
  }
  return events
}

const utf8 = new TextEncoder()
const text = new TextDecoder()
const decode = (message: LinkMessage | undefined) => (typeof message === 'string' ? message : message ? text.decode(message) : undefined)

function patterned(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length)
  let x = seed >>> 0 || 1
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    bytes[i] = x & 0xff
  }
  return bytes
}

const THREE_MB = 3 * 1024 * 1024

function assertProgress(progress: TransferProgress[], direction: TransferProgress['direction'], total: number): void {
  const mine = progress.filter((p) => p.direction === direction)
  assert(mine.length > 1, `${direction} progress: ${mine.length} events, expected several`)
  assert(mine.every((p) => p.total === total), `${direction} progress: wrong total`)
  assert(mine.every((p, i) => i === 0 || p.bytes > mine[i - 1]!.bytes), `${direction} progress: not increasing`)
  assert(mine.at(-1)!.bytes === total, `${direction} progress: does not end at the total`)
}

export const conformanceCases: ConformanceCase[] = [
  {
    name: 'delivers messages both ways',
    async run(env) {
      const [a, b] = await pair(env)
      const atA = record(a)
      const atB = record(b)
      a.send(utf8.encode('ping'))
      await env.until(() => atB.message.length === 1, 'b receives')
      b.send(utf8.encode('pong'))
      await env.until(() => atA.message.length === 1, 'a receives')
      assert(decode(atB.message[0]) === 'ping', 'b got the wrong message')
      assert(decode(atA.message[0]) === 'pong', 'a got the wrong message')
      assert(a.id !== '' && a.open, 'a is open with an id')
      a.close()
    },
  },
  {
    name: 'delivers text as text or as its UTF-8, and bytes as bytes',
    async run(env) {
      const [a, b] = await pair(env)
      const atB = record(b)
      const sent = JSON.stringify({ t: 'view', d: 'é€😀' })
      a.send(sent)
      a.send(utf8.encode(sent))
      a.send('x'.repeat(20_000), 'bulk')
      await env.until(() => atB.message.length === 3, 'b receives')
      assert(decode(atB.message[0]) === sent, 'the text changed on the way')
      assertEqualBytes(atB.message[1], utf8.encode(sent), 'bytes that are UTF-8 text')
      assert(decode(atB.message[2]) === 'x'.repeat(20_000), 'a long text changed on the way')
      a.close()
    },
  },
  {
    name: 'preserves the order of many messages on each lane',
    async run(env) {
      const [a, b] = await pair(env)
      const atB = record(b)
      const count = 300
      for (let i = 0; i < count; i++) a.send(utf8.encode(`${i % 2 ? 'bulk' : 'control'} ${i}`), i % 2 ? 'bulk' : 'control')
      await env.until(() => atB.message.length === count, `${count} messages arrive`)
      const received = atB.message.map(decode)
      for (const lane of ['control', 'bulk'] as Lane[]) {
        const sequence = received.filter((m) => m?.startsWith(lane)).map((m) => Number(m!.split(' ')[1]))
        assert(sequence.length === count / 2, `${lane}: ${sequence.length} messages`)
        assert(sequence.every((n, i) => i === 0 || n > sequence[i - 1]!), `${lane}: out of order`)
      }
      a.close()
    },
  },
  {
    name: 'delivers a 3 MB message intact',
    async run(env) {
      const [a, b] = await pair(env)
      const atB = record(b)
      const big = patterned(THREE_MB, 7)
      a.send(big, 'bulk')
      await env.until(() => atB.message.length === 1, '3 MB arrive')
      assertEqualBytes(atB.message[0], big, '3 MB message')
      a.close()
    },
  },
  {
    name: 'reports progress of a large message on both ends',
    requires: ['progress'],
    async run(env) {
      const [a, b] = await pair(env)
      const atA = record(a)
      const atB = record(b)
      a.send(patterned(THREE_MB, 8), 'bulk')
      await env.until(() => atB.message.length === 1, '3 MB arrive')
      assertProgress(atA.progress, 'send', THREE_MB)
      assertProgress(atB.progress, 'receive', THREE_MB)
      a.close()
    },
  },
  {
    name: 'lets a control message overtake a queued bulk message',
    async run(env) {
      const [a, b] = await pair(env)
      const atB = record(b)
      const big = patterned(THREE_MB, 9)
      a.send(big, 'bulk')
      a.send(utf8.encode('heartbeat'), 'control')
      await env.until(() => atB.message.length === 2, 'both arrive')
      assert(decode(atB.message[0]) === 'heartbeat', 'the control message waited for the bulk message')
      assertEqualBytes(atB.message[1], big, 'bulk message')
      a.close()
    },
  },
  {
    name: 'closing one end closes the other exactly once',
    async run(env) {
      const [a, b] = await pair(env)
      const atA = record(a)
      const atB = record(b)
      a.close('done')
      assert(!a.open, 'a is still open after close()')
      a.close('again')
      await env.until(() => atB.close.length > 0, 'b hears the close')
      await env.sleep(300)
      assert(atA.close.length === 1, `a: ${atA.close.length} close events`)
      assert(atB.close.length === 1, `b: ${atB.close.length} close events`)
      assert(atA.close[0]!.reason === 'done', `a: close reason "${atA.close[0]!.reason}"`)
      assert(atB.close[0]!.reason.length > 0, 'b: empty close reason')
    },
  },
  {
    name: 'refuses to send after close, on either end',
    async run(env) {
      const [a1] = await pair(env)
      a1.close()
      assertThrowsTransportError(() => a1.send(utf8.encode('late')), 'send after local close', 'link-closed')

      const [a2, b2] = await pair(env)
      const atA2 = record(a2)
      b2.close()
      await env.until(() => atA2.close.length === 1, 'a hears the remote close')
      assert(!a2.open, 'a is open after the remote closed')
      assertThrowsTransportError(() => a2.send(utf8.encode('late')), 'send after remote close', 'link-closed')
    },
  },
  {
    name: 'refuses a second answer to one offer',
    async run(env) {
      const pending = await env.offerer.createOffer()
      const answered = await env.answerer.acceptOffer(pending.offer)
      const a = await settled(env, pending.complete(answered.answer), 'first answer opens the link')
      await settled(env, answered.link, 'answer end opens')
      assertTransportError(await rejection(env, pending.complete(answered.answer), 'second answer'), 'second answer')
      assert(a.open, 'the second answer broke the open link')
      a.close()
    },
  },
  {
    name: 'refuses an offer or an answer it cannot read',
    async run(env) {
      assertTransportError(await rejection(env, env.answerer.acceptOffer('not an offer'), 'unknown offer'), 'unknown offer')
      const pending = await env.offerer.createOffer()
      assertTransportError(await rejection(env, pending.complete('not an answer'), 'unknown answer'), 'unknown answer')
      pending.cancel()
      pending.cancel()
    },
  },
  {
    name: 'refuses an oversized message and stays usable',
    async run(env) {
      const [a, b] = await pair(env)
      const atB = record(b)
      assertThrowsTransportError(
        () => a.send(new Uint8Array(env.maxMessageBytes + 1), 'bulk'),
        'oversized send',
        'message-oversized',
      )
      assert(a.open, 'the link closed after an oversized send')
      a.send(utf8.encode('still here'))
      await env.until(() => atB.message.length === 1, 'a later message arrives')
      assert(decode(atB.message[0]) === 'still here', 'wrong message after the refused one')
      assert(atB.close.length === 0, 'b closed')
      a.close()
    },
  },
]
