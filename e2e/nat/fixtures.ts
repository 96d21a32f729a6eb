/**
 * Fixtures of the NAT suite: the emulated internet (one per worker, removed after it even
 * when a test fails) and a browser per home network, launched inside that home's namespace.
 */
import { test as base, chromium, type Browser } from '@playwright/test'
import { fileURLToPath } from 'node:url'
import { CHROMIUM_ARGS } from '../chromium.mjs'
import { newPeerContext } from '../fixtures.js'
import { SessionPage } from '../pages/session.driver.js'
import { PAGE_ORIGIN, PublicServices } from './services.js'
import { type Site, Topology } from './topology.js'

export { expect } from '@playwright/test'
export { selectedPairs, type SelectedPair } from '../fixtures.js'

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
