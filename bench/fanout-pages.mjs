/**
 * Fan-out with every peer in its own browser context (its own renderer), as peers on
 * separate machines: the host page emits one kv delta, each guest page applies it; the raw
 * baseline is a hub in the host page sending the same bytes on one raw channel per guest
 * page. Each guest page's clock offset from the host page is measured over its raw channel
 * (the ping with the shortest round trip); a sample is the last guest's arrival, on the
 * host's clock, minus the emit.
 */

const CLOCK_ROUNDS = 60

/**
 * Returns { session: ms[], raw: ms[], clock: { rttUs: number[], offsets: number[] }, links: number[], joinSeconds }.
 * `beforeClose` runs while the pages are still open (to read their CPU profiles: `--profile`).
 */
export async function runFanoutPages({ browser, openPage, total, samples, bytes, gapMs = 4, warmup = 10, block = 20, beforeClose }) {
  const contexts = []
  const pageIn = async () => {
    const context = await browser.newContext()
    contexts.push(context)
    return openPage(context)
  }
  try {
    const t0 = Date.now()
    const hostPage = await pageIn()
    const host = await hostPage.evaluate(() => window.bench.create({ name: 'host' }))
    await hostPage.evaluate((h) => window.bench.start(h), host)
    const guests = []
    for (let g = 1; g < total; g++) {
      const page = await pageIn()
      const index = await page.evaluate((name) => window.bench.create({ name }), `g${g}`)
      const url = await hostPage.evaluate((h) => window.bench.inviteUrl(h), host)
      const code = await page.evaluate(([i, u]) => window.bench.join(i, u), [index, url])
      await hostPage.evaluate(([h, c]) => window.bench.accept(h, c), [host, code])
      await page.evaluate((i) => window.bench.waitState(i, 'connected', 60_000), index)
      // The raw channel from the host page's hub to this page.
      const offer = await hostPage.evaluate((id) => window.bench.spread.rawOffer(id), g)
      const answer = await page.evaluate(([id, sdp]) => window.bench.spread.rawAnswer(id, sdp), [g, offer])
      await hostPage.evaluate(([id, sdp]) => window.bench.spread.rawAccept(id, sdp), [g, answer])
      await Promise.all([hostPage.evaluate((id) => window.bench.spread.rawOpen(id), g), page.evaluate((id) => window.bench.spread.rawOpen(id), g)])
      guests.push({ page, index, rawId: g })
    }
    // A full mesh: every page linked to every other before the window.
    const links = async () => [await hostPage.evaluate((h) => window.bench.spread.linked(h), host), ...(await Promise.all(guests.map(({ page, index }) => page.evaluate((i) => window.bench.spread.linked(i), index))))]
    const deadline = Date.now() + 30_000
    let linked = await links()
    while (linked.some((n) => n < total - 1) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100)) // polling the pages' link counts
      linked = await links()
    }
    const joinSeconds = (Date.now() - t0) / 1000
    const clock = []
    for (const guest of guests) {
      await guest.page.evaluate(([i, id]) => window.bench.spread.listen(i, id), [guest.index, guest.rawId])
      clock.push(await hostPage.evaluate(([id, n]) => window.bench.spread.clockOffset(id, n), [guest.rawId, CLOCK_ROUNDS]))
    }
    const sent = await hostPage.evaluate(([h, ids, n, w, b, size, gap]) => window.bench.spread.emit(h, ids, n, w, b, size, gap), [host, guests.map((g) => g.rawId), samples, warmup, block, bytes, gapMs])
    const arrivals = await Promise.all(guests.map(({ page }) => page.evaluate(() => window.bench.spread.take())))
    const lastArrival = (arm, n) => Math.max(...arrivals.map((a, g) => (a[arm][n] ?? NaN) - clock[g].offset))
    const latencies = (arm) =>
      Object.entries(sent[arm])
        .filter(([n]) => Number(n) >= 100_000)
        .map(([n, at]) => lastArrival(arm, n) - at)
    const result = { session: latencies('session'), raw: latencies('raw'), clock: { rttUs: clock.map((c) => c.rtt * 1000), offsets: clock.map((c) => c.offset) }, links: linked, joinSeconds }
    const missing = [...result.session, ...result.raw].filter((ms) => Number.isNaN(ms)).length
    if (missing) throw new Error(`${missing} samples did not reach every guest page`)
    await hostPage.evaluate(() => window.bench.spread.closeRaw())
    await beforeClose?.()
    return result
  } finally {
    await Promise.allSettled(contexts.map((context) => context.close()))
  }
}
