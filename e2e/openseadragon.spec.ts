/**
 * session-sync/openseadragon in Chromium with OpenSeadragon 6, over real WebRTC: two
 * pages, two viewers each, shared with `trackViewer` alone (e2e/pages/osd.ts). Views
 * (pan, zoom, rotation) are followed, cursors carry their peer's name and colour, showing
 * a followed view sends nothing back, viewers come and go mid-session.
 */
import type { Page } from '@playwright/test'
import { expect, test } from './fixtures.js'
import { connectLive, diagnosticsOf, openLivePage } from './pages/live.driver.js'

const viewOf = (page: Page, id: string) => page.evaluate((v) => window.osd.view(v), id)
const sentViewports = async (page: Page) => (await page.evaluate(() => window.osd.sent()))['osd-viewport'] ?? 0
const receivedFrom = async (page: Page, provider: string, origin: string) => (await page.evaluate(() => window.osd.received())).filter((r) => r.provider === provider && r.origin === origin).length

/** Two views alike: the same rectangle and rotation, to rounding. */
async function expectSameView(follower: Page, leader: Page, id: string): Promise<void> {
  const target = await viewOf(leader, id)
  await expect.poll(async () => {
    const view = await viewOf(follower, id)
    return Math.max(...(['x', 'y', 'w', 'h'] as const).map((k) => Math.abs(view[k] - target[k])), Math.abs(view.r - target.r) / 360)
  }, `${id} follows`).toBeLessThan(1e-6)
}

/**
 * Everything `from` sent before now has reached `to`: a pointer move over a viewer of
 * `from`, made after it (and after the frames that would send it), arrives after it on
 * the same ordered channel, and `to` waits for that.
 */
async function barrier(from: Page, to: Page, fromId: string, viewer: string, at: { x: number; y: number }): Promise<void> {
  await from.evaluate(() => window.osd.frames())
  const before = await receivedFrom(to, 'osd-cursors', fromId)
  const box = (await from.locator(`#${viewer}`).boundingBox())!
  await from.mouse.move(box.x + at.x, box.y + at.y)
  await expect.poll(() => receivedFrom(to, 'osd-cursors', fromId)).toBeGreaterThan(before)
}

test('two pages with two OpenSeadragon viewers each: views followed, cursors labelled, no echo, viewers come and go', async ({ newPeerContext }) => {
  // Two pages, four to five viewers and many round trips: long on a loaded machine.
  test.setTimeout(120_000)
  const errors: string[] = []
  const ada = await openLivePage(await newPeerContext({ viewport: { width: 1000, height: 800 } }), '/osd.html?name=Ada', errors)
  const bo = await openLivePage(await newPeerContext({ viewport: { width: 1000, height: 800 } }), '/osd.html?name=Bo', errors)
  for (const page of [ada, bo]) {
    expect(await page.evaluate(() => window.osd.create('v-left'))).toBe('v-left')
    expect(await page.evaluate(() => window.osd.create('v-right'))).toBe('v-right')
  }
  await connectLive(ada, bo)
  const adaId = await ada.evaluate(() => window.live.selfId())
  const boId = await bo.evaluate(() => window.live.selfId())
  const home = await viewOf(bo, 'v-left')

  // A guest follows the host from the start: Ada pans, zooms and rotates her right viewer.
  expect(await bo.evaluate(() => window.osd.followedId())).toBe(adaId)
  await ada.evaluate(() => window.osd.move('v-right', { zoom: 2.5, pan: [0.1, 0.05], rotation: 30 }))
  await expectSameView(bo, ada, 'v-right')
  expect((await viewOf(bo, 'v-right')).r).toBe(30)
  expect(await viewOf(bo, 'v-left')).toEqual(home)

  // Showing Ada's view sent nothing back. Bo's pointer over his left viewer, after it, shows
  // on Ada's screen at the same spot of the image (both left viewers show the same view),
  // with his name, in his colour.
  await barrier(bo, ada, boId, 'v-left', { x: 200, y: 150 })
  expect(await sentViewports(bo)).toBe(0)
  expect(await receivedFrom(ada, 'osd-viewport', boId)).toBe(0)
  await expect.poll(() => ada.evaluate(([v, p]) => window.osd.cursor(v, p), ['v-left', boId] as const)).toMatchObject({ x: expect.closeTo(200, 0), y: expect.closeTo(150, 0) })
  const label = (await ada.evaluate(([v, p]) => window.osd.cursor(v, p), ['v-left', boId] as const))!
  const peers = await ada.evaluate(() => window.live.peers())
  const boPeer = peers.find((p) => p.id === boId)!
  expect(label).toMatchObject({ name: 'Bo', colour: boPeer.color, hidden: false })
  // It travelled in image pixels: (200, 150) of a 480 × 360 viewer showing the whole 1600 × 1200 card.
  const travelled = (await ada.evaluate(() => window.osd.received())).filter((r) => r.provider === 'osd-cursors').at(-1)!
  expect(travelled).toMatchObject({ viewerId: 'v-left', x: expect.closeTo(1600 * 200 / 480, 0), y: expect.closeTo(1200 * 150 / 360, 0) })
  expect(peers.find((p) => p.id === adaId)!.color).not.toBe(boPeer.color)

  // Bo drags his right viewer: he looks for himself now, and is told so.
  const right = (await bo.locator('#v-right').boundingBox())!
  await bo.mouse.move(right.x + 240, right.y + 180)
  await bo.mouse.down()
  await bo.mouse.move(right.x + 140, right.y + 120, { steps: 5 })
  await bo.mouse.up()
  await expect.poll(() => bo.evaluate(() => window.osd.follows())).toEqual([{ peerId: null, host: false, reason: 'local-input' }])
  const bosOwn = await viewOf(bo, 'v-right')
  await ada.evaluate(() => window.osd.move('v-right', { pan: [-0.05, 0] }))
  await barrier(ada, bo, adaId, 'v-right', { x: 100, y: 100 })
  expect(await viewOf(bo, 'v-right')).toEqual(bosOwn)

  // Anyone can be followed, not only the host: Ada follows Bo, and sees his right viewer as he left it.
  expect(await bo.evaluate(() => window.osd.peerViews('v-right'))).toEqual([adaId])
  await ada.evaluate((id) => window.osd.follow(id), boId)
  await expectSameView(ada, bo, 'v-right')
  // Following, she no longer looks for herself: her last view is withdrawn (no outline of it).
  await expect.poll(() => bo.evaluate(() => window.osd.peerViews('v-right'))).toEqual([])
  // And Bo follows Ada: each follows the other. A change of Bo's (by code: rotation) is
  // shown by Ada and sent no further; nothing bounces.
  await bo.evaluate((id) => window.osd.follow(id), adaId)
  await bo.evaluate(() => window.osd.frames())
  const [adaSent, boSent] = [await sentViewports(ada), await sentViewports(bo)]
  await bo.evaluate(() => window.osd.move('v-left', { rotation: 90, zoom: 1.5 }))
  await expectSameView(ada, bo, 'v-left')
  await barrier(ada, bo, adaId, 'v-left', { x: 50, y: 60 })
  await barrier(bo, ada, boId, 'v-left', { x: 70, y: 80 })
  expect(await sentViewports(ada)).toBe(adaSent)
  expect(await sentViewports(bo)).toBe(boSent + 1)

  // A third viewer on both pages mid-session: Bo's changes to it reach Ada's.
  for (const page of [ada, bo]) await page.evaluate(() => window.osd.create('v-extra'))
  await bo.evaluate(() => window.osd.move('v-extra', { zoom: 3, rotation: 45 }))
  await expectSameView(ada, bo, 'v-extra')
  await barrier(bo, ada, boId, 'v-extra', { x: 120, y: 90 })
  expect(await ada.evaluate(() => window.osd.peerViews('v-extra'))).toEqual([boId])
  // Bo destroys his: its cursors and its place in the session go with it, and Ada no longer
  // has a view of his there to outline.
  await bo.evaluate(() => window.osd.destroy('v-extra'))
  expect(Object.keys(await bo.evaluate(() => window.osd.cursors())).sort()).toEqual(['v-left', 'v-right'])
  await expect.poll(() => ada.evaluate(() => window.osd.peerViews('v-extra'))).toEqual([])
  await ada.evaluate(() => window.osd.move('v-extra', { pan: [0.1, 0.1] }))
  await expect.poll(async () => (await diagnosticsOf(bo)).map((d) => d.code)).toEqual(['unknown-viewer'])
  await ada.evaluate(() => window.osd.destroy('v-extra'))
  expect(Object.keys(await ada.evaluate(() => window.osd.cursors())).sort()).toEqual(['v-left', 'v-right'])

  // Bo leaves: his cursors go from Ada's viewers, and Ada, who followed him, is told she no longer does.
  await bo.evaluate(() => window.live.leave())
  await expect.poll(() => ada.evaluate(() => window.osd.cursors())).toEqual({ 'v-left': [], 'v-right': [] })
  await expect.poll(async () => (await ada.evaluate(() => window.osd.follows())).at(-1)).toEqual({ peerId: null, host: false, reason: 'peer-left' })
  expect(await diagnosticsOf(ada)).toEqual([])
  expect(errors).toEqual([])
})
