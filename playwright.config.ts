import { defineConfig } from '@playwright/test'
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './e2e/chromium.mjs'

const PORT = 4173

/** Run through `npm run e2e`, which isolates the network (e2e/run-isolated.sh). */
export default defineConfig({
  testDir: 'e2e',
  // The NAT suite builds its own namespaces from the root one: e2e/nat/run.sh.
  testIgnore: 'nat/**',
  // Two cores: more workers only make WebRTC timing flaky.
  workers: 2,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  forbidOnly: Boolean(process.env.CI),
  reporter: 'list',
  use: {
    browserName: 'chromium',
    baseURL: `http://127.0.0.1:${PORT}`,
    launchOptions: {
      executablePath: CHROMIUM_PATH,
      args: CHROMIUM_ARGS,
    },
  },
  webServer: {
    command: `npx vite --config e2e/vite.config.ts --port ${PORT}`,
    url: `http://127.0.0.1:${PORT}/transport.html`,
    reuseExistingServer: false,
    timeout: 60_000,
  },
})
