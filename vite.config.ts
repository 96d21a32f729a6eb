/// <reference types="vitest/config" />
import { defineConfig } from 'vite'
import { fileURLToPath } from 'node:url'

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))

/**
 * One config, three jobs: `vite build` makes the library, `vite` serves the demo
 * (root demo/), and vitest runs the Node suites under test/.
 */
export default defineConfig(({ command }) => ({
  root: command === 'serve' && !process.env.VITEST ? here('./demo') : here('.'),
  server: { host: '127.0.0.1', fs: { allow: [here('.')] } },
  // The library: three ES module entries, `session-sync` (dist/session-sync.js),
  // `session-sync/testing` (dist/testing.js) and `session-sync/openseadragon` (dist/openseadragon.js),
  // their chunks (what they share, and the relay client, loaded on first use) and sourcemaps;
  // declarations come from `tsc -p tsconfig.build.json`. pako, nanoid, mitt and valibot stay
  // imports (they are `dependencies`: consumers dedupe them), and so does openseadragon (the
  // app's own, an optional peer dependency).
  // simple-peer's prebuilt browser bundle is inlined: it carries its own Buffer/stream/process
  // shims, so consumers need neither simple-peer's Node-flavoured source nor polyfills.
  build: {
    outDir: here('./dist'),
    emptyOutDir: true,
    sourcemap: true,
    lib: {
      entry: { 'session-sync': here('./src/index.ts'), testing: here('./src/testing.ts'), openseadragon: here('./src/openseadragon/index.ts') },
      formats: ['es'],
      fileName: (_format, name) => `${name}.js`,
    },
    rolldownOptions: { external: /^(pako|nanoid|mitt|valibot|openseadragon|idb|@noble\/hashes)(\/|$)/ },
  },
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'threads',
    maxWorkers: 2,
    // The machine is small and shared: generous, not tight. Nothing here waits on a timer it could not see.
    testTimeout: 30_000,
  },
}))
