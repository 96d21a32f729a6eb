/**
 * The transport conformance suite on the WebRTC transport in real Chromium: each case
 * runs in an offering page, whose links reach an answering page in another browser
 * context over the real network stack (loopback only, see run-isolated.sh).
 */
import type { Browser, Page } from '@playwright/test'
import { conformanceCases } from '../test/transport/conformance.js'
import { expect, newPeerContext, selectedPairAddresses, test } from './fixtures.js'
import type { AnswerEndEvent, AnswererCommand } from './pages/transport.js'

interface Peers {
  offering: Page
  answering: Page
  /** Uncaught errors in either page; each test takes what it caused. */
  pageErrors: string[]
}

/**
 * Two transport pages in separate contexts; Playwright relays between them, in order.
 * Shared by the cases of one worker, since every case opens links of its own.
 */
async function openPeers(browser: Browser): Promise<Peers> {
  const [offering, answering] = await Promise.all([0, 1].map(async () => (await newPeerContext(browser)).newPage()))
  const pageErrors: string[] = []
  for (const page of [offering!, answering!]) page.on('pageerror', (error) => pageErrors.push(error.message))
  const toAnswering = inOrder()
  const toOffering = inOrder()
  await offering!.exposeFunction('toAnswerer', (command: AnswererCommand) =>
    toAnswering(() => answering!.evaluate((c) => window.harness.answer(c), command)),
  )
  await answering!.exposeFunction('toOfferer', (events: AnswerEndEvent[]) =>
    toOffering(() => offering!.evaluate((e) => window.harness.deliver(e), events)),
  )
  await Promise.all([offering!.goto('/transport.html'), answering!.goto('/transport.html')])
  await Promise.all([offering!, answering!].map((page) => page.waitForFunction(() => 'harness' in window)))
  return { offering: offering!, answering: answering!, pageErrors }
}

/** Runs tasks one after another, so relayed calls keep the order they were made in. */
function inOrder() {
  let tail: Promise<unknown> = Promise.resolve()
  return <T>(task: () => Promise<T>): Promise<T> => {
    const run = tail.then(task)
    tail = run.catch(() => {})
    return run
  }
}

test.describe('WebRTC transport conformance', () => {
  let peers: Peers
  test.beforeAll(async ({ browser }) => {
    peers = await openPeers(browser)
  })
  test.afterAll(async () => {
    await Promise.all([peers.offering, peers.answering].map((page) => page.context().close()))
  })

  for (const { name, requires = [] } of conformanceCases) {
    test(name, async () => {
      const { offering, pageErrors } = peers
      const supported = await offering.evaluate(() => window.harness.capabilities)
      const missing = requires.filter((capability) => !supported.includes(capability))
      test.skip(missing.length > 0, `not supported: ${missing.join(', ')}`)
      await offering.evaluate((caseName) => window.harness.runCase(caseName), name)
      expect(pageErrors.splice(0)).toEqual([])
    })
  }

  test('an answer to an offer that nobody holds any more fails within seconds, saying why (not at ICE failure, 20 s on)', async () => {
    const { offering, pageErrors } = peers
    expect(await offering.evaluate(() => window.harness.answerCancelledOffer())).toEqual({ code: 'ice-no-servers', cause: 'offerer-silent' })
    expect(pageErrors.splice(0)).toEqual([])
  })

  test('a lone message goes to the channel at once as one frame; a burst in one task shares a few frames', async () => {
    const { offering, pageErrors } = peers
    const frames = await offering.evaluate(() => window.harness.framesWritten(1_000))
    // The burst's first message finds the channel idle and goes at once; the rest wait for the
    // end of the task and go batched (1,000 messages of ~10 bytes: one or two 16 KiB frames).
    expect(frames).toMatchObject({ lone: 1, burstInTask: 1, received: 1_001 })
    expect(frames.burstAfterTask).toBeGreaterThan(0)
    expect(frames.burstAfterTask).toBeLessThanOrEqual(3)
    expect(pageErrors.splice(0)).toEqual([])
  })

  test('links pair over 127.0.0.1 host candidates only', async () => {
    const { offering, answering, pageErrors } = peers
    const stats = await offering.evaluate(() => window.harness.openLinkStats())
    expect(stats).toMatchObject({ candidateType: 'host', localAddress: '127.0.0.1', remoteAddress: '127.0.0.1' })
    for (const page of [offering, answering]) {
      const pairs = await selectedPairAddresses(page)
      expect(pairs.length).toBeGreaterThan(0)
      for (const pair of pairs) expect(pair).toEqual({ candidateType: 'host', local: '127.0.0.1', remote: '127.0.0.1' })
    }
    expect(pageErrors.splice(0)).toEqual([])
  })
})
