/**
 * The demo app (demo/) for one spec file: a Vite server on a free port of 127.0.0.1,
 * started before the file's first test and closed after its last. `url` is set once it listens.
 */
import { createServer, type ViteDevServer } from 'vite'
import { demoServerConfig } from './demo.vite.config.js'
import { test } from './fixtures.js'

export function serveDemo(): { url: string } {
  const demo = { url: '' }
  let server: ViteDevServer | undefined
  test.beforeAll(async () => {
    server = await createServer({ configFile: false, ...demoServerConfig() })
    await server.listen()
    demo.url = server.resolvedUrls!.local[0]!
  })
  test.afterAll(async () => {
    await server?.close()
  })
  return demo
}
