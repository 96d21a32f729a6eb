import assert from 'node:assert/strict'
import { ICE_FAILURES, InviteError, SessionSyncController, createRelayClient, createWebRtcTransport } from 'session-sync'
import { MemoryNetwork } from 'session-sync/testing'

// ICE: which servers help two browsers find a path to each other. None by default.
const lan = createWebRtcTransport() // same network only: host candidates
assert.equal(lan.hasIceServers, false) // the UI can say so before anyone tries, in the library's words:
assert.match(ICE_FAILURES['ice-no-servers'], /^No ICE servers configured — same-network peers only/)
const anywhere = createWebRtcTransport({
  iceServers: [
    { urls: 'stun:turn.example.org:3478' }, // learns each side's public address: enough behind most home NATs
    { urls: ['turn:turn.example.org:3478?transport=udp', 'turns:turn.example.org:5349'], username: 'session', credential: 'from-your-server' },
  ],
})
assert.equal(anywhere.hasIceServers, true)

// Invites: one seat, used once, until it expires. The in-memory network stands in for WebRTC here.
const net = new MemoryNetwork()
const page = (name: string, extra = {}) => new SessionSyncController({ transport: net.transport(name), clock: net.clockFor(name), baseUrl: 'https://viewer.example/slides/7', ...extra })
const host = page('ada')
await host.start()
const invite = await host.createInvite()
assert.ok(invite.url.startsWith('https://viewer.example/slides/7#session='))
assert.equal(invite.fragment, `#session=${invite.code}`) // the code alone can be pasted into a join field
assert.equal(invite.expiresAt, net.clock.now() + 15 * 60_000)

const bob = page('bob')
const carol = page('carol')
const { answerCode } = await bob.join(invite.url)
const second = await carol.join(invite.code) // the link reached two people
const accepted = host.acceptAnswer(answerCode)
await net.clock.advance(200)
await accepted
await assert.rejects(host.acceptAnswer(second.answerCode), (error: InviteError) => error.code === 'invite-used')
await assert.rejects(page('dan').join(invite.url.slice(0, -12)), (error: InviteError) => error.code === 'invite-damaged')

// The host keeps a list of its invites; a guest can look at one before joining.
const spare = await host.createInvite({ access: 'viewer' })
const preview = await page('erin').previewInvite(spare.url)
assert.deepEqual([preview.access, preview.invitedBy], [null, null]) // a pasted code does not say; a relayed link does
assert.deepEqual(host.listInvites().map((i) => `${i.access} ${i.status}`), ['editor used', 'viewer open'])
await host.revokeInvite(spare.inviteId)
assert.equal(host.listInvites()[1]!.status, 'revoked')

// A relay makes invites one click; when it cannot be reached, the paste flow is still there.
const unreachable = createRelayClient({ endpoint: 'https://relay.example.org', fetch: async () => { throw new TypeError('Failed to fetch') } })
const relayHost = page('frank', { relay: unreachable })
await relayHost.start()
const fallback = await relayHost.createInvite()
assert.equal(fallback.relayed, undefined)
assert.match(fallback.relayError!, /cannot be reached/)
assert.ok(fallback.url.includes('#session='))
await assert.rejects(host.createInvite({ seats: 3 }), /A room link needs a signalling relay/)

await Promise.all([host.end(), relayHost.end(), carol.leave()])
