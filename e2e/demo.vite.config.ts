/**
 * The demo app (demo/) served for e2e/demo.spec.ts, which starts it with Vite's JS API on a
 * free port of 127.0.0.1 (playwright.config.ts has one webServer, for e2e/pages). Not a
 * config file Vite finds by itself: `createServer({ configFile: false, ...demoServerConfig() })`.
 */
import { fileURLToPath } from 'node:url'
import type { InlineConfig } from 'vite'

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))

export function demoServerConfig(): InlineConfig {
  return {
    root: here('../demo'),
    logLevel: 'warn',
    // Its own dependency cache: `npm run demo` and the e2e/pages server use node_modules/.vite.
    cacheDir: here('../node_modules/.vite/e2e-demo'),
    server: {
      host: '127.0.0.1',
      port: 0,
      // No HMR and no watcher: an edit in demo/ during a run must not reload pages mid-test.
      hmr: false,
      watch: null,
      // demo/ imports ../src/**.
      fs: { allow: [here('..')] },
      // Transformed while the browser starts, not during the first page load.
      warmup: { clientFiles: ['./main.ts'] },
    },
    // Pre-bundled at start-up, so the first page load does not trigger a dependency reload.
    optimizeDeps: {
      include: ['openseadragon', '@annotorious/openseadragon', 'simple-peer/simplepeer.min.js', 'mitt', 'nanoid', 'pako', 'valibot', 'idb'],
    },
  }
}
