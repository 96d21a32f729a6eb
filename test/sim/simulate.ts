/**
 * A deterministic fault-injection simulator: the real session core on the in-memory
 * network, driven by one seed through random joins, leaves, changes and faults (crash,
 * freeze and thaw, partition and heal, cut links, delays), then checked against the
 * invariants that make failover trustworthy. The same seed replays the same run exactly.
 */
import { seededRandom } from '../../src/runtime/random.js'
import { TestSession, type TestPeer } from '../helpers/session.js'

export const SIM_TIMERS = {
  heartbeat: { intervalMs: 1_000, softTimeoutMs: 3_000, hardTimeoutMs: 8_000 },
  electionTimeoutMs: 1_500,
  linkTimeoutMs: 5_000,
  joinTimeoutMs: 10_000,
  meshLimit: 4,
}

/** After the last fault heals, everyone must be settled within this: hard timeout + election bound. */
export const RECOVERY_BOUND_MS = SIM_TIMERS.heartbeat.hardTimeoutMs + 4 * SIM_TIMERS.electionTimeoutMs + SIM_TIMERS.joinTimeoutMs

export interface SimResult {
  seed: number
  failures: string[]
  trace: string[]
  peers: number
}

interface Change {
  peer: TestPeer
  key: string
  value: number
}

export async function simulate(seed: number, steps = 24): Promise<SimResult> {
  const rng = seededRandom(seed ^ 0x5eed5eed)
  const pick = <T>(items: readonly T[]): T | undefined => items[Math.floor(rng.next() * items.length)]
  const between = (min: number, max: number) => min + Math.floor(rng.next() * (max - min + 1))
  const s = new TestSession(seed)
  const log = (line: string) => s.trace.push(`${s.clock.now()} sim ${line}`)
  const maxPeers = between(2, 12)
  const crashed = new Set<TestPeer>()
  const frozen = new Set<TestPeer>()
  const changes: Change[] = []
  let named = 0
  const newPeer = () => s.peer(`p${named++}`, SIM_TIMERS)
  const live = () => s.peers.filter((p) => !crashed.has(p) && !frozen.has(p) && p.controller.isActive())
  const hostOf = () => pick(live().filter((p) => p.controller.getRole() === 'host'))

  const join = async (host: TestPeer) => {
    const guest = newPeer()
    log(`join ${guest.name} via ${host.name}`)
    try {
      const invite = await host.controller.createInvite()
      const { answerCode } = await guest.controller.join(invite.url)
      const accepted = host.controller.acceptAnswer(answerCode).catch((error: Error) => log(`accept failed: ${error.message}`))
      await s.settle(50)
      await accepted
    } catch (error) {
      log(`join failed: ${(error as Error).message}`)
    }
  }

  const first = newPeer()
  await first.controller.start()
  for (let i = 1, n = between(1, maxPeers - 1); i <= n; i++) await join(first)

  for (let step = 0; step < steps; step++) {
    const roll = rng.next()
    const peer = pick(live())
    if (roll < 0.4 && peer) {
      const key = `${peer.name}:${step}`
      peer.kv.set(key, step)
      changes.push({ peer, key, value: step })
    } else if (roll < 0.52 && peer) {
      peer.cursor.set('pos', `${peer.name}:${step}`)
    } else if (roll < 0.62) {
      const host = hostOf()
      if (host && s.peers.length < maxPeers + 2) await join(host)
    } else if (roll < 0.67 && peer) {
      log(`leave ${peer.name}`)
      if (rng.next() < 0.5) await peer.controller.leave()
      else peer.controller.goodbye()
    } else if (roll < 0.73 && peer) {
      log(`crash ${peer.name}`)
      s.net.crash(peer.name)
      crashed.add(peer)
    } else if (roll < 0.8 && peer) {
      const ms = between(1_000, 2 * SIM_TIMERS.heartbeat.hardTimeoutMs)
      log(`freeze ${peer.name} for ${ms}`)
      s.net.freeze(peer.name)
      frozen.add(peer)
      s.clock.setTimeout(() => {
        s.net.resume(peer.name)
        frozen.delete(peer)
        log(`thaw ${peer.name}`)
      }, ms)
    } else if (roll < 0.86 && peer) {
      const ms = between(1_000, 2 * SIM_TIMERS.heartbeat.hardTimeoutMs)
      const others = s.peers.filter((p) => p !== peer).map((p) => p.name)
      log(`isolate ${peer.name} for ${ms}`)
      s.net.partition([peer.name], others)
      s.clock.setTimeout(() => {
        s.net.heal()
        log('heal')
      }, ms)
    } else if (roll < 0.92 && peer) {
      const other = pick(live().filter((p) => p !== peer))
      if (other) {
        log(`cut ${peer.name}-${other.name}`)
        s.net.cut(peer.name, other.name)
      }
    } else if (peer) {
      const other = pick(s.peers.filter((p) => p !== peer))
      if (other) {
        const delay = between(10, 2_000)
        log(`delay ${peer.name}>${other.name} ${delay}`)
        s.net.setFault(peer.name, other.name, { delay })
      }
    }
    await s.settle(between(0, 1_500))
  }
  // Every fault ends; then the session must settle within the recovery bound.
  await s.settle(2 * SIM_TIMERS.heartbeat.hardTimeoutMs)
  s.net.heal()
  for (const a of s.peers) for (const b of s.peers) s.net.setFault(a.name, b.name, undefined)
  log('all faults healed')
  await s.settle(RECOVERY_BOUND_MS)
  return { seed, failures: check(s, crashed, changes), trace: s.trace, peers: s.peers.length }
}

function check(s: TestSession, crashed: Set<TestPeer>, changes: Change[]): string[] {
  const failures: string[] = []
  const alive = s.peers.filter((p) => !crashed.has(p) && p.controller.isActive())
  const byId = new Map(alive.map((p) => [p.controller.getSelf().id, p]))
  const groups = new Map<TestPeer, TestPeer[]>()
  for (const p of alive) {
    const state = p.controller.getState()
    if (state !== 'connected') failures.push(`${p.name} is ${state}, not connected, ${RECOVERY_BOUND_MS} ms after the last fault`)
    const hostInfo = p.controller.getPeers().find((x) => x.role === 'host')
    const host = hostInfo && byId.get(hostInfo.id)
    if (!host || host.controller.getRole() !== 'host') {
      failures.push(`${p.name} follows ${hostInfo?.name ?? 'nobody'}, which is not a live host`)
      continue
    }
    if (!host.controller.getPeers().some((x) => x.id === p.controller.getSelf().id)) failures.push(`${host.name} does not list its guest ${p.name}`)
    groups.set(host, [...(groups.get(host) ?? []), p])
  }
  const hosts = [...groups.keys()]
  for (const a of hosts) for (const b of hosts) {
    if (a !== b && a.controller.getPeers().some((x) => x.id === b.controller.getSelf().id)) failures.push(`two hosts in one session: ${a.name} lists ${b.name}`)
  }
  for (const [host, members] of groups) {
    const want = JSON.stringify(sorted(host.kv.store()))
    for (const m of members) {
      if (JSON.stringify(sorted(m.kv.store())) !== want) failures.push(`${m.name} state differs from its host ${host.name}: ${diffKeys(m.kv.store(), host.kv.store())}`)
      if (JSON.stringify(m.layers.stores.get('left') ?? {}) !== JSON.stringify(host.layers.stores.get('left') ?? {})) failures.push(`${m.name} per-viewer state differs from ${host.name}`)
    }
  }
  for (const { peer, key, value } of changes) {
    if (!alive.includes(peer)) continue
    const host = [...groups].find(([, members]) => members.includes(peer))?.[0]
    if (host && host.kv.store()[key] !== value) failures.push(`lost: ${peer.name}'s change ${key} is missing at its host ${host.name}`)
  }
  // Exactly once: a snapshot replaces state (so what follows it may re-apply), but between
  // two snapshots no intent is ever applied twice.
  for (const p of alive) if (p.kv.duplicates.length) failures.push(`${p.name} applied intent ${p.kv.duplicates[0]} twice`)
  return failures
}

function sorted(record: Record<string, unknown>): Array<[string, unknown]> {
  return Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1))
}

function diffKeys(a: Record<string, unknown>, b: Record<string, unknown>): string {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
  return keys.map((k) => `${k}=${JSON.stringify(a[k])}/${JSON.stringify(b[k])}`).join(' ')
}
