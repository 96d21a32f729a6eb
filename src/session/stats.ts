/**
 * What a peer holds, cache by cache, in entries and bytes, beside each budget: for
 * `getStats()`, for memory benchmarks and for the tests that show the budgets hold.
 */
import type { SessionViewer } from '../types.js'
import { type CacheStats, ENTRY_OVERHEAD } from './bounded.js'
import { budgetsOf } from './options.js'
import type { Conn, Core } from './state.js'

export interface SessionCaches {
  /** Intent ids applied (dedupe). */
  dedupe: CacheStats
  /** Host: refused intents remembered, per guest (budget: one guest's). */
  declined: CacheStats
  /** Last view counter per (provider, viewer), per peer (budget: one peer's). */
  viewState: CacheStats
  /** Authoritative deltas kept, encoded, for resends and handing over one's own changes. */
  replayLog: CacheStats
  /** Guest: unconfirmed intents. */
  outbox: CacheStats
  /** Guest: deltas ahead of a gap. */
  reorderBuffer: CacheStats
  /** Guest: deltas that came before the bootstrap. */
  earlyDeltas: CacheStats
  /** Host: invites open (each holds an offer and a connection in the making). */
  pendingInvites: CacheStats
  /** Messages still arriving, over every link (budget: one link's; transports that reassemble nothing report none). */
  reassembly: CacheStats
}

export interface SessionStats {
  caches: SessionCaches
  /** The sum of every cache's bytes. */
  bytes: number
}

function reassembly(conns: Conn[], maxLinks: number): CacheStats {
  let bytes = 0
  let budget = 0
  for (const conn of conns) {
    const held = conn.link.inFlight?.()
    if (!held) continue
    bytes += held.bytes
    budget = Math.max(budget, held.budgetBytes)
  }
  return { entries: conns.length, bytes, budget: { entries: maxLinks, bytes: budget || Infinity } }
}

export function sessionStats<V extends SessionViewer>(core: Core<V>): SessionStats {
  const s = core.session
  const budget = budgetsOf(core.limits)
  const none = (key: keyof typeof budget): CacheStats => ({ entries: 0, bytes: 0, budget: budget[key] })
  const caches: SessionCaches = {
    dedupe: s?.seen.stats() ?? none('dedupe'),
    declined: s?.declined.stats() ?? none('declined'),
    viewState: s?.viewState.stats() ?? none('viewState'),
    replayLog: s?.replay.stats() ?? none('replayLog'),
    outbox: s?.outbox.stats() ?? none('outbox'),
    reorderBuffer: s?.reorder.stats() ?? none('reorderBuffer'),
    earlyDeltas: s?.earlyDeltas.stats() ?? none('earlyDeltas'),
    pendingInvites: s
      ? {
          entries: s.invites.size,
          bytes: [...s.invites.values()].reduce((sum, invite) => sum + ENTRY_OVERHEAD + 2 * invite.pending.offer.length, 0),
          budget: budget.pendingInvites,
        }
      : none('pendingInvites'),
    reassembly: reassembly(s ? [...s.conns] : [], core.limits.maxLinks),
  }
  const bytes = Object.values(caches).reduce((sum, cache) => sum + cache.bytes, 0)
  return { caches, bytes }
}
