/**
 * A failing provider stays isolated (issue 22), over real WebRTC in Chromium (loopback only,
 * see run-isolated.sh): beside the good providers, each peer has one that throws and one that
 * rejects in every method. Changes to those fail on the host; the good provider must still
 * receive every remote change through applyDelta, exactly once, with no second bootstrap.
 */
import { expect, test } from './fixtures.js'
import { connect, SessionPage, sharedSessionPages, type Peer } from './pages/session.driver.js'

let hostPage: SessionPage
let guestPage: SessionPage

sharedSessionPages(2, (host, guest) => ([hostPage, guestPage] = [host, guest]))

/** Diagnostics that mean a bug here: a provider error is expected (the providers fail on purpose), these are not. */
const BUG_CODES = new Set(['internal-error', 'wire-malformed', 'wire-version', 'wire-unknown-type', 'wire-out-of-role', 'intent-refused'])

async function diagnosticCodes(peer: Peer): Promise<string[]> {
  return (await peer.events('session-diagnostic')).map((e) => String(e.payload.code))
}

/** Intent ids of `provider`'s applyDelta calls for changes made by `origin`, in the order they ran. */
async function appliedFrom(peer: Peer, provider: string, origin: string): Promise<string[]> {
  return (await peer.applied(provider)).filter((a) => a.meta.origin === origin).map((a) => String(a.delta.intentId))
}

test.describe('providers that throw and reject', () => {
  test('the good provider receives every remote change through applyDelta exactly once', async () => {
    const host = await hostPage.add({ name: 'host', failing: true })
    const guest = await guestPage.add({ name: 'guest', failing: true })
    await host.start()
    await host.setKv('title', 'Survey 12')
    await connect(host, guest)

    // Interleaved: the guest's changes to the failing providers fail on the host while both
    // sides keep changing the good one.
    const hostIds: string[] = []
    const guestIds: string[] = []
    for (let i = 0; i < 10; i++) {
      await guest.change('throwing', `t${i}`, i)
      await guest.change('rejecting', `r${i}`, i)
      hostIds.push((await host.setKv(`h${i}`, i))!)
      guestIds.push((await guest.setKv(`g${i}`, i))!)
    }
    await Promise.all([
      guest.waitFor({ kvKeys: hostIds.map((_, i) => `h${i}`) }),
      host.waitFor({ kvKeys: guestIds.map((_, i) => `g${i}`) }),
      guest.waitFor({ settled: true }),
    ])
    expect(await appliedFrom(guest, 'kv', host.id)).toEqual(hostIds)
    expect(await appliedFrom(host, 'kv', guest.id)).toEqual(guestIds)
    // Each failed change is settled and answered: the failing provider's state was asked for
    // again and could not be sent (its snapshot fails too).
    await guest.waitFor({ diagnostic: 'resync-failed' })
    const [hostView, guestView] = await Promise.all([host.view(), guest.view()])
    expect(guestView.kv).toEqual(hostView.kv)
    expect(guestView.state).toBe('connected')
    expect(await guest.events('session-bootstrap-complete')).toHaveLength(1)

    const guestCodes = await diagnosticCodes(guest)
    expect(guestCodes.filter((c) => c === 'intent-failed')).toHaveLength(20)
    expect(guestCodes.filter((c) => BUG_CODES.has(c))).toEqual([])
    expect((await diagnosticCodes(host)).filter((c) => BUG_CODES.has(c))).toEqual([])
    // The host's failing providers saw each of the guest's changes once, and failed.
    expect(new Set(await appliedFrom(host, 'throwing', guest.id)).size).toBe(10)
    expect(await appliedFrom(host, 'throwing', guest.id)).toHaveLength(10)
  })
})
