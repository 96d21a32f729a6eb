/**
 * Sessions across emulated NATs (topology.ts) with a real coturn: what STUN achieves, when
 * TURN is needed, and what the user is told when neither is configured. Run by
 * e2e/nat/run.sh (it needs the root namespace); each browser runs inside a home network.
 * Every connected case is a whole session: bootstrap, a guest's intent, a view delta.
 */
import type { SessionPage, Peer } from '../pages/session.driver.js'
import { expect, selectedPairs, test, type SelectedPair } from './fixtures.js'
import { STUN_SERVER, TURN_SERVER, TURN_USER } from './services.js'
import { type NatKind, ROUTER_PUBLIC_ADDRESS, type Site, type Topology } from './topology.js'

/** Chromium gives up on a connection whose checks all fail after about 15 s here; this bounds "not a hang". */
const ICE_TIMEOUT_MS = 30_000

/** Home B's router translates as `natB` (home A's is endpoint-independent); a host page in A, a guest's in B, both with `iceServers`. */
async function hostAndGuest(net: Topology, openHome: (site: Site) => Promise<SessionPage>, natB: NatKind, iceServers: RTCIceServer[], meshLimit?: number) {
  net.setNat('a', 'eim')
  net.setNat('b', natB)
  const [hostPage, guestPage] = await Promise.all([openHome('a'), openHome('b')])
  const options = { iceServers, ...(meshLimit ? { meshLimit } : {}) }
  const host = await hostPage.add({ name: 'host', ...options })
  const guest = await guestPage.add({ name: 'guest', ...options })
  return { hostPage, guestPage, host, guest }
}

/** The host starts with some state; see `invite`. */
async function startAndInvite(host: Peer, guest: Peer) {
  await host.start()
  await host.setKv('title', 'Across the NAT')
  return invite(host, guest)
}

/** The guest joins by an invite link of the host's; resolves with the invite and the host's accept outcome. */
async function invite(host: Peer, guest: Peer) {
  const made = await host.invite()
  const joined = await guest.join(made.url)
  expect(joined.ok).toBe(true)
  const accepted = await host.accept(joined.ok ? joined.value : '')
  return { invite: made, accepted }
}

/** Bootstrap, an intent to the host and back, and a view delta: the session works over whatever pair was chosen. */
async function expectWorkingSession(host: Peer, guest: Peer): Promise<void> {
  await Promise.all([host.waitFor({ state: 'connected' }), guest.waitFor({ state: 'connected' })])
  expect((await guest.view()).kv).toMatchObject({ title: 'Across the NAT' })
  const intentId = await guest.setKv('note', 'from the guest')
  await host.waitFor({ applied: 'kv', intentId: intentId!, origin: guest.id })
  await guest.waitFor({ settled: true })
  await host.moveCursor(17, 42)
  await guest.waitFor({ applied: 'cursor', origin: host.id, x: 17 })
}

/** The one selected pair of a page that holds one connection. */
async function onlyPair(page: SessionPage): Promise<SelectedPair> {
  const pairs = await selectedPairs(page.page)
  expect(pairs).toHaveLength(1)
  return pairs[0]!
}

/** The offer as the guest's browser received it (rebuilt from the invite): its candidate types, in order. */
function offeredCandidates(guest: SessionPage): Promise<string[]> {
  return guest.page.evaluate(() => {
    const [connection] = (window as unknown as { __peerConnections: RTCPeerConnection[] }).__peerConnections
    return [...(connection?.remoteDescription?.sdp ?? '').matchAll(/^a=candidate:\S+ \d+ (\S+) \d+ \S+ \d+ typ (\S+)/gm)].map((m) => `${m[2]}/${m[1]}`)
  })
}

async function pathTo(from: Peer, to: Peer): Promise<string | undefined> {
  return (await from.view()).peers.find((p) => p.id === to.id)?.path
}

test.describe('sessions across NATs', () => {
  test('both behind endpoint-independent NATs, STUN only: a direct srflx pair', async ({ net, openHome }) => {
    const { hostPage, guestPage, host, guest } = await hostAndGuest(net, openHome, 'eim', [STUN_SERVER])
    const { invite: made, accepted } = await startAndInvite(host, guest)
    expect(accepted).toEqual({ ok: true, value: null })
    await expectWorkingSession(host, guest)

    const [hostPair, guestPair] = await Promise.all([onlyPair(hostPage), onlyPair(guestPage)])
    expect(hostPair).toMatchObject({ local: { type: 'srflx', address: ROUTER_PUBLIC_ADDRESS.a }, remote: { type: 'srflx', address: ROUTER_PUBLIC_ADDRESS.b } })
    expect(guestPair).toMatchObject({ local: { type: 'srflx', address: ROUTER_PUBLIC_ADDRESS.b }, remote: { type: 'srflx', address: ROUTER_PUBLIC_ADDRESS.a } })
    await expect.poll(() => pathTo(host, guest)).toBe('direct')
    await expect.poll(() => pathTo(guest, host)).toBe('direct')

    const offered = await offeredCandidates(guestPage)
    expect(offered).toEqual(['host/udp', 'srflx/udp'])
    expect(made.fragment.length).toBeLessThanOrEqual(150)
    test.info().annotations.push({ type: 'invite', description: `${made.fragment.length} chars of #session= with ${offered.join(', ')}` })
  })

  test('one behind a symmetric NAT, STUN only: both sides are told a TURN server is needed', async ({ net, openHome }) => {
    const { host, guest } = await hostAndGuest(net, openHome, 'symmetric', [STUN_SERVER])
    const { accepted } = await startAndInvite(host, guest)

    expect(accepted).toMatchObject({ ok: false, name: 'SessionError', code: 'ice-needs-turn' })
    expect(accepted.ok ? '' : accepted.message).toContain('A TURN server is needed')
    await host.waitFor({ diagnostic: 'ice-needs-turn' }, ICE_TIMEOUT_MS)
    await guest.waitFor({ state: 'idle' }, ICE_TIMEOUT_MS)
    const [ended] = await guest.events('session-ended')
    expect(ended?.payload.reason).toBe('ice-needs-turn')
    const [told] = (await guest.events('session-diagnostic')).filter((e) => e.payload.code === 'ice-needs-turn')
    expect(told?.payload.message).toContain('A TURN server is needed')
    expect(told?.payload.error).toMatchObject({ name: 'TransportError', code: 'ice-needs-turn' })
    expect((await host.view()).peers.map((p) => p.id)).toEqual([host.id])
  })

  test('one behind a symmetric NAT, with TURN: relayed, guest↔guest standby link included, no credential in the invite', async ({ net, openHome }) => {
    // meshLimit 2: three peers make a star, in which the first guest (next host) holds a
    // standby link to the second — negotiated through the host, across the symmetric NAT.
    const options = { iceServers: [STUN_SERVER, TURN_SERVER], meshLimit: 2 }
    const { hostPage, guestPage, host, guest } = await hostAndGuest(net, openHome, 'symmetric', options.iceServers, options.meshLimit)
    const { invite: made, accepted } = await startAndInvite(host, guest)
    expect(accepted).toEqual({ ok: true, value: null })
    await expectWorkingSession(host, guest)

    for (const page of [hostPage, guestPage]) {
      const pair = await onlyPair(page)
      expect([pair.local.type, pair.remote.type]).toContain('relay')
    }
    await expect.poll(() => pathTo(host, guest)).toBe('relayed')
    await expect.poll(() => pathTo(guest, host)).toBe('relayed')

    // The invite carries the relay candidate, never what it takes to use the relay.
    const offered = await offeredCandidates(guestPage)
    expect(offered).toEqual(['host/udp', 'srflx/udp', 'relay/udp'])
    const secrets = [TURN_USER.username, TURN_USER.credential]
    const offerSdp = await guestPage.page.evaluate(() => (window as unknown as { __peerConnections: RTCPeerConnection[] }).__peerConnections[0]!.remoteDescription!.sdp)
    for (const secret of secrets) {
      expect(made.url).not.toContain(secret)
      expect(made.url).not.toContain(Buffer.from(secret).toString('base64url'))
      expect(offerSdp).not.toContain(secret)
    }
    test.info().annotations.push({ type: 'invite', description: `${made.fragment.length} chars of #session= with ${offered.join(', ')}` })

    // A second guest on the host's network.
    const neighbourPage = await openHome('a')
    const neighbour = await neighbourPage.add({ name: 'neighbour', ...options })
    const second = await invite(host, neighbour).then(({ accepted }) => accepted)
    expect(second).toEqual({ ok: true, value: null })
    await neighbour.waitFor({ state: 'connected' })
    await Promise.all([guest.waitFor({ linked: [host.id, neighbour.id] }), neighbour.waitFor({ linked: [host.id, guest.id] })])
    await expect.poll(() => pathTo(guest, neighbour)).toBe('relayed')
    await expect.poll(() => pathTo(neighbour, guest)).toBe('relayed')
    // Same network: the neighbour and the host pair directly, host to host.
    await expect.poll(() => pathTo(neighbour, host)).toBe('direct')
    const neighbourPairs = await selectedPairs(neighbourPage.page)
    expect(neighbourPairs.filter((p) => p.local.type === 'relay' || p.remote.type === 'relay')).toHaveLength(1)
    expect(neighbourPairs.filter((p) => p.local.type === 'host' && p.remote.type === 'host')).toHaveLength(1)
    await neighbour.moveCursor(5, 9)
    await guest.waitFor({ applied: 'cursor', origin: neighbour.id, x: 5 })
  })

  test('no ICE servers across the NATs: the join ends with the "no ICE configured" notice', async ({ net, openHome }) => {
    const { guestPage, host, guest } = await hostAndGuest(net, openHome, 'eim', [])
    const notice = 'No ICE servers configured — same-network peers only'
    const { invite: made, accepted } = await startAndInvite(host, guest)

    expect(await offeredCandidates(guestPage)).toEqual(['host/udp'])
    test.info().annotations.push({ type: 'invite', description: `${made.fragment.length} chars of #session= with host/udp` })
    expect(accepted).toMatchObject({ ok: false, code: 'ice-no-servers' })
    expect(accepted.ok ? '' : accepted.message).toContain(notice)
    await guest.waitFor({ state: 'idle' }, ICE_TIMEOUT_MS)
    const [ended] = await guest.events('session-ended')
    expect(ended?.payload.reason).toBe('ice-no-servers')
    const codes = (await guest.events('session-diagnostic')).map((e) => [e.payload.code, e.payload.message.slice(0, notice.length)])
    expect(codes).toContainEqual(['ice-no-servers', notice])
  })
})
