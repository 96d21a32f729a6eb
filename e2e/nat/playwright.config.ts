import { defineConfig } from '@playwright/test'

/**
 * The NAT suite (e2e/nat/run.sh): runs in the root namespace, which it needs to build its
 * own namespaces; every browser and server it starts lives inside them.
 */
export default defineConfig({
  testDir: '.',
  workers: 1,
  retries: 0,
  timeout: 120_000,
  expect: { timeout: 15_000 },
  forbidOnly: Boolean(process.env.CI),
  reporter: 'list',
  outputDir: '../../test-results/nat',
})
