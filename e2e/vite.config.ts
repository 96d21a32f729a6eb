import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

/** Serves the browser-test pages in e2e/pages (library code comes straight from src/). Port: playwright.config.ts. */
export default defineConfig({
  root: fileURLToPath(new URL('./pages', import.meta.url)),
  logLevel: 'warn',
  // No HMR: a source edit during a run must not reload pages mid-test.
  server: { host: '127.0.0.1', strictPort: true, hmr: false },
  // Pre-bundled at start-up, so the first page load does not trigger a dependency reload.
  optimizeDeps: { include: ['simple-peer/simplepeer.min.js', 'mitt', 'openseadragon', 'idb', '@noble/hashes/sha2'] },
})
