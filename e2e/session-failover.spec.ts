/**
 * Host failover over real WebRTC in Chromium (loopback only), losing nothing: the host
 * page closes (goodbye on pagehide), crashes (no goodbye), or freezes (its JavaScript
 * stopped by the debugger, then thawed). Survivors elect the best-ranked of them as the
 * new host with no new invite, and every intent is applied exactly once.
 *
 * The host always sits alone in its own page and context, as that page's `window.SESSION`
 * (so closing the page says goodbye, and crashing or freezing it affects nobody else).
 * Guests live in three shared pages; timers are short so failover fits a test.
 */
import type { BrowserContext } from '@playwright/test'
import { expect, test } from './fixtures.js'
import { admit as admitWith, fullMesh, hostAlone as hostAloneWith, SessionPage, sharedSessionPages, type Peer } from './pages/session.driver.js'
import type { PeerOptions, PeerView, RecordedEvent } from './pages/session.js'

const HEARTBEAT = { intervalMs: 500, softTimeoutMs: 1_500, hardTimeoutMs: 4_000 }
const ELECTION_MS = 1_000
const TIMERS: PeerOptions = { heartbeat: HEARTBEAT, electionTimeoutMs: ELECTION_MS }
/** Long enough for a failover that waits for the hard timeout, on a loaded two-core machine. */
const FAILOVER_WAIT_MS = HEARTBEAT.hardTimeoutMs + 4 * ELECTION_MS + 6_000

let pageA: SessionPage
let pageB: SessionPage
let pageC: SessionPage

sharedSessionPages(3, (a, b, c) => ([pageA, pageB, pageC] = [a, b, c]))

/** The wall-clock time of the first event matching `match` at or after `since`. */
async function firstEvent(peer: Peer, type: RecordedEvent['type'], since: number, match: (payload: any) => boolean = () => true): Promise<number | undefined> {
  return (await peer.events(type)).find((e) => e.wall >= since && match(e.payload))?.wall
}

const hostAlone = (openContext: () => Promise<BrowserContext>) => hostAloneWith(openContext, TIMERS)
const admit = (host: Peer, layout: SessionPage[]) => admitWith(host, layout, TIMERS)

/** When each peer was `connected` again after `since` (the end of its failover). */
async function connectedAgain(peers: Peer[], since: number): Promise<number[]> {
  const times = await Promise.all(peers.map((peer) => firstEvent(peer, 'session-state-changed', since, (p) => p.state === 'connected' && p.previous === 'reconnecting')))
  expect(times.every((t) => t !== undefined), 'every survivor went reconnecting → connected').toBe(true)
  return times as number[]
}

/** Per intent id, how often `peer` applied it (0 when never). */
async function countsOf(peer: Peer, ids: string[]): Promise<Record<string, number>> {
  const counts = await peer.appliedCounts('kv')
  return Object.fromEntries(ids.map((id) => [id, counts.get(id) ?? 0]))
}

const each = (ids: string[], n: number) => Object.fromEntries(ids.map((id) => [id, n]))

/**
 * A new host and its followers: roles, events, and everyone's rank list (from `views`, the
 * survivors' views taken right after the takeover, when given).
 */
async function expectTakeover(oldHost: Peer, newHost: Peer, followers: Peer[], views?: PeerView[]): Promise<void> {
  const survivors = [newHost, ...followers]
  views ??= await Promise.all(survivors.map((peer) => peer.view()))
  expect(views[0]!.role).toBe('host')
  expect((await newHost.events('session-role-changed')).map((e) => e.payload)).toEqual([
    { role: 'guest', previous: 'none' },
    { role: 'host', previous: 'guest' },
  ])
  for (const [n, peer] of followers.entries()) {
    expect(views[n + 1]!.role, peer.name).toBe('guest')
    expect((await peer.events('session-role-changed')).map((e) => e.payload), peer.name).toEqual([{ role: 'guest', previous: 'none' }])
  }
  for (const [n, peer] of survivors.entries()) {
    expect((await peer.events('session-host-lost')).map((e) => e.payload), peer.name).toEqual([{ hostId: oldHost.id }])
    const { peers, state } = views[n]!
    expect(state, peer.name).toBe('connected')
    expect(
      peers.map((p) => [p.id, p.rank, p.role]),
      `${peer.name}'s getPeers()`,
    ).toEqual(survivors.map((p, rank) => [p.id, rank, rank === 0 ? 'host' : 'guest']))
  }
}

test.describe('host failover over WebRTC', () => {
  test('4-peer mesh: the host page closes mid-burst; the best-ranked survivor takes over at once and every intent is applied exactly once', async ({ newPeerContext }) => {
    const { hostPage, host } = await hostAlone(newPeerContext)
    const guests = await admit(host, [pageA, pageB, pageC])
    const [g1, g2, g3] = guests as [Peer, Peer, Peer]
    await fullMesh([host, ...guests])

    // g3 sets burst-00..burst-29, one every 30 ms; the host page closes once the host has applied 8.
    const COUNT = 30
    const keys = Array.from({ length: COUNT }, (_, n) => `burst-${String(n).padStart(2, '0')}`)
    await g3.burst('burst-', COUNT, 30)
    await host.waitFor({ kvKeys: keys.slice(0, 8) })
    const appliedByOldHost = Object.keys((await host.view()).kv).length
    const closedAt = Date.now()
    await hostPage.page.close()
    const atClose = (await g3.burstState('burst-'))!
    expect(atClose.ids.length, 'the page closed mid-burst').toBeLessThan(COUNT)

    await Promise.all(guests.map((peer) => peer.waitFor({ following: g1.id }, FAILOVER_WAIT_MS)))
    const failoverMs = Math.max(...(await connectedAgain(guests, closedAt))) - closedAt
    // The goodbye, not the heartbeat, told them.
    expect(failoverMs).toBeLessThan(HEARTBEAT.hardTimeoutMs)
    for (const peer of guests) {
      expect((await peer.events('session-peer-dropped')).map((e) => [e.payload.peer.id, e.payload.reason]), peer.name).toEqual([[host.id, 'page-closed']])
    }
    await expectTakeover(host, g1, [g2, g3])

    // The whole burst lands, then a barrier from g3: anything that could still arrive twice is in by then.
    await g3.waitFor({ burstDone: 'burst-' })
    const { ids } = (await g3.burstState('burst-'))!
    expect(ids).toHaveLength(COUNT)
    expect(new Set(ids).size).toBe(COUNT)
    await Promise.all([g1, g2].map((peer) => peer.waitFor({ kvKeys: keys })))
    await g3.waitFor({ settled: true })
    const barrier = (await g3.setKv('barrier', true))!
    await Promise.all([g1, g2].map((peer) => peer.waitFor({ applied: 'kv', intentId: barrier })))

    expect(await countsOf(g1, ids), 'applyDelta per intent on the new host').toEqual(each(ids, 1))
    expect(await countsOf(g2, ids), 'applyDelta per intent on the other guest').toEqual(each(ids, 1))
    // The sender applied its own changes locally; at most once more, if a snapshot replaced them.
    expect(Object.values(await countsOf(g3, ids)).every((n) => n <= 1)).toBe(true)

    const [v1, v2, v3] = await Promise.all([g1.view(), g2.view(), g3.view()])
    expect(v1.kv).toEqual({ ...Object.fromEntries(keys.map((k, n) => [k, n])), barrier: true })
    expect(v2.kv).toEqual(v1.kv)
    expect(v3.kv).toEqual(v1.kv)
    expect(v3.pendingIntents).toBe(0)
    test.info().annotations.push({ type: 'measured', description: `goodbye failover ${failoverMs} ms; old host applied ${appliedByOldHost}/${COUNT} before closing; ${atClose.ids.length}/${COUNT} sent at close` })
    for (const page of [pageA, pageB, pageC]) await page.expectHealthy()
  })

  test('4-peer mesh: the host crashes (no goodbye); failover after the hard timeout, and intents made during the outage are applied exactly once', async ({ newPeerContext }) => {
    const { hostPage, host } = await hostAlone(newPeerContext)
    const guests = await admit(host, [pageA, pageB, pageC])
    const [g1, g2, g3] = guests as [Peer, Peer, Peer]
    await fullMesh([host, ...guests])
    const before = (await g3.setKv('before', 1))!
    await g3.waitFor({ settled: true })
    await Promise.all([g1, g2].map((peer) => peer.waitFor({ applied: 'kv', intentId: before })))

    const crashedAt = Date.now()
    await hostPage.crash()
    // During the outage: intents of a guest, and of the survivor that will win.
    const fromG3: string[] = []
    const fromG1: string[] = []
    for (let n = 0; n < 5; n++) fromG3.push((await g3.setKv(`outage-g3-${n}`, n))!)
    for (let n = 0; n < 2; n++) fromG1.push((await g1.setKv(`outage-g1-${n}`, n))!)
    for (const peer of guests) expect(await peer.events('session-host-lost'), `${peer.name} already lost the host`).toEqual([])
    expect((await g3.view()).pendingIntents).toBe(5)

    await Promise.all(guests.map((peer) => peer.waitFor({ following: g1.id }, FAILOVER_WAIT_MS)))
    // Nothing told them: each found the silence itself (stale at the soft timeout, dead at
    // the hard one). Their last message from the host is at most one interval before the crash.
    const lostAt: number[] = []
    for (const peer of guests) {
      const stale = await firstEvent(peer, 'session-reconnecting', crashedAt, (p) => p.peerId === host.id)
      const lost = await firstEvent(peer, 'session-host-lost', crashedAt)
      expect(stale, `${peer.name}: session-reconnecting`).toBeDefined()
      expect(lost, `${peer.name}: session-host-lost`).toBeDefined()
      expect(stale! - crashedAt, `${peer.name}: stale`).toBeGreaterThanOrEqual(HEARTBEAT.softTimeoutMs - HEARTBEAT.intervalMs)
      expect(stale!).toBeLessThan(lost!)
      lostAt.push(lost! - crashedAt)
    }
    // The first to notice is at the hard timeout; the others may follow it on its candidacy (already stale themselves).
    expect(Math.min(...lostAt)).toBeGreaterThanOrEqual(HEARTBEAT.hardTimeoutMs - HEARTBEAT.intervalMs)
    const failoverMs = Math.max(...(await connectedAgain(guests, crashedAt))) - crashedAt
    expect(failoverMs).toBeGreaterThanOrEqual(HEARTBEAT.hardTimeoutMs - HEARTBEAT.intervalMs)
    await expectTakeover(host, g1, [g2, g3])

    await g3.waitFor({ settled: true })
    const barrier = (await g3.setKv('barrier', true))!
    await Promise.all([g1, g2].map((peer) => peer.waitFor({ applied: 'kv', intentId: barrier })))
    expect(await countsOf(g1, fromG3), 'g3 outage intents on the new host').toEqual(each(fromG3, 1))
    expect(await countsOf(g1, fromG1), 'the new host applied its own changes locally').toEqual(each(fromG1, 0))
    // g2 had nothing pending: it must get every outage intent as a delta, once. (Soft, so the
    // state checks below still run: fails today, see the note on re-bootstraps at the end of the file.)
    expect.soft(await countsOf(g2, [...fromG3, ...fromG1]), 'outage intents on g2').toEqual(each([...fromG3, ...fromG1], 1))
    expect.soft((await g2.events('session-bootstrap-complete')).length, 'g2 needs no second bootstrap').toBe(1)
    // g3 had its own changes pending, so its state differs from the new host's: a fresh
    // snapshot may carry g1's changes instead of their deltas. Never twice, though.
    expect(Object.values(await countsOf(g3, fromG1)).every((n) => n <= 1)).toBe(true)
    for (const peer of [g1, g2]) expect((await peer.appliedCounts('kv')).get(before), `${peer.name}: the pre-crash intent`).toBe(1)

    const [v1, v2, v3] = await Promise.all([g1.view(), g2.view(), g3.view()])
    expect(v1.kv).toMatchObject({ before: 1, 'outage-g3-4': 4, 'outage-g1-1': 1, barrier: true })
    expect(Object.keys(v1.kv)).toHaveLength(1 + 5 + 2 + 1)
    expect(v2.kv).toEqual(v1.kv)
    expect(v3.kv).toEqual(v1.kv)
    test.info().annotations.push({ type: 'measured', description: `crash: host lost after ${lostAt.join('/')} ms, failover done ${failoverMs} ms after the crash` })
    for (const page of [pageA, pageB, pageC]) await page.expectHealthy()
  })

  test('10-peer star: the host page closes; the first successor takes over with no new invite, all 9 follow, a change from the last guest reaches everyone', async ({ newPeerContext }) => {
    const { hostPage, host } = await hostAlone(newPeerContext)
    const guests = await admit(host, [pageA, pageB, pageC, pageA, pageB, pageC, pageA, pageB, pageC])
    const [g1, ...followers] = guests as [Peer, ...Peer[]]
    const everyone = [host, ...guests]

    // A star (10 > meshLimit 6): each guest links to the host and to the two successors g1, g2, and only to them.
    const standby = (hostId: string, successors: string[], peers: Peer[]) =>
      Promise.all(
        peers
          .filter((p) => p.id !== hostId)
          .map((peer) => {
            const linked = peers.filter((p) => p !== peer && (p.id === hostId || successors.includes(p.id) || successors.includes(peer.id))).map((p) => p.id)
            return peer.waitFor({ linked, unlinked: peers.filter((p) => p !== peer && !linked.includes(p.id)).map((p) => p.id) })
          }),
      )
    await standby(host.id, [g1.id, guests[1]!.id], everyone)

    const closedAt = Date.now()
    await hostPage.page.close()
    await Promise.all(guests.map((peer) => peer.waitFor({ following: g1.id }, FAILOVER_WAIT_MS)))
    const failoverMs = Math.max(...(await connectedAgain(guests, closedAt))) - closedAt
    expect(failoverMs).toBeLessThan(HEARTBEAT.hardTimeoutMs)
    await expectTakeover(host, g1, followers)
    // No invite: g1 holds a direct link to every survivor, over the standby links it already had.
    expect((await g1.view()).peers.filter((p) => !p.self).map((p) => p.linked)).toEqual(followers.map(() => true))
    // And the new star is ready for the next failover: standby links to the new successors g2, g3.
    await standby(g1.id, [guests[1]!.id, guests[2]!.id], guests)

    const sender = guests.at(-1)!
    const others = guests.filter((p) => p !== sender)
    const change = (await sender.setKv('from-last', 'hello'))!
    await Promise.all(others.map((peer) => peer.waitFor({ applied: 'kv', intentId: change })))
    const barrier = (await sender.setKv('barrier', true))!
    await Promise.all(others.map((peer) => peer.waitFor({ applied: 'kv', intentId: barrier })))
    for (const peer of others) {
      expect((await peer.appliedCounts('kv')).get(change), peer.name).toBe(1)
      expect((await peer.view()).kv, peer.name).toEqual({ 'from-last': 'hello', barrier: true })
    }
    test.info().annotations.push({ type: 'measured', description: `star goodbye failover ${failoverMs} ms (9 survivors)` })
    for (const page of [pageA, pageB, pageC]) await page.expectHealthy()
  })

  test('4-peer mesh: the host freezes; failover after the hard timeout; thawed, the old host is fenced and rejoins as a guest with the new state', async ({ newPeerContext }) => {
    const { hostPage, host } = await hostAlone(newPeerContext)
    const guests = await admit(host, [pageA, pageB, pageC])
    const [g1, g2, g3] = guests as [Peer, Peer, Peer]
    await fullMesh([host, ...guests])
    const fromHost = (await host.setKv('doc', 'v1'))!
    await Promise.all(guests.map((peer) => peer.waitFor({ applied: 'kv', intentId: fromHost })))

    const frozenAt = Date.now()
    await hostPage.freeze()
    const during = (await g3.setKv('during', 'outage'))!
    await Promise.all(guests.map((peer) => peer.waitFor({ following: g1.id }, FAILOVER_WAIT_MS)))
    const takeover = await Promise.all(guests.map((peer) => peer.view()))

    // Thaw at once: at twice the hard timeout of silence the survivors let a fenced old host go.
    const thawedAt = Date.now()
    expect(thawedAt - frozenAt, 'thawed before the survivors let the old host go (test precondition)').toBeLessThan(2 * HEARTBEAT.hardTimeoutMs)
    await hostPage.thaw()
    const lostAt = await Promise.all(guests.map(async (peer) => (await firstEvent(peer, 'session-host-lost', frozenAt))! - frozenAt))
    expect(Math.min(...lostAt)).toBeGreaterThanOrEqual(HEARTBEAT.hardTimeoutMs - HEARTBEAT.intervalMs)
    await expectTakeover(host, g1, [g2, g3], takeover)
    await g3.waitFor({ settled: true })
    await g2.waitFor({ applied: 'kv', intentId: during })

    await host.waitFor({ following: g1.id })
    await host.waitFor({ kvKeys: ['during'] })
    await g1.waitFor({ linked: [host.id] })

    const old = await host.view()
    expect(old.role).toBe('guest')
    expect((await host.events('session-role-changed')).map((e) => e.payload)).toEqual([
      { role: 'host', previous: 'none' },
      { role: 'guest', previous: 'host' },
    ])
    const newHost = await g1.view()
    expect(old.kv).toEqual(newHost.kv)
    expect(newHost.kv).toEqual({ doc: 'v1', during: 'outage' })
    expect(newHost.peers.map((p) => [p.id, p.role])).toEqual([
      [g1.id, 'host'],
      [g2.id, 'guest'],
      [g3.id, 'guest'],
      [host.id, 'guest'],
    ])
    expect(old.peers.map((p) => p.id)).toEqual(newHost.peers.map((p) => p.id))
    // As a guest, its changes reach everyone through the new host.
    const after = (await host.setKv('after-thaw', true))!
    await Promise.all([g1, g2, g3].map((peer) => peer.waitFor({ applied: 'kv', intentId: after })))
    expect((await g1.appliedCounts('kv')).get(after)).toBe(1)

    // The others heard of it from the new host's roster, and it stays one of them.
    for (const peer of [g2, g3]) {
      const dropped = (await peer.events('session-peer-dropped')).filter((e) => e.wall >= thawedAt).map((e) => [e.payload.peer.id, e.payload.reason])
      expect.soft(dropped, `${peer.name} dropped the old host after the new host took it back`).toEqual([])
      expect.soft((await peer.view()).peers.map((p) => p.id), `${peer.name}'s roster`).toEqual(newHost.peers.map((p) => p.id))
    }
    test.info().annotations.push({ type: 'measured', description: `freeze: host lost after ${lostAt.join('/')} ms; thawed after ${thawedAt - frozenAt} ms` })
    for (const page of [pageA, pageB, pageC, hostPage]) await page.expectHealthy()
  })
})

/*
 * Known failures (library bugs, reported to the lead; the assertions above are meant to fail until fixed):
 * - crash test, "outage intents on g2": the new host computes the digest it announces in its hello
 *   (becomeHost) before it publishes its own unconfirmed intents, so the digest includes changes that
 *   are not at the hello's seq yet. A follower with exactly that state sees a mismatch and
 *   re-bootstraps from a full snapshot; the intents the snapshot covers never reach its applyDelta.
 * - freeze test, "dropped the old host": the thawed old host, demoted by the new host's hello
 *   (followNewHost), says bye 'merged' to its former guests; by then they have unfenced that link
 *   on the new host's roster, so they drop a peer that is in the session again.
 */
