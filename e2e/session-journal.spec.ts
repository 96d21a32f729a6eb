/**
 * A session outlives a reload, over real WebRTC in Chromium with the IndexedDB journal:
 * a guest reloaded mid-burst resumes as itself; a host that reloads is a host loss, and
 * comes back as a guest; a full disk is a diagnostic, never a broken session.
 */
import type { BrowserContext } from '@playwright/test'
import { expect, test } from './fixtures.js'
import { connect, type Peer, SessionPage } from './pages/session.driver.js'

/** Two pages in contexts of their own: the first page's controller is its `window.SESSION` (pagehide says goodbye). */
async function twoPeers(open: () => Promise<BrowserContext>): Promise<{ hostPage: SessionPage; guestPage: SessionPage; host: Peer; guest: Peer }> {
  const [hostPage, guestPage] = await Promise.all([SessionPage.open(await open()), SessionPage.open(await open())])
  const host = await hostPage.add({ name: 'host' })
  const guest = await guestPage.add({ name: 'guest' })
  await host.start()
  await connect(host, guest)
  return { hostPage, guestPage, host, guest }
}

/** After its page reloaded: a new controller resumes through a fresh invite of `inviter`. */
async function resumeThrough(inviter: Peer, page: SessionPage, name: string): Promise<Peer> {
  const back = await page.add({ name })
  const invite = await inviter.invite()
  const resumed = await back.resume(invite.url)
  if (!resumed.ok || !resumed.value?.join) throw new Error(`nothing resumed: ${JSON.stringify(resumed)}`)
  expect(resumed.value.needsInvite).toBe(false)
  const accepted = await inviter.accept(resumed.value.join.answerCode)
  expect(accepted).toEqual({ ok: true, value: null })
  await Promise.all([back.waitFor({ state: 'connected' }), inviter.waitFor({ state: 'connected' })])
  return back
}

test.describe('a session survives a reload', () => {
  test('a guest reloaded mid-burst resumes as itself: no change lost, only what it missed sent', async ({ newPeerContext }) => {
    const { hostPage, guestPage, host, guest } = await twoPeers(newPeerContext)
    await host.setKv('first', 1)
    await guest.waitFor({ kvKeys: ['first'] })
    await guest.burst('b', 200, 10)
    await host.waitFor({ kvKeys: ['b10'] })
    await guestPage.reload()
    // Changes made while it was away: these it is sent as deltas.
    await host.waitFor({ event: 'session-peer-dropped', peerId: guest.id })
    for (const key of ['m1', 'm2', 'm3']) await host.setKv(key, key)

    const back = await resumeThrough(host, guestPage, 'someone')
    const view = await back.view()
    expect(view.self.id).toBe(guest.id)
    const hostView = await host.view()
    await back.waitFor({ kvKeys: Object.keys(hostView.kv) })
    expect((await back.view()).kv).toEqual(hostView.kv)
    // Every change of the burst made before the reload reached the host: b00..bN, no gap.
    const burst = Object.keys(hostView.kv).filter((k) => k.startsWith('b')).map((k) => Number(k.slice(1))).sort((a, b) => a - b)
    expect(burst.length).toBeGreaterThan(10)
    expect(burst).toEqual(Array.from({ length: burst.length }, (_, n) => n))
    // Its state came from its journal and the missed deltas, not from a snapshot of the host's.
    const boots = (await back.events('session-bootstrap-complete')).map((e) => e.payload.seq as number)
    expect(boots).toHaveLength(1)
    expect(boots[0]).toBeLessThan(3)
    expect((await back.applied('kv')).map((a) => a.delta.key).slice(-3)).toEqual(['m1', 'm2', 'm3'])
    expect(hostView.peers.filter((p) => p.id === guest.id)).toHaveLength(1)
    for (const page of [hostPage, guestPage]) await page.expectHealthy()
  })

  test('a host that reloads is a host loss: the guest takes over, and the old host resumes as its guest', async ({ newPeerContext }) => {
    const { hostPage, guestPage, host, guest } = await twoPeers(newPeerContext)
    await host.setKv('title', 'Survey 12')
    await guest.waitFor({ kvKeys: ['title'] })
    await hostPage.reload()
    await guest.waitFor({ following: guest.id })
    await guest.setKv('after', 2)

    const back = await resumeThrough(guest, hostPage, 'whoever')
    const view = await back.view()
    expect(view.self.id).toBe(host.id)
    expect(view.role).toBe('guest')
    await back.waitFor({ kvKeys: ['title', 'after'] })
    expect((await back.view()).kv).toEqual((await guest.view()).kv)
    expect((await guest.view()).peers.map((p) => [p.id, p.rank])).toEqual([[guest.id, 0], [host.id, 1]])
    for (const page of [hostPage, guestPage]) await page.expectHealthy()
  })

  test('a guest whose page crashed (no goodbye) resumes at once: its token replaces the link the host still holds', async ({ newPeerContext }) => {
    const { hostPage, guestPage, host, guest } = await twoPeers(newPeerContext)
    await guest.setKv('mine', 1)
    await host.waitFor({ kvKeys: ['mine'] })
    await guest.flushJournal()
    const reloaded = await guestPage.crashAndReload()
    await host.setKv('missed', 2)
    // The host has not noticed: the crashed page's link looks alive until the hard timeout.
    expect((await host.view()).peers.some((p) => p.id === guest.id)).toBe(true)

    const back = await resumeThrough(host, reloaded, 'someone')
    expect((await back.view()).self.id).toBe(guest.id)
    // The old link went because the token proved the same peer came back, not because it timed out.
    const dropped = (await host.events('session-peer-dropped')).map((e) => e.payload as { peer: { id: string }; reason: string })
    expect(dropped.map((d) => [d.peer.id, d.reason])).toEqual([[guest.id, 'resumed']])
    const hostView = await host.view()
    await back.waitFor({ kvKeys: Object.keys(hostView.kv) })
    expect((await back.view()).kv).toEqual(hostView.kv)
    expect(hostView.kv).toMatchObject({ mine: 1, missed: 2 })
    expect(hostView.peers.filter((p) => p.id === guest.id)).toHaveLength(1)
    for (const page of [hostPage, reloaded]) await page.expectHealthy()
  })

  test('a guest resumes through an invite issued by another guest: the host checks its token and links to it', async ({ newPeerContext }) => {
    const [hostPage, g1Page, g2Page] = await Promise.all([0, 1, 2].map(async () => SessionPage.open(await newPeerContext())))
    const host = await hostPage!.add({ name: 'host' })
    const g1 = await g1Page!.add({ name: 'g1' })
    const g2 = await g2Page!.add({ name: 'g2' })
    await host.start()
    await connect(host, g1)
    await connect(host, g2)
    await g2.setKv('mine', 1)
    await host.waitFor({ kvKeys: ['mine'] })
    await g2.flushJournal()
    const reloaded = await g2Page!.crashAndReload()
    await host.setKv('missed', 2)

    const back = await resumeThrough(g1, reloaded, 'someone')
    const view = await back.view()
    expect(view.self.id).toBe(g2.id)
    // Its host is the session's host, not the guest whose invite it used.
    expect(view.peers.find((p) => p.role === 'host')?.id).toBe(host.id)
    const hostView = await host.view()
    expect(hostView.peers.filter((p) => p.id === g2.id)).toHaveLength(1)
    await back.waitFor({ kvKeys: ['mine', 'missed'] })
    expect((await back.view()).kv).toEqual(hostView.kv)
    // Only what it missed came from the host: its one bootstrap was its own journal.
    expect(await back.events('session-bootstrap-complete')).toHaveLength(1)
    await back.setKv('after', 3)
    await g1.waitFor({ kvKeys: ['after'] })
    // Its mesh link with the guest it came through forms again (that guest's link to the crashed page is gone).
    await g1.waitFor({ linked: [g2.id] })
    await back.waitFor({ linked: [g1.id] })
    for (const page of [hostPage!, g1Page!, reloaded]) await page.expectHealthy()
  })

  test('a full disk is a diagnostic and the session goes on', async ({ newPeerContext }) => {
    const { hostPage, guestPage, host, guest } = await twoPeers(newPeerContext)
    await hostPage.fillDisk()
    for (let i = 0; i < 5; i++) await host.setKv(`k${i}`, i)
    await host.waitFor({ diagnostic: 'journal-quota' })
    await host.waitFor({ diagnostic: 'journal-off' })
    await host.setKv('still', true)
    await guest.waitFor({ kvKeys: ['k4', 'still'] })
    expect((await host.view()).state).toBe('connected')
    expect((await guest.view()).kv).toEqual((await host.view()).kv)
    for (const page of [hostPage, guestPage]) await page.expectHealthy()
  })

  test('a page with nothing to resume resolves null', async ({ newPeerContext }) => {
    const page = await SessionPage.open(await newPeerContext())
    const peer = await page.add({ name: 'fresh' })
    expect(await peer.resume()).toEqual({ ok: true, value: null })
  })
})
