/**
 * What must hold once every fault has healed and the recovery bound has passed. Hostile
 * guests, when there are any, are no party to these promises: they are about the honest peers.
 */
import { coreOf } from '../../src/session/internals.js'
import type { TestPeer, TestSession } from '../helpers/session.js'
import type { FaultProviders } from './providers.js'
import { RECOVERY_BOUND_MS } from './timers.js'

export interface Change {
  peer: TestPeer
  key: string
  value: number
  /** The intent id its controller gave it. */
  id?: string | void
}

export interface Outcome {
  crashed: Set<TestPeer>
  changes: Change[]
  /** The hostile guests: none, one, or (`collude`) a pair working together. */
  hostiles: ReadonlySet<TestPeer>
  /** In collude seeds: why a colluder that hosts did not win its election with a real majority, if it did not. */
  /** `took`: the forged keys an honest peer applied from a colluder that hosted it while the pair outnumbered its session's honest peers. */
  /** `dropped`, `leftOut`: what such a colluder's snapshots took from a peer's state (a user's kv keys) and the providers they left out. */
  /** `ownChanges`: the forged keys a colluder sent an honest host as its own change (an intent, or a forward in its own name). */
  /** `splitVote`: why two honest hosts of one session may both host, when a colluding seat that backed both won each its election. */
  colluders?: {
    unbacked(host: TestPeer, epoch: number): string | undefined
    forgedBy(host: TestPeer): ReadonlySet<string>
    took(peer: TestPeer): ReadonlySet<string>
    dropped(user: string): ReadonlySet<string>
    leftOut(peer: TestPeer): ReadonlyMap<string, number>
    ownChanges(): ReadonlySet<string>
    splitVote(a: TestPeer, b: TestPeer): string | undefined
  } | undefined
  /** Honest peers that ended their session right after a hostile guest told them "the host is alive", though it was not. */
  misled: string[]
  /** In provider-fault seeds: each peer's failing, slow and counting providers. */
  faulty?: Map<TestPeer, FaultProviders>
  /** User ids a host removed. */
  kicked?: Set<string>
}

export function check(s: TestSession, { crashed, changes, hostiles, colluders, misled, faulty, kicked }: Outcome): string[] {
  const failures: string[] = []
  const known = new Set(s.peers.map((p) => p.controller.getSelf().id))
  const alive = s.peers.filter((p) => !crashed.has(p) && p.controller.isActive())
  const honest = alive.filter((p) => !hostiles.has(p))
  const byId = new Map(alive.map((p) => [p.controller.getSelf().id, p]))
  const groups = new Map<TestPeer, TestPeer[]>()
  // Hostile guests (each held a seat: one that ended since may have given its word first) that outnumber the
  // honest peers still in the session were its majority: by the rules a majority may make one of them host
  // (elect it, or tell a host it follows it, so that it steps down), and one that says it hosts is then, to
  // those that follow it, a host they must trust, whatever its page does. A lone hostile guest never is.
  const outnumbered = (p: TestPeer) => hostiles.size > honest.filter((q) => q.controller.sessionId === p.controller.sessionId).length
  /** Honest peers that follow a hostile guest of a session its hostile guests outnumber: theirs is its word. */
  const captured = new Set<TestPeer>()
  for (const p of honest) {
    failures.push(...overBudget(p))
    const state = p.controller.getState()
    // A host whose every guest left before it admitted them is still waiting for its first: 'hosting' is right.
    const waitingAlone = state === 'hosting' && p.controller.getPeers().length <= 1
    if (state !== 'connected' && !waitingAlone) failures.push(`${p.name} is ${state}, not connected, ${RECOVERY_BOUND_MS} ms after the last fault`)
    const ghosts = p.controller.getPeers().filter((x) => !known.has(x.id))
    if (ghosts.length) failures.push(`${p.name} lists ${ghosts.map((x) => x.id).join(', ')}, who is no peer of this session`)
    const back = p.controller.getPeers().filter((x) => kicked?.has(x.id))
    if (back.length) failures.push(`${p.name} lists ${back.map((x) => x.id).join(', ')}, whom a host removed`)
    const hostInfo = p.controller.getPeers().find((x) => x.role === 'host')
    const host = hostInfo && byId.get(hostInfo.id)
    if (host && hostiles.has(host) && outnumbered(p)) {
      captured.add(p)
      continue
    }
    if (host && hostiles.has(host) && host.controller.getRole() !== 'host') {
      failures.push(`${p.name} follows the hostile guest ${host.name} as its host`)
      continue
    }
    if (!host || host.controller.getRole() !== 'host') {
      failures.push(`${p.name} follows ${hostInfo?.name ?? 'nobody'}, which is not a live host`)
      continue
    }
    if (!host.controller.getPeers().some((x) => x.id === p.controller.getSelf().id)) failures.push(`${host.name} does not list its guest ${p.name}`)
    groups.set(host, [...(groups.get(host) ?? []), p])
  }
  // One host per session among the peers still in it: a peer that cannot reach the others
  // may end its session (with a reason), never host a copy of it.
  const bySession = new Map<string | null, TestPeer[]>()
  for (const p of honest) if (p.controller.getRole() === 'host') bySession.set(p.controller.sessionId, [...(bySession.get(p.controller.sessionId) ?? []), p])
  // Save where a colluding seat backed two honest candidates that could not hear each other, each of them a majority
  // with it: the double-backing limit (docs/failover.md), which no majority vote without signed ballots escapes (seed 1997205).
  const splitVote = (a: TestPeer, b: TestPeer) => colluders?.splitVote(a, b) !== undefined
  for (const hosts of bySession.values()) {
    if (hosts.length > 1 && !hosts.every((a) => hosts.every((b) => a === b || splitVote(a, b)))) failures.push(`${hosts.length} hosts in one session: ${hosts.map((p) => p.name).join(', ')}`)
  }
  const hosts = [...groups.keys()]
  // A hostile guest that won an election hosts: trusted while it is host (the threat model), it may tell
  // each of its followers what it likes — those that follow it in the epoch it won. What they hold is
  // no measure of the library. One that follows it in another epoch (a forged claim) is held to all.
  // A colluder won only with a real majority: honest backs, and the pair's own two seats (real votes,
  // enough alone only where two are a majority of the electorate). Short of that, its win was forged
  // votes, and its followers are held to all.
  const epochOf = (p: TestPeer) => coreOf(p.controller).session?.epoch
  const underHostile = new Set<TestPeer>(captured)
  /** Hostile hosts whose win nothing shows was short of a real majority. */
  const trusted = new Set<TestPeer>()
  for (const [host, members] of groups) {
    if (!hostiles.has(host)) continue
    const followers = members.filter((p) => epochOf(p) === epochOf(host))
    const forged = colluders?.unbacked(host, epochOf(host) ?? 0)
    if (!forged) trusted.add(host)
    if (forged && followers.length) failures.push(`${followers.map((p) => p.name).join(', ')} follow ${forged}`)
    else for (const p of followers) underHostile.add(p)
  }
  // Two colluders may each win with the other's seat behind it (a seat that backs two candidates: one
  // vote each, in a single round, is all any peer can see): two trusted hosts, each telling its own
  // followers what it likes, as one could. Any other host beside a host of honest peers is two hosts.
  for (const a of hosts) for (const b of hosts) {
    if (a === b || (trusted.has(a) && trusted.has(b))) continue
    if (a.controller.getPeers().some((x) => x.id === b.controller.getSelf().id)) failures.push(`two hosts in one session: ${a.name} lists ${b.name}`)
  }
  for (const [host, members] of groups) {
    if (hostiles.has(host)) continue
    const want = JSON.stringify(sorted(host.kv.store()))
    for (const m of members) {
      if (JSON.stringify(sorted(m.kv.store())) !== want) failures.push(`${m.name} state differs from its host ${host.name}: ${diffKeys(m.kv.store(), host.kv.store())}`)
      if (JSON.stringify(m.layers.stores.get('left') ?? {}) !== JSON.stringify(host.layers.stores.get('left') ?? {})) failures.push(`${m.name} per-viewer state differs from ${host.name}`)
      // The slow provider and the counter are honest, only slow or not idempotent: they must agree too.
      for (const id of ['slow', 'tally'] as const) {
        const [mine, theirs] = [faulty?.get(m)?.[id], faulty?.get(host)?.[id]]
        if (mine && theirs && JSON.stringify(sorted(mine.store())) !== JSON.stringify(sorted(theirs.store()))) failures.push(`${m.name} ${id} state differs from its host ${host.name}: ${diffKeys(mine.store(), theirs.store())}`)
      }
    }
  }
  for (const { peer, key, value, id } of changes) {
    if (hostiles.has(peer) || !alive.includes(peer) || underHostile.has(peer)) continue
    // A confirmed change that a colluder hosting its author as the pair's majority's choice took away with its
    // snapshot stays gone when that author hosts again: that host's word, as what it wrote is (seeds 1668183, 1676661).
    if (colluders?.dropped(peer.controller.getSelf().id).has(key)) continue
    const host = [...groups].find(([, members]) => members.includes(peer))?.[0]
    if (!host || host.kv.store()[key] === value) continue
    const squatter = host.kv.applied.find((a) => a.delta.intentId === id && a.meta.origin !== peer.controller.getSelf().id)?.meta.origin
    failures.push(`lost: ${peer.name}'s change ${key} is missing at its host ${host.name}${squatter ? ` (its intent id ${id} was taken by ${squatter})` : ''}`)
  }
  // Nothing a hostile guest forged takes hold: only honest peers and its own intents write state. A hostile
  // host's followers may hold what it wrote (its word: a lone hostile guest wrote every forged key), never
  // what its colluding partner, a guest, forged.
  const forgedKeys = (p: TestPeer) => [...p.kv.stores.values(), ...p.layers.stores.values()].flatMap((store) => Object.keys(store)).filter((k) => k.startsWith('forged:'))
  for (const p of honest) {
    const host = underHostile.has(p) ? [...groups].find(([, members]) => members.includes(p))?.[0] : undefined
    if (captured.has(p) || (host && !colluders)) continue
    // What a colluder wrote while it hosted p as the pair's majority's choice stays p's when it hosts no more (seed 1601837).
    // What a colluder sent its honest host as its own change is an editor's change, however it was made (seed 1922024).
    const told = new Set([...(host ? [...forgedKeys(host), ...colluders!.forgedBy(host)] : []), ...(colluders?.took(p) ?? []), ...(colluders?.ownChanges() ?? [])])
    const forged = forgedKeys(p).filter((k) => !told.has(k))
    if (forged.length) failures.push(`${p.name} holds forged state${host ? ` its host ${host.name} does not` : ''}: ${forged.slice(0, 3).join(' ')}`)
  }
  for (const name of misled) failures.push(`${name} ended its session on the hostile guest's word that the lost host was alive`)
  // Exactly once: a snapshot replaces state (so what follows it may re-apply), but between
  // two snapshots no intent is ever applied twice.
  // Exactly once holds for every provider, the failing one too.
  for (const p of honest) {
    const providers = [p.kv, p.layers, ...Object.values(faulty?.get(p) ?? {})]
    for (const provider of providers) if (provider.duplicates.length) failures.push(`${p.name} applied intent ${provider.duplicates[0]} twice (${provider.id})`)
  }
  // A failing provider changes nothing the others receive: an honest editor's change is never
  // refused (a provider error is not a refusal), and an honest provider's state is replaced
  // only by whole snapshots, never rolled back because another provider failed.
  for (const p of honest) {
    const refused = p.events.filter((e) => e.type === 'session-diagnostic' && (e.payload as { code: string }).code === 'intent-refused')
    if (refused.length) failures.push(`${p.name}'s change was refused: ${JSON.stringify(refused[0]!.payload)}`)
    // What snapshots a hostile host that won sends its followers (one that leaves providers out, at
    // a sequence number of its choosing) is its word, trusted while it hosts, like their state above.
    if (underHostile.has(p)) continue
    const wholeSnapshots = p.events.filter((e) => e.type === 'session-bootstrap-complete').length
    const good = [p.kv, ...(faulty?.get(p) ? [faulty.get(p)!.slow, faulty.get(p)!.tally] : [])]
    for (const provider of good) {
      // Those a colluding host that was the majority's choice left this provider out of were its word.
      const excused = colluders?.leftOut(p).get(provider.id) ?? 0
      if (provider.snapshotsApplied.length + excused !== wholeSnapshots) failures.push(`${p.name}'s ${provider.id} took ${provider.snapshotsApplied.length} snapshots, not the ${wholeSnapshots} whole ones`)
    }
  }
  return failures
}

function sorted(record: Record<string, unknown>): Array<[string, unknown]> {
  return Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1))
}

function diffKeys(a: Record<string, unknown>, b: Record<string, unknown>): string {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
  return keys.map((k) => `${k}=${JSON.stringify(a[k])}/${JSON.stringify(b[k])}`).join(' ')
}

/** Caches past their budget: bytes past it, or entries past it by more than the eighth a trim allows (per peer for per-peer ones). */
export function overBudget(p: TestPeer): string[] {
  const peers = Math.max(1, p.controller.getPeers().length)
  const perPeer = new Set(['declined', 'viewState', 'reassembly'])
  return Object.entries(p.controller.getStats().caches).flatMap(([name, { entries, bytes, budget }]) => {
    const most = Math.floor(budget.entries * 1.125) * (perPeer.has(name) ? peers : 1)
    return entries > most || bytes > budget.bytes * (perPeer.has(name) ? peers : 1)
      ? [`${p.name}'s ${name} holds ${entries} entries, ${bytes} bytes, over its budget of ${budget.entries} entries, ${budget.bytes} bytes${perPeer.has(name) ? ' a peer' : ''}`]
      : []
  })
}
