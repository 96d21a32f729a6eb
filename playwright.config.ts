import { defineConfig } from '@playwright/test'

const PORT = 4173

/**
 * Playwright's own --disable-features list (playwright-core, chromiumSwitches.ts, 1.65).
 * Chromium honours only the last --disable-features flag, so ours must repeat it.
 */
const PLAYWRIGHT_DISABLED_FEATURES = [
  'AvoidUnnecessaryBeforeUnloadCheckSync',
  'DestroyProfileOnBrowserClose',
  'HttpsUpgrades',
  'HttpsFirstBalancedModeAutoEnable',
  'LensOverlay',
  'MediaRouter',
  'PaintHolding',
  'ThirdPartyStoragePartitioning',
  'AvoidCorsURLLoaderRestartOnRedirect',
  'TcpPortRandomizationWin',
  'OptimizationHints',
  'NetworkTimeServiceQuerying',
  'AimEnabled',
  'PreconnectToSearch',
  'msForceBrowserSignIn',
  'msEdgeUpdateLaunchServicesPreferredVersion',
]

/** See shared/notes/webrtc-in-tests.md for why each flag is here. */
const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Loopback ICE candidates (with a media permission, see e2e/fixtures.ts); no device is opened.
  '--allow-loopback-in-peer-connection',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  // Real 127.0.0.1 candidates instead of *.local names nothing resolves in the namespace.
  `--disable-features=${[...PLAYWRIGHT_DISABLED_FEATURES, 'WebRtcHideLocalIpsWithMdns'].join(',')}`,
  // Several peers share one browser; background pages must keep their timers.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
]

/** Run through `npm run e2e`, which isolates the network (e2e/run-isolated.sh). */
export default defineConfig({
  testDir: 'e2e',
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
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
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
