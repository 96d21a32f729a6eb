/**
 * Fixtures of the NAT suite: the emulated internet (one per worker, removed after it even
 * when a test fails) and a browser per home network, launched inside that home's namespace.
 */
import { test as base, chromium, type Browser, type Page } from '@playwright/test'
import { fileURLToPath } from 'node:url'
import { CHROMIUM_ARGS } from '../chromium.mjs'
import { newPeerContext } from '../fixtures.js'
import { SessionPage } from '../pages/session.driver.js'
import { PAGE_ORIGIN, PublicServices } from './services.js'
import { type Site, Topology } from './topology.js'

export { expect } from '@playwright/test'

const LAUNCHER = fileURLToPath(new URL('./chromium-in-netns.sh', import.meta.url))

interface NatFixtures {
  /** A session page in its own context of a browser running inside home network `site` (one per site and test, closed after it). */
  openHome: (site: Site) => Promise<SessionPage>
}

export const test = base.extend<NatFixtures, { net: Topology }>({
  net: [
    async ({}, use) => {
      // run.sh names the run, so that it can also clean up after a run that was killed.
      const topology = new Topology(process.env.NAT_PREFIX ?? `ssnat${process.pid}-`)
      const services = new PublicServices(topology.pub)
      try {
        topology.build()
        await services.start()
        await use(topology)
      } finally {
        if (process.env.NAT_DEBUG) console.log(services.log.join(''))
        services.stop()
        topology.remove()
      }
    },
    { scope: 'worker' },
  ],
  openHome: async ({ net }, use) => {
    const browsers = new Map<Site, Promise<Browser>>()
    const launch = (site: Site) =>
      chromium.launch({
        executablePath: LAUNCHER,
        // Without the loopback flag: the candidates are the home's real addresses only.
        args: CHROMIUM_ARGS.filter((arg) => arg !== '--allow-loopback-in-peer-connection'),
        env: { ...process.env, NAT_NETNS: net.home(site) },
      })
    await use(async (site) => {
      if (!browsers.has(site)) browsers.set(site, launch(site))
      return SessionPage.open(await newPeerContext(await browsers.get(site)!), `${PAGE_ORIGIN}/session.html`)
    })
    await Promise.all([...browsers.values()].map(async (browser) => (await browser).close()))
  },
})

export interface CandidatePair {
  state: string
  local: { type: string; address: string }
  remote: { type: string; address: string }
}

/** The selected candidate pair of every connected RTCPeerConnection of the page (e2e/fixtures.ts records them). */
export function selectedPairs(page: Page): Promise<CandidatePair[]> {
  return page.evaluate(async () => {
    type Stats = Record<string, string | undefined>
    const connections = (window as unknown as { __peerConnections: RTCPeerConnection[] }).__peerConnections
    const pairs: CandidatePair[] = []
    for (const connection of connections.filter((pc) => pc.connectionState === 'connected')) {
      const stats = new Map<string, Stats>()
      ;(await connection.getStats()).forEach((entry: Stats, id: string) => stats.set(id, entry))
      const transport = [...stats.values()].find((entry) => entry.type === 'transport')
      const pair = stats.get(transport?.selectedCandidatePairId ?? '')
      const candidate = (id = '') => ({ type: stats.get(id)?.candidateType ?? '?', address: stats.get(id)?.address ?? '?' })
      pairs.push({ state: pair?.state ?? '?', local: candidate(pair?.localCandidateId), remote: candidate(pair?.remoteCandidateId) })
    }
    return pairs
  })
}
