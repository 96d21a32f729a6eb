/**
 * Node side of live.ts: open a test page whose `window[name]` holds a `LiveControl`, and
 * connect two of them (invite out, answer back) over real WebRTC.
 */
import type { BrowserContext, Page } from '@playwright/test'
import { expect } from '../fixtures.js'
import type { LiveControl } from './live.js'

/** Opens `url` in a new page of `context` and waits for the page's `window.live`. HMR is stubbed out, as in SessionPage. */
export async function openLivePage(context: BrowserContext, url: string, errors: string[]): Promise<Page> {
  const page = await context.newPage()
  await page.routeWebSocket(/.*/, () => {})
  page.on('pageerror', (error) => errors.push(`${url}: ${error.message}`))
  await page.goto(url)
  await page.waitForFunction(() => 'live' in window)
  return page
}

/** `host` starts; `guest` joins by its invite; both end connected. */
export async function connectLive(host: Page, guest: Page): Promise<void> {
  if ((await host.evaluate(() => window.live.state())) === 'idle') await host.evaluate(() => window.live.start())
  const fragment = await host.evaluate(() => window.live.invite())
  const answer = await guest.evaluate((f) => window.live.join(f), fragment)
  await host.evaluate((code) => window.live.accept(code), answer)
  for (const page of [host, guest]) await expect.poll(() => page.evaluate(() => window.live.state())).toBe('connected')
}

/**
 * Every diagnostic the page's controller reported, but `stalled`: that one is the page
 * noticing its own event loop stood still (a loaded machine), not anything about the data.
 */
export async function diagnosticsOf(page: Page): Promise<Array<{ code: string; message: string }>> {
  const all = await page.evaluate(() => window.live.diagnostics())
  return all.filter((d) => d.code !== 'stalled').map(({ code, message }) => ({ code, message }))
}

declare global {
  interface Window {
    live: LiveControl
  }
}
