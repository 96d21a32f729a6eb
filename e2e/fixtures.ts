/**
 * Shared fixtures for browser tests. Import `test` and `expect` from here, not from
 * @playwright/test.
 */
import { test as base, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from '@playwright/test'

export { expect } from '@playwright/test'

/**
 * A new browser context for one WebRTC peer (its own storage and renderer). It holds a
 * media permission, without which Chromium gathers no loopback candidate, and records
 * every RTCPeerConnection its pages create (see `selectedPairAddresses`).
 */
export async function newPeerContext(browser: Browser, options: BrowserContextOptions = {}): Promise<BrowserContext> {
  const context = await browser.newContext({ ...options, permissions: ['camera', 'microphone'] })
  await context.addInitScript(recordPeerConnections)
  return context
}

export interface PeerFixtures {
  /** `newPeerContext` for one test (screen size, touch… in `options`); its contexts are closed after the test. */
  newPeerContext: (options?: BrowserContextOptions) => Promise<BrowserContext>
}

export const test = base.extend<PeerFixtures>({
  newPeerContext: async ({ browser }, use) => {
    const contexts: BrowserContext[] = []
    await use(async (options) => {
      const context = await newPeerContext(browser, options)
      contexts.push(context)
      return context
    })
    await Promise.all(contexts.map((context) => context.close()))
  },
})

export interface CandidatePairAddresses {
  candidateType: string
  local: string
  remote: string
}

export interface SelectedPair {
  local: { type: string; address: string }
  remote: { type: string; address: string }
}

/** The selected candidate pair of every connected RTCPeerConnection in the page: both ends' type and address. */
export function selectedPairs(page: Page): Promise<SelectedPair[]> {
  return page.evaluate(async () => {
    type Stats = Record<string, string | undefined>
    const connections = (window as unknown as { __peerConnections: RTCPeerConnection[] }).__peerConnections
    const pairs: SelectedPair[] = []
    for (const connection of connections.filter((pc) => pc.connectionState === 'connected')) {
      const stats = new Map<string, Stats>()
      ;(await connection.getStats()).forEach((entry: Stats, id: string) => stats.set(id, entry))
      const transport = [...stats.values()].find((entry) => entry.type === 'transport')
      const pair = stats.get(transport?.selectedCandidatePairId ?? '')
      const end = (id = '') => ({ type: stats.get(id)?.candidateType ?? '?', address: stats.get(id)?.address ?? '?' })
      pairs.push({ local: end(pair?.localCandidateId), remote: end(pair?.remoteCandidateId) })
    }
    return pairs
  })
}

/** The selected candidate pair of every open RTCPeerConnection in the page: the local type, both addresses. */
export async function selectedPairAddresses(page: Page): Promise<CandidatePairAddresses[]> {
  return (await selectedPairs(page)).map(({ local, remote }) => ({ candidateType: local.type, local: local.address, remote: remote.address }))
}

/** Runs in the page before its scripts: keeps a list of the page's peer connections. */
function recordPeerConnections(): void {
  const recorded: RTCPeerConnection[] = []
  const Native = globalThis.RTCPeerConnection
  globalThis.RTCPeerConnection = class extends Native {
    constructor(configuration?: RTCConfiguration) {
      super(configuration)
      recorded.push(this)
    }
  }
  ;(globalThis as unknown as { __peerConnections: RTCPeerConnection[] }).__peerConnections = recorded
}

/**
 * Stops all of a page's JavaScript (CDP Debugger.pause; see shared/notes/webrtc-in-tests.md)
 * and resolves once it is paused, with the function that lets it run again. Its renderer
 * keeps its network: messages to it queue up. Do not evaluate in the page until thawed.
 */
export async function freezePage(page: Page): Promise<() => Promise<void>> {
  const cdp = await page.context().newCDPSession(page)
  await cdp.send('Debugger.enable')
  const paused = new Promise<void>((resolve) => cdp.once('Debugger.paused', () => resolve()))
  await cdp.send('Debugger.pause')
  await paused
  return async () => {
    const resumed = new Promise<void>((resolve) => cdp.once('Debugger.resumed', () => resolve()))
    await cdp.send('Debugger.resume')
    await resumed
    await cdp.detach()
  }
}
