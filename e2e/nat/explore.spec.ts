import { test, expect, selectedPairs } from './fixtures.js'
import { STUN_SERVER, TURN_SERVER } from './services.js'

test('explore: sdp', async ({ net, openHome }) => {
  net.setNat('a', 'eim'); net.setNat('b', 'symmetric')
  const hb = await openHome('b')
  const sdp = await hb.page.evaluate(async (iceServers) => {
    const pc = new RTCPeerConnection({ iceServers })
    pc.createDataChannel('x')
    await pc.setLocalDescription(await pc.createOffer())
    await new Promise<void>((r) => { pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r() })
    return pc.localDescription!.sdp
  }, [STUN_SERVER, TURN_SERVER])
  console.log(sdp)
})

test('explore: symmetric b, turn', async ({ net, openHome }) => {
  net.setNat('a', 'eim'); net.setNat('b', 'symmetric')
  const [ha, hb] = await Promise.all([openHome('a'), openHome('b')])
  const host = await ha.add({ name: 'host', iceServers: [STUN_SERVER, TURN_SERVER] })
  const guest = await hb.add({ name: 'guest', iceServers: [STUN_SERVER, TURN_SERVER] })
  await host.start()
  const invite = await host.invite()
  console.log('invite', invite.url.length, invite.url)
  const joined = await guest.join(invite.url)
  const t0 = Date.now()
  const accepted = await host.accept(joined.ok ? joined.value : '')
  console.log('accepted', Date.now() - t0, JSON.stringify(accepted))
  await guest.waitFor({ state: 'connected' })
  console.log(JSON.stringify(await selectedPairs(ha.page)), JSON.stringify(await selectedPairs(hb.page)))
})
