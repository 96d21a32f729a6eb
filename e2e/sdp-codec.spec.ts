/**
 * Acceptance for the compact SDP codec: two real Chromium peers connect using only the
 * SDPs that the codec rebuilt, and the pair they select is on 127.0.0.1.
 */
import { sdpCodec } from '../src/transport/sdp-codec.js'
import { expect, selectedPairAddresses, test } from './fixtures.js'

/** Page-side state, kept on the window between evaluate calls. */
interface PeerWindow {
  pc: RTCPeerConnection
  channel: Promise<RTCDataChannel>
  /** Listened for from the channel's first moment, so no early message is missed. */
  firstMessage: Promise<string>
}

/**
 * In the page: without an offer, open a DataChannel and make a complete (non-trickle)
 * offer; with one, answer it. Either way wait for ICE gathering and return the SDP.
 */
async function describeLocally(offer: string | null): Promise<string> {
  const peer = window as unknown as PeerWindow
  const pc = (peer.pc = new RTCPeerConnection({ iceServers: [] }))
  const opened = (channel: RTCDataChannel) => {
    peer.firstMessage = new Promise((resolve) => channel.addEventListener('message', ({ data }) => resolve(String(data)), { once: true }))
    return new Promise<RTCDataChannel>((resolve) =>
      channel.readyState === 'open' ? resolve(channel) : channel.addEventListener('open', () => resolve(channel), { once: true }),
    )
  }
  if (offer === null) {
    peer.channel = opened(pc.createDataChannel('sdp-codec'))
    await pc.setLocalDescription(await pc.createOffer())
  } else {
    peer.channel = new Promise((resolve) => pc.addEventListener('datachannel', ({ channel }) => resolve(opened(channel))))
    await pc.setRemoteDescription({ type: 'offer', sdp: offer })
    await pc.setLocalDescription(await pc.createAnswer())
  }
  if (pc.iceGatheringState !== 'complete') {
    await new Promise<void>((resolve) => pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve()))
  }
  return pc.localDescription!.sdp
}

async function acceptAnswer(answer: string): Promise<void> {
  await (window as unknown as PeerWindow).pc.setRemoteDescription({ type: 'answer', sdp: answer })
}

/** Send `text` once the channel is open; resolve with the first message received. */
async function exchange(text: string): Promise<string> {
  const peer = window as unknown as PeerWindow
  ;(await peer.channel).send(text)
  return peer.firstMessage
}

test('two Chromium peers connect over SDPs rebuilt by the codec', async ({ newPeerContext }) => {
  // A blank page per peer, each in a fixture context that records its RTCPeerConnections.
  const peerPage = async () => (await newPeerContext()).newPage()
  const [pageA, pageB] = await Promise.all([peerPage(), peerPage()])

  const offer = await pageA.evaluate(describeLocally, null)
  const packedOffer = sdpCodec.pack(offer)
  const answer = await pageB.evaluate(describeLocally, sdpCodec.unpack(packedOffer))
  const packedAnswer = sdpCodec.pack(answer)
  await pageA.evaluate(acceptAnswer, sdpCodec.unpack(packedAnswer))
  test.info().annotations.push({
    type: 'sizes',
    description: `offer ${offer.length} chars → ${packedOffer.length} bytes; answer ${answer.length} chars → ${packedAnswer.length} bytes`,
  })

  const [fromB, fromA] = await Promise.all([pageA.evaluate(exchange, 'hello from A'), pageB.evaluate(exchange, 'hello from B')])
  expect(fromB).toBe('hello from B')
  expect(fromA).toBe('hello from A')

  for (const page of [pageA, pageB]) {
    expect(await selectedPairAddresses(page)).toEqual([{ candidateType: 'host', local: '127.0.0.1', remote: '127.0.0.1' }])
  }
})
