/**
 * Byte and time budgets over real WebRTC in Chromium (issue 15; loopback only, see
 * run-isolated.sh): what a guest running modified code writes on its link cannot make the
 * host hold more than its budgets or apply what it could not encode again, and a guest
 * that leaves before the host answers leaves no RTCPeerConnection behind.
 */
import { expect, test } from './fixtures.js'
import { connect, SessionPage, sharedSessionPages, type Peer } from './pages/session.driver.js'

let hostPage: SessionPage
let guestPage: SessionPage
let latePage: SessionPage

sharedSessionPages(3, (host, guest, late) => ([hostPage, guestPage, latePage] = [host, guest, late]))

interface Stats {
  bytes: number
  caches: Record<string, { entries: number; bytes: number; budget: { entries: number; bytes: number | null } }>
}
/** The page's first controller (`window.SESSION`) reports its caches. */
const statsOf = (page: SessionPage): Promise<Stats> =>
  page.page.evaluate(() => JSON.parse(JSON.stringify((window as unknown as { SESSION: { getStats(): unknown } }).SESSION.getStats())) as Stats)

async function codes(peer: Peer): Promise<string[]> {
  return (await peer.events('session-diagnostic')).map((e) => String(e.payload.code))
}

test('a hostile guest\'s deep, oversized and flooding messages are refused; the host stays within budget and the session goes on', async () => {
  const host = await hostPage.add({ name: 'host' })
  const guest = await guestPage.add({ name: 'mallory', tap: true })
  await host.start()
  await host.setKv('title', 'Survey 12')
  await connect(host, guest)
  const raw = (text: string) => guest.sendRaw(0, text)

  // Nested 100,000 deep: JSON.stringify of it would overflow the stack wherever it was applied.
  const depth = 100_000
  expect(await raw(`{"v":1,"t":"intent","id":"deep-1","p":"kv","d":{"key":"deep","value":${'['.repeat(depth)}${']'.repeat(depth)}}}`)).toBe(true)
  // View deltas under half-megabyte viewer ids, then a thousand under fresh small ones.
  const hugeId = 'v'.repeat(512 * 1024)
  for (let n = 1; n <= 10; n++) await raw(JSON.stringify({ v: 1, t: 'view', origin: guest.id, n, p: 'cursor', d: { x: n, viewerId: hugeId } }))
  await guestPage.page.evaluate((id) => {
    for (let n = 100; n < 1_100; n++) window.sessionHarness.sendRaw(0, 0, JSON.stringify({ v: 1, t: 'view', origin: id, n, p: 'cursor', d: { x: n, viewerId: `w${n}` } }))
  }, guest.id)
  // Fifty requests for a whole snapshot.
  await guestPage.page.evaluate(() => {
    for (let i = 0; i < 50; i++) window.sessionHarness.sendRaw(0, 0, '{"v":1,"t":"resend","from":0}')
  })
  await host.waitFor({ diagnostic: 'budget-exceeded', peerId: guest.id })
  await host.waitFor({ diagnostic: 'wire-malformed', peerId: guest.id })

  const hostCodes = await codes(host)
  expect(hostCodes.filter((c) => c === 'wire-malformed').length).toBeGreaterThanOrEqual(11) // the deep intent and the ten huge ids
  expect((await host.view()).kv).toEqual({ title: 'Survey 12' })
  const stats = await statsOf(hostPage)
  expect(stats.caches.viewState!.entries).toBeLessThanOrEqual(stats.caches.viewState!.budget.entries * 1.125)
  expect(stats.bytes).toBeLessThan(512 * 1024)
  // Nothing left half-received on the host's links, and their budget reported.
  expect(stats.caches.reassembly!.bytes).toBe(0)
  expect(stats.caches.reassembly!.budget.bytes).toBeGreaterThan(0)

  // The session goes on: a late joiner bootstraps, and a change still travels.
  const late = await latePage.add({ name: 'late' })
  await connect(host, late)
  await host.setKv('after', 1)
  await late.waitFor({ kvKeys: ['title', 'after'] })
  await guest.waitFor({ kvKeys: ['title', 'after'] })
  // Refusals were expected here (wire-malformed, budget-exceeded); a bug would not be.
  expect(hostPage.errors).toEqual([])
  expect(await codes(host)).not.toContain('internal-error')
  await latePage.expectHealthy()
})

test('a guest that leaves before the host answers leaves no RTCPeerConnection open', async () => {
  const host = await hostPage.add({ name: 'host' })
  await host.start()
  const guest = await guestPage.add({ name: 'guest' })
  // Only connections made from here on: the previous test's may still be closing.
  const first = await guestPage.page.evaluate(() => (window as unknown as { __peerConnections: RTCPeerConnection[] }).__peerConnections.length)
  const open = () =>
    guestPage.page.evaluate((from) => (window as unknown as { __peerConnections: RTCPeerConnection[] }).__peerConnections.slice(from).filter((pc) => pc.signalingState !== 'closed').length, first)
  for (let i = 0; i < 5; i++) {
    const invite = await host.invite()
    expect((await guest.join(invite.url)).ok).toBe(true)
    expect(await open()).toBe(1) // its connection to the host, in the making
    await guest.leave()
    expect(await open()).toBe(0)
  }
})
