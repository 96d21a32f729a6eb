/**
 * Two-peer sessions over real WebRTC in Chromium (loopback only, see run-isolated.sh):
 * invite link out, answer code back, bootstrap, intents and deltas, invite errors, end.
 * Each peer is its own browser context running e2e/pages/session.ts.
 */
import { expect, selectedPairAddresses, test } from './fixtures.js'
import { connect, SessionPage, sharedSessionPages, type Peer } from './pages/session.driver.js'

/**
 * Three pages, each in its own context, shared by the tests of this file: opening a
 * context and loading the page costs seconds on two cores. Every test makes fresh
 * controllers in them, and all sessions are closed after each test.
 */
let hostPage: SessionPage
let guestPage: SessionPage
let sparePage: SessionPage

sharedSessionPages(3, (host, guest, spare) => ([hostPage, guestPage, sparePage] = [host, guest, spare]))

/** A host and a connected guest, in separate contexts. */
async function twoPeers(): Promise<{ host: Peer; guest: Peer }> {
  const host = await hostPage.add({ name: 'host' })
  const guest = await guestPage.add({ name: 'guest' })
  await host.start()
  await connect(host, guest)
  return { host, guest }
}

async function expectHealthy(): Promise<void> {
  for (const page of [hostPage, guestPage, sparePage]) await page.expectHealthy()
}

test.describe('session over WebRTC, two peers', () => {
  test('a guest joins from the invite link, pairs over 127.0.0.1 and bootstraps the host state', async () => {
    const host = await hostPage.add({ name: 'host' })
    await host.start()
    await host.setKv('title', 'Survey 12')
    await host.setKv('zoom', 2.5)
    await host.setLayer('left', 'base', 'osm')
    await host.setLayer('right', 'overlay', { id: 'roads', opacity: 0.4 })
    const invite = await host.invite()
    expect(invite.url).toMatch(/\/session\.html#session=[A-Za-z0-9_-]+$/)

    // The guest opens the link it was sent, and joins from its own address bar.
    await guestPage.page.goto(invite.url)
    expect(await guestPage.page.evaluate(() => location.hash)).toBe(invite.fragment)
    const guest = await guestPage.add({ name: 'guest' })
    const joined = await guest.joinFromLocation()
    expect(joined).toMatchObject({ ok: true })
    expect((await guest.view()).state).toBe('joining')
    const accepted = await host.accept(joined.ok ? joined.value : '')
    expect(accepted).toEqual({ ok: true, value: null })

    await Promise.all([host.waitFor({ state: 'connected' }), guest.waitFor({ state: 'connected' })])
    const [hostView, guestView] = await Promise.all([host.view(), guest.view()])
    expect(hostView.role).toBe('host')
    expect(guestView.role).toBe('guest')
    expect(guestView.sessionId).toBe(hostView.sessionId)
    expect(guestView.peers.map((p) => [p.id, p.rank, p.linked])).toEqual([
      [host.id, 0, true],
      [guest.id, 1, false],
    ])

    // Bootstrap: the guest holds exactly the host's state, per viewer too.
    expect(guestView.kv).toEqual({ title: 'Survey 12', zoom: 2.5 })
    expect(guestView.kv).toEqual(hostView.kv)
    expect(guestView.layers).toEqual({ left: { base: 'osm' }, right: { overlay: { id: 'roads', opacity: 0.4 } } })
    expect(guestView.layers).toEqual(hostView.layers)
    const states = (await guest.events('session-state-changed')).map((e) => e.payload.state)
    expect(states).toEqual(['joining', 'connected'])
    expect(await guest.events('session-bootstrap-complete')).toHaveLength(1)
    expect((await host.events('session-peer-joined')).map((e) => e.payload.peer.id)).toEqual([guest.id])

    // Every packet stayed on loopback.
    for (const page of [hostPage.page, guestPage.page]) {
      const pairs = await selectedPairAddresses(page)
      expect(pairs).toHaveLength(1)
      expect(pairs[0]).toEqual({ candidateType: 'host', local: '127.0.0.1', remote: '127.0.0.1' })
    }
    await expectHealthy()
  })

  test("a guest's intent is applied once on the host, the host's change once on the guest, view deltas both ways", async () => {
    const { host, guest } = await twoPeers()

    // Guest → host: an intent, confirmed by the host's authoritative delta.
    const intentId = await guest.setKv('colour', 'teal')
    expect(intentId).toEqual(expect.any(String))
    await host.waitFor({ applied: 'kv', intentId: intentId! })
    await guest.waitFor({ settled: true })
    const layerIntent = await guest.setLayer('right', 'opacity', 0.5)
    await host.waitFor({ applied: 'layers', intentId: layerIntent! })

    // Host → guest: its own change, then a later one as an ordering barrier.
    const hostIntent = await host.setKv('size', 3)
    const barrier = await host.setKv('barrier', true)
    await guest.waitFor({ applied: 'kv', intentId: barrier! })

    const onHost = (await host.applied('kv')).filter((a) => a.delta.intentId === intentId)
    expect(onHost).toHaveLength(1)
    expect(onHost[0]!.delta).toMatchObject({ key: 'colour', value: 'teal' })
    expect(onHost[0]!.meta).toMatchObject({ remote: true, origin: guest.id, role: 'host', intentId, view: false })
    const layerOnHost = (await host.applied('layers')).filter((a) => a.delta.intentId === layerIntent)
    expect(layerOnHost).toHaveLength(1)
    expect(layerOnHost[0]!.meta).toMatchObject({ origin: guest.id, viewer: 'right' })

    const onGuest = await guest.applied('kv')
    // The guest already applied its own change: the host's confirmation is not applied again.
    expect(onGuest.filter((a) => a.delta.intentId === intentId)).toHaveLength(0)
    const hostChange = onGuest.filter((a) => a.delta.intentId === hostIntent)
    expect(hostChange).toHaveLength(1)
    expect(hostChange[0]!.delta).toMatchObject({ key: 'size', value: 3 })
    expect(hostChange[0]!.meta).toMatchObject({ remote: true, origin: host.id, role: 'guest', view: false, seq: expect.any(Number) })

    const [hostView, guestView] = await Promise.all([host.view(), guest.view()])
    expect(guestView.kv).toEqual(hostView.kv)
    expect(guestView.layers).toEqual(hostView.layers)
    expect(guestView.pendingIntents).toBe(0)

    // View deltas go straight to the other side, marked as such.
    await guest.moveCursor(11, 12)
    await host.waitFor({ applied: 'cursor', origin: guest.id, x: 11 })
    await host.moveCursor(31, 32)
    await guest.waitFor({ applied: 'cursor', origin: host.id, x: 31 })
    const cursorOnHost = await host.applied('cursor')
    expect(cursorOnHost).toHaveLength(1)
    expect(cursorOnHost[0]!.delta).toMatchObject({ x: 11, y: 12 })
    expect(cursorOnHost[0]!.meta).toMatchObject({ remote: true, origin: guest.id, view: true })
    const cursorOnGuest = await guest.applied('cursor')
    expect(cursorOnGuest).toHaveLength(1)
    expect(cursorOnGuest[0]!.meta).toMatchObject({ remote: true, origin: host.id, view: true })
    expect((await guest.view()).cursors).toEqual({ [host.id]: { x: 31, y: 32 } })
    await expectHealthy()
  })

  test('a 3 MB snapshot arrives intact, with bootstrap progress on the guest', async () => {
    const host = await hostPage.add({ name: 'host' })
    const guest = await guestPage.add({ name: 'guest' })
    await host.start()
    const sent = await host.setBlob(3)
    expect(sent.length).toBe(3 * 1024 * 1024)
    await host.setKv('after', 'blob')
    await connect(host, guest)

    const { blob, kv } = await guest.view()
    expect(blob).toEqual(sent)
    expect(kv).toEqual({ after: 'blob' })

    const progress = (await guest.events('session-bootstrap-progress')).map((e) => e.payload as { direction: string; bytes: number; total: number })
    expect(progress.length).toBeGreaterThanOrEqual(2)
    const last = progress.at(-1)!
    expect(last.total).toBeGreaterThan(3 * 1024 * 1024)
    expect(last.bytes).toBe(last.total)
    expect(progress.every((p) => p.direction === 'receive' && p.total === last.total)).toBe(true)
    expect(progress.every((p, i) => i === 0 || p.bytes > progress[i - 1]!.bytes)).toBe(true)
    // Progress precedes completion.
    const events = (await guest.events()).map((e) => e.type)
    expect(events.lastIndexOf('session-bootstrap-progress')).toBeLessThan(events.indexOf('session-bootstrap-complete'))
    await expectHealthy()
  })

  test('a damaged invite is refused with a message; a used invite cannot admit a second guest', async () => {
    const host = await hostPage.add({ name: 'host' })
    const guest = await guestPage.add({ name: 'guest' })
    const lateGuest = await sparePage.add({ name: 'late guest' })
    await host.start()
    const invite = await host.invite()

    // Flip characters in the middle of the blob (the first two carry its kind and version).
    const middle = Math.floor(invite.code.length / 2)
    const flip = (c: string) => (c === 'A' ? 'B' : 'A')
    const damagedCode = invite.code.slice(0, middle) + flip(invite.code[middle]!) + flip(invite.code[middle + 1]!) + invite.code.slice(middle + 2)
    const damaged = await guest.join(invite.url.replace(invite.code, damagedCode))
    expect(damaged).toMatchObject({ ok: false, name: 'InviteError', code: 'invite-damaged' })
    expect(damaged.ok ? '' : damaged.message).toMatch(/damaged.*Ask the host/)
    const afterDamage = await guest.view()
    expect(afterDamage).toMatchObject({ state: 'idle', role: 'none', sessionId: null })
    expect(await guest.events('session-state-changed')).toEqual([])

    // The same guest then uses the intact invite.
    const joined = await guest.join(invite.url)
    expect(joined.ok).toBe(true)
    expect(await host.accept(joined.ok ? joined.value : '')).toEqual({ ok: true, value: null })
    await Promise.all([guest.waitFor({ state: 'connected' }), host.waitFor({ state: 'connected' })])

    // A second guest answers the same invite: the host refuses, nothing changes.
    const second = await lateGuest.join(invite.url)
    expect(second.ok).toBe(true)
    const reused = await host.accept(second.ok ? second.value : '')
    expect(reused).toMatchObject({ ok: false, name: 'InviteError', code: 'invite-used' })
    expect(reused.ok ? '' : reused.message).toMatch(/already been used/)

    const hostView = await host.view()
    expect(hostView.state).toBe('connected')
    expect(hostView.peers.map((p) => p.id)).toEqual([host.id, guest.id])
    expect(await host.events('session-peer-joined')).toHaveLength(1)
    // The first guest is still connected and still receives the host's changes.
    const check = await host.setKv('still', 'here')
    await guest.waitFor({ applied: 'kv', intentId: check! })
    expect((await guest.view()).state).toBe('connected')
    expect((await lateGuest.view()).state).toBe('joining')
    await expectHealthy()
  })

  test('when the host ends the session the guest returns to idle with reason host-ended', async () => {
    const { host, guest } = await twoPeers()
    await host.end()
    await guest.waitFor({ event: 'session-ended' })
    const ended = await guest.events('session-ended')
    expect(ended).toHaveLength(1)
    expect(ended[0]!.payload).toMatchObject({ reason: 'host-ended', sessionId: expect.any(String) })
    expect(await guest.view()).toMatchObject({ state: 'idle', role: 'none', sessionId: null, peers: [] })
    expect((await guest.events('session-state-changed')).map((e) => e.payload.state).slice(-2)).toEqual(['leaving', 'idle'])
    expect(await host.view()).toMatchObject({ state: 'idle', role: 'none' })
    expect((await host.events('session-ended')).map((e) => e.payload.reason)).toEqual(['ended'])
    await expectHealthy()
  })
})
