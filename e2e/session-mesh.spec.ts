/**
 * Sessions of several peers over real WebRTC in Chromium (loopback only): the
 * peer-assisted mesh (guests link to each other through host-relayed signalling, one
 * invite each), the star above meshLimit, and a closing page saying goodbye. Several
 * controllers share a page, and peers sit in at least two contexts, so some links cross
 * contexts and some stay inside one renderer.
 */
import { expect, selectedPairAddresses, test } from './fixtures.js'
import { connect, rankOrder, SessionPage, sharedSessionPages, type Peer } from './pages/session.driver.js'

/** The hard heartbeat timeout (default): a drop this late would be the heartbeat, not the goodbye. */
const HARD_TIMEOUT_MS = 20_000

let pageA: SessionPage
let pageB: SessionPage

sharedSessionPages(2, (a, b) => ([pageA, pageB] = [a, b]))

/** Adds `guests` controllers alternately to the pages given, and admits each with one invite of its own. */
async function session(host: Peer, layout: SessionPage[]): Promise<Peer[]> {
  await host.start()
  const guests: Peer[] = []
  for (const [n, page] of layout.entries()) {
    const guest = await page.add({ name: `g${n + 1}` })
    await connect(host, guest)
    guests.push(guest)
  }
  return guests
}

test.describe('session over WebRTC, many peers', () => {
  test('4 peers: guests link to each other directly with one invite each, and a view delta reaches everyone', async () => {
    const host = await pageA.add({ name: 'host' })
    const guests = await session(host, [pageA, pageB, pageB])
    const everyone = [host, ...guests]

    // Full mesh: every guest holds a direct link to every other peer, host included.
    await Promise.all(guests.map((guest) => guest.waitFor({ linked: everyone.filter((p) => p !== guest).map((p) => p.id) })))
    for (const guest of guests) {
      const { peers } = await guest.view()
      expect(peers.filter((p) => !p.self).map((p) => p.linked)).toEqual([true, true, true])
    }
    // Only one invite per guest: the host admitted exactly three peers.
    expect((await host.events('session-peer-joined')).map((e) => e.payload.peer.id)).toEqual(guests.map((g) => g.id))

    // At the WebRTC level: 6 links, each with two ends; page A holds host(3) + g1(3) ends,
    // page B g2(3) + g3(3), all paired over loopback.
    for (const page of [pageA, pageB]) {
      await expect.poll(async () => (await selectedPairAddresses(page.page)).length, { intervals: [50] }).toBe(6)
      for (const pair of await selectedPairAddresses(page.page)) {
        expect(pair).toEqual({ candidateType: 'host', local: '127.0.0.1', remote: '127.0.0.1' })
      }
    }

    // A cursor move of the last guest reaches every other peer, as a view delta.
    const sender = guests[2]!
    await sender.moveCursor(5, 6)
    for (const peer of everyone.filter((p) => p !== sender)) {
      await peer.waitFor({ applied: 'cursor', origin: sender.id, x: 5 })
      const applied = (await peer.applied('cursor')).filter((a) => a.meta.origin === sender.id)
      expect(applied.map((a) => [a.delta.x, a.delta.y, a.meta.view])).toEqual([[5, 6, true]])
    }
    for (const page of [pageA, pageB]) await page.expectHealthy()
  })

  test('8 peers (meshLimit 6): a star with standby links to the two next successors; a view delta reaches all 7 others', async () => {
    const host = await pageA.add({ name: 'host' })
    const guests = await session(host, [pageA, pageA, pageA, pageB, pageB, pageB, pageB])
    const everyone = [host, ...guests]

    const rank = await rankOrder(host)
    expect(rank).toEqual(everyone.map((p) => p.id))
    const successors = rank.slice(1, 3)
    const expectedLinks = (guest: Peer) =>
      rank.filter((id) => id !== guest.id && (id === host.id || successors.includes(guest.id) || successors.includes(id)))

    for (const guest of guests) {
      const linked = expectedLinks(guest)
      await guest.waitFor({ linked, unlinked: rank.filter((id) => id !== guest.id && !linked.includes(id)) })
    }
    for (const guest of guests) {
      const { peers } = await guest.view()
      const linked = peers.filter((p) => p.linked).map((p) => p.id)
      expect(linked.sort()).toEqual(expectedLinks(guest).sort())
      // A guest beyond the successors is not linked to the other such guests.
      if (!successors.includes(guest.id)) expect(linked).toHaveLength(3)
    }
    expect((await host.view()).peers.filter((p) => !p.self).every((p) => p.linked)).toBe(true)

    // A view delta from the lowest-ranked guest reaches all 7 others: the successors
    // directly, the rest through the host.
    const sender = guests.at(-1)!
    await sender.moveCursor(7, 8)
    const others = everyone.filter((p) => p !== sender)
    await Promise.all(others.map((peer) => peer.waitFor({ applied: 'cursor', origin: sender.id, x: 7 })))
    // A second move as a barrier: then each peer must have applied the first exactly once.
    await sender.moveCursor(9, 10)
    await Promise.all(others.map((peer) => peer.waitFor({ applied: 'cursor', origin: sender.id, x: 9 })))
    for (const peer of others) {
      const applied = (await peer.applied('cursor')).filter((a) => a.meta.origin === sender.id)
      expect(applied.map((a) => [a.delta.x, a.meta.view]), peer.name).toEqual([
        [7, true],
        [9, true],
      ])
    }
    for (const page of [pageA, pageB]) await page.expectHealthy()
  })

  test('a guest link that closes is asked for again by the host, and the two guests link again', async ({ newPeerContext }) => {
    const ownPage = await SessionPage.open(await newPeerContext())
    // A short link timeout: the host asks again one link timeout after it last asked.
    const timers = { linkTimeoutMs: 3_000 }
    const host = await pageA.add({ name: 'host', ...timers })
    await host.start()
    const g1 = await pageB.add({ name: 'g1', ...timers })
    await connect(host, g1)
    const g2 = await ownPage.add({ name: 'g2', ...timers })
    await connect(host, g2)
    await g2.waitFor({ linked: [host.id, g1.id] })
    await g1.waitFor({ linked: [host.id, g2.id] })

    // g2's page holds two peer connections: the first (its join) to the host, the second to g1. Close the second.
    const connections = () => ownPage.page.evaluate(() => (window as unknown as { __peerConnections: RTCPeerConnection[] }).__peerConnections.map((pc) => pc.connectionState))
    expect(await connections()).toEqual(['connected', 'connected'])
    await ownPage.page.evaluate(() => (window as unknown as { __peerConnections: RTCPeerConnection[] }).__peerConnections[1]!.close())
    await g1.until({ linked: [host.id], unlinked: [g2.id] })

    // A new peer connection between them, asked for by the host: both ends linked again, the host kept throughout.
    await g2.waitFor({ linked: [host.id, g1.id] })
    await g1.waitFor({ linked: [host.id, g2.id] })
    expect(await connections()).toEqual(['connected', 'closed', 'connected'])
    for (const peer of [g1, g2]) {
      expect((await peer.view()).state).toBe('connected')
      expect(await peer.events('session-host-lost')).toEqual([])
    }
    await g1.moveCursor(3, 4)
    await g2.waitFor({ applied: 'cursor', origin: g1.id, x: 3 })
    for (const page of [pageA, pageB, ownPage]) await page.expectHealthy()
  })

  test('a guest page that closes says goodbye: the others drop it at once, not at the hard timeout', async ({ newPeerContext }) => {
    const closingPage = await SessionPage.open(await newPeerContext())
    const host = await pageA.add({ name: 'host' })
    const [staying, leaving] = await session(host, [pageB, closingPage])
    // The closing page's only controller is its window.SESSION (installSession: goodbye on pagehide).
    expect(leaving!.index).toBe(0)
    expect(await closingPage.page.evaluate(() => window.SESSION === undefined)).toBe(false)
    await staying!.waitFor({ linked: [host.id, leaving!.id] })
    await leaving!.waitFor({ linked: [host.id, staying!.id] })
    await closingPage.expectHealthy()

    const closedAt = Date.now()
    await closingPage.page.close()
    await Promise.all([host, staying!].map((peer) => peer.waitFor({ event: 'session-peer-dropped', peerId: leaving!.id }, HARD_TIMEOUT_MS + 5_000)))
    const elapsed = Date.now() - closedAt
    expect(elapsed).toBeLessThan(5_000)

    // The host hears the goodbye itself. The other guest hears it on its direct link, or,
    // should the host's new roster overtake that, learns it from the roster ('left').
    const reasons = async (peer: Peer) => (await peer.events('session-peer-dropped')).map((e) => [e.payload.peer.id, e.payload.reason])
    expect(await reasons(host)).toEqual([[leaving!.id, 'page-closed']])
    expect(await reasons(staying!)).toEqual([[leaving!.id, expect.stringMatching(/^(page-closed|left)$/)]])
    for (const peer of [host, staying!]) expect((await peer.view()).peers.map((p) => p.id)).toEqual([host.id, staying!.id])
    expect((await host.view()).state).toBe('connected')
    expect((await staying!.view()).state).toBe('connected')
    for (const page of [pageA, pageB]) await page.expectHealthy()
  })
})
