/**
 * `session-sync/testing`: what tests, simulations and benchmarks need and an app does not.
 *
 * - MemoryNetwork: an in-memory Transport whose links deliver through a VirtualClock, with
 *   seeded latency and faults (drop, delay, partition): whole sessions, deterministic.
 * - VirtualClock and seededRandom: time and randomness that replay exactly.
 * - linkOf, onIntentSettled, boundedSizes, traceStages: views into a controller, for
 *   instrumentation, so that no test reads the controller's private fields.
 *
 * Kept apart from the main entry so an app's bundle never carries any of it. Importing it
 * also gives every controller its session engine up front, where a page loads it on first
 * use: no test or simulation waits on an import(), so a seed replays exactly.
 *
 * @module session-sync/testing
 */
import type { SessionSyncController } from './session/controller.js'
import * as engine from './session/engine.js'
import { provideEngine } from './session/engine-loader.js'
import { coreOf } from './session/internals.js'
import type { Link } from './transport/transport.js'

export { MemoryNetwork } from './transport/memory.js'
export type { LinkFault, MemoryNetworkOptions } from './transport/memory.js'
export { VirtualClock } from './runtime/virtual-clock.js'
/** A journal in memory: it outlives a controller, so a test can reload a page. */
export { MemoryJournal } from './journal/memory.js'
export { seededRandom } from './runtime/random.js'
/** The compact SDP codec the WebRTC transport loads with the first invite, for tools and tests. */
export { sdpCodec } from './transport/sdp-codec.js'

provideEngine(engine)

type AnyController = SessionSyncController<any>

/**
 * The transport Link of the controller's direct link to `peerId` in the current session,
 * or undefined when there is none. For instrumentation (listening to its events, timing
 * its sends); a message sent on it bypasses the session.
 */
export function linkOf(controller: AnyController, peerId: string): Link | undefined {
  return coreOf(controller).session?.connOf(peerId)?.link
}

/**
 * Calls `listener` with the intent id each time the host confirms one of this guest's
 * intents (its authoritative delta or its ack arrived) in the session going on now; the
 * returned function stops it. Throws when no session is active.
 */
export function onIntentSettled(controller: AnyController, listener: (intentId: string) => void): () => void {
  const outbox = coreOf(controller).session?.outbox
  if (!outbox) throw new Error('onIntentSettled: no session is active')
  const settle = outbox.settle
  outbox.settle = function (intentId) {
    const entry = settle.call(this, intentId)
    if (entry !== undefined) listener(intentId)
    return entry
  }
  return () => {
    outbox.settle = settle
  }
}

/** Where `traceStages` marks a message: the steps of a view delta's way out and in. */
export type Stage = 'send: encode' | 'send: to link' | 'receive: from link' | 'receive: decode' | 'receive: gate' | 'receive: to provider'

/**
 * Benchmarks only: calls `mark(stage)` as each step of this controller's send and receive
 * paths begins, to time where a message's microseconds go. The returned function undoes it.
 */
export function traceStages(controller: AnyController, mark: (stage: Stage) => void): () => void {
  const { parts } = coreOf(controller)
  const undo: Array<() => void> = []
  const wrap = (part: object, method: string, stage: Stage) => {
    const target = part as Record<string, (...args: unknown[]) => unknown>
    const original = target[method]!
    target[method] = function (this: unknown, ...args: unknown[]) {
      mark(stage)
      return original.apply(this, args)
    }
    undo.push(() => delete target[method])
  }
  wrap(parts.views, 'sendView', 'send: encode')
  wrap(parts.links, 'sendBytes', 'send: to link')
  wrap(parts.links, 'receive', 'receive: from link')
  wrap(parts.links, 'decode', 'receive: decode')
  wrap(parts.router, 'dispatch', 'receive: gate')
  wrap(parts.bridge, 'deliver', 'receive: to provider')
  return () => undo.forEach((off) => off())
}

/** How many entries the controller's bounded structures hold (-1 for a session's, when there is none). */
export interface BoundedSizes {
  /** Intent ids applied (dedupe). */
  seen: number
  /** Last view counter per origin, provider and viewer. */
  viewState: number
  /** Authoritative deltas kept, encoded, for a resend or for handing over one's own changes. */
  replay: number
  /** A guest's unconfirmed intents. */
  outbox: number
  /** Deltas that arrived ahead of a gap. */
  reorder: number
  /** Deltas that arrived before the bootstrap. */
  earlyDeltas: number
  /** Names of peers that left, kept for messages about them. */
  formerNames: number
  /** Ids of invites already redeemed, so none is redeemed twice. */
  usedInvites: number
}

/** Sizes of the controller's bounded structures: for memory benchmarks and leak tests. */
export function boundedSizes(controller: AnyController): BoundedSizes {
  const core = coreOf(controller)
  const s = core.session
  return {
    seen: s ? s.seen.size : -1,
    viewState: s ? s.viewState.stats().entries : -1,
    replay: s ? s.replay.all().length : -1,
    outbox: s ? s.outbox.size : -1,
    reorder: s ? s.reorder.size : -1,
    earlyDeltas: s ? s.earlyDeltas.size : -1,
    formerNames: core.formerNames.size,
    usedInvites: core.usedInvites.size,
  }
}
