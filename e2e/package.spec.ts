/**
 * The published package, as a consumer gets it: `npm run build`, `npm pack`, the tarball
 * unpacked into a temporary app (e2e/consumer/) that imports 'session-sync' and is built by
 * a stock Vite (no config file, no plugins, no polyfills), served by `vite preview` on
 * 127.0.0.1, and run as a two-peer session in Chromium.
 *
 * Offline by design (run-isolated.sh gives no network): npm only runs a script and packs;
 * nothing is installed. The app's node_modules holds the unpacked tarball and symlinks to
 * the package's dependencies in this repository's node_modules, which is what
 * `npm install session-sync` would give it.
 */
import { execFile } from 'node:child_process'
import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import type { Page } from '@playwright/test'
import { build, preview, transformWithOxc, type PreviewServer } from 'vite'
import { errorInstances, exportedErrorClasses } from '../test/helpers/errors.js'
import { expect, selectedPairAddresses, test } from './fixtures.js'

const run = promisify(execFile)
const repo = fileURLToPath(new URL('..', import.meta.url))
/** No update checks, audits or registry look-ups from npm: there is no network. */
const npmEnv = { ...process.env, npm_config_offline: 'true', npm_config_update_notifier: 'false', npm_config_audit: 'false', npm_config_fund: 'false' }

/** Bare imports the library bundles may keep; everything else (simple-peer's browser bundle) is inlined. */
const EXTERNALS = ['@noble/hashes', 'idb', 'mitt', 'nanoid', 'openseadragon', 'pako', 'valibot']
/** The package a bare import specifier names (`@scope/name/sub` → `@scope/name`). */
const packageOf = (specifier: string) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/')
/** Node globals a browser does not have. A free reference to one needs a polyfill unless `typeof`-guarded. */
const NODE_GLOBALS = ['process', 'Buffer', 'global', 'require', 'module', 'exports', '__dirname', '__filename', 'setImmediate', 'clearImmediate']

interface PackageJson {
  name: string
  main?: string
  module?: string
  types?: string
  exports: Record<string, string | Record<string, string>>
  dependencies: Record<string, string>
  peerDependencies: Record<string, string>
  peerDependenciesMeta: Record<string, { optional?: boolean }>
}

let work: string
let app: string
/** The unpacked tarball, as node_modules/session-sync. */
let installed: string
let manifest: PackageJson
let server: PreviewServer | undefined
let baseUrl: string

test.beforeAll(async () => {
  test.setTimeout(180_000)
  work = await mkdtemp(join(tmpdir(), 'session-sync-package-'))
  // Built here, so the test can never run against a stale dist/.
  await run('npm', ['run', 'build'], { cwd: repo, env: npmEnv })
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: repo, env: npmEnv })
  const [{ filename }] = JSON.parse(stdout) as [{ filename: string }]

  app = join(work, 'app')
  await cp(join(repo, 'e2e/consumer'), app, { recursive: true })
  // The app installs OpenSeadragon itself (the package's optional peer dependency).
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: { openseadragon: '^6.1.1' } }, null, 2))
  const modules = join(app, 'node_modules')
  await mkdir(modules)
  await run('tar', ['-xzf', join(work, filename), '-C', modules])
  installed = join(modules, 'session-sync')
  await rename(join(modules, 'package'), installed)
  manifest = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8')) as PackageJson
  for (const dependency of [...Object.keys(manifest.dependencies), 'openseadragon']) {
    const link = join(modules, dependency)
    await mkdir(dirname(link), { recursive: true })
    await symlink(join(repo, 'node_modules', dependency), link, 'dir')
  }

  // Stock Vite: no config file, no plugins.
  await build({ root: app, configFile: false, logLevel: 'silent' })
  server = await preview({ root: app, configFile: false, logLevel: 'silent', preview: { host: '127.0.0.1', port: 0, strictPort: true } })
  const { port } = server.httpServer.address() as AddressInfo
  baseUrl = `http://127.0.0.1:${port}/`
})

test.afterAll(async () => {
  await server?.close()
  if (work) await rm(work, { recursive: true, force: true })
})

test('the tarball ships the bundles, their sourcemaps and the declarations the exports map names', async () => {
  expect(manifest.exports['.']).toEqual({ types: './dist/index.d.ts', import: './dist/session-sync.js' })
  expect(manifest.exports['./testing']).toEqual({ types: './dist/testing.d.ts', import: './dist/testing.js' })
  expect(manifest.exports['./openseadragon']).toEqual({ types: './dist/openseadragon/index.d.ts', import: './dist/openseadragon.js' })
  expect(manifest.exports['./global']).toEqual({ types: './types/global.d.ts' })
  expect(manifest.peerDependencies).toEqual({ openseadragon: '>=4 <7' })
  expect(manifest.peerDependenciesMeta).toEqual({ openseadragon: { optional: true } })
  const files = await listFiles(installed)
  for (const path of [manifest.main, manifest.module, manifest.types, 'dist/session-sync.js.map', 'dist/testing.js', 'dist/testing.js.map', 'dist/testing.d.ts', 'dist/openseadragon.js', 'dist/openseadragon.js.map', 'dist/openseadragon/index.d.ts', 'types/global.d.ts']) {
    expect(files).toContain(path!.replace(/^\.\//, ''))
  }
  // Only what a consumer needs: no sources, tests, configs or test pages.
  for (const file of files) expect(file).toMatch(/^(dist\/.+\.(js|js\.map|d\.ts)|types\/global\.d\.ts|package\.json|README\.md|LICENSE)$/)
})

test('declarations resolve on their own: relative .js imports, no path alias, no test files', async () => {
  const declarations = (await listFiles(join(installed, 'dist'))).filter((file) => file.endsWith('.d.ts'))
  expect(declarations).toContain('index.d.ts')
  expect(declarations).toContain('testing.d.ts')
  expect(declarations).toContain('openseadragon/index.d.ts')
  for (const file of declarations) {
    const text = await readFile(join(installed, 'dist', file), 'utf8')
    for (const [, specifier] of text.matchAll(/\bfrom\s+'([^']+)'|\bimport\(\s*'([^']+)'\s*\)/g)) {
      if (specifier === undefined) continue
      if (specifier.startsWith('.')) {
        expect(specifier, `${file} imports ${specifier}`).toMatch(/\.js$/)
        expect(declarations, `${file} imports ${specifier}`).toContain(join(dirname(file), specifier).replace(/\.js$/, '.d.ts'))
      } else {
        expect(Object.keys(manifest.dependencies), `${file} imports ${specifier}`).toContain(packageOf(specifier))
      }
    }
    expect(text, file).not.toMatch(/\/test\/|vitest|fast-check|reference types="node"/)
  }
})

test('the consumer type-checks against the packed declarations (bundler and nodenext resolution)', async () => {
  test.setTimeout(120_000)
  const tsc = join(repo, 'node_modules/typescript/bin/tsc')
  for (const [module, moduleResolution] of [['ESNext', 'Bundler'], ['NodeNext', 'NodeNext']] as const) {
    const config = {
      compilerOptions: {
        target: 'ES2022',
        module,
        moduleResolution,
        lib: ['ES2022', 'DOM'],
        strict: true,
        noEmit: true,
        // Check the package's .d.ts files (and its dependencies'), not only the app;
        // TypeScript's own lib files need no checking here and cost most of the time.
        skipLibCheck: false,
        skipDefaultLibCheck: true,
        // `window.SESSION`, through the package's "./global" export.
        types: ['session-sync/global'],
      },
      // memory.ts imports `session-sync/testing` as well.
      files: ['main.ts', 'memory.ts'],
    }
    const project = join(app, `tsconfig.${moduleResolution}.json`)
    await writeFile(project, JSON.stringify(config, null, 2))
    const result = await run(process.execPath, [tsc, '-p', project], { cwd: app }).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (error: { code?: number | string; stdout?: string; message: string }) => ({ code: error.code, stdout: error.stdout ?? error.message }),
    )
    expect(result, `tsc with moduleResolution ${moduleResolution}`).toEqual({ code: 0, stdout: '' })
  }
})

test('the bundles import only their dependencies and their own chunks, and need no Node polyfills', async () => {
  const dist = join(installed, 'dist')
  const bundles = (await readdir(dist)).filter((file) => file.endsWith('.js'))
  const code = new Map(await Promise.all(bundles.map(async (file) => [file, await readFile(join(dist, file), 'utf8')] as const)))
  const bare = new Set<string>()
  const lazy: string[] = []
  for (const [file, text] of code) {
    const imports = [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']/gm)].map((m) => (m[1] ?? m[2])!)
    for (const specifier of imports) {
      if (!specifier.startsWith('.')) bare.add(packageOf(specifier))
      else expect(bundles, `${file} imports ${specifier}`).toContain(specifier.replace(/^\.\//, ''))
    }
    // import() only of a chunk of its own, by a literal name.
    for (const [call, specifier] of text.matchAll(/\bimport\s*\(\s*(?:["']([^"']+)["'])?/g)) {
      expect(specifier, `${file}: ${call}`).toMatch(/^\.\/[\w.-]+\.js$/)
      expect(bundles, `${file}: ${call}`).toContain(specifier!.slice(2))
      lazy.push(`${file} → ${specifier!.slice(2)}`)
    }
  }
  expect([...bare].sort()).toEqual(EXTERNALS)
  for (const name of EXTERNALS) expect([...Object.keys(manifest.dependencies), ...Object.keys(manifest.peerDependencies)]).toContain(name)
  // OpenSeadragon is imported by its entry alone: an app without it never loads it.
  for (const [file, text] of code) if (file !== 'openseadragon.js') expect(text, file).not.toMatch(/from\s*["']openseadragon["']/)
  // Chunks that come later: the session engine with the first start or join (or in idle time),
  // from the chunk of its loader (which the testing entry shares: it imports the engine itself),
  // and the WebRTC links with it; from the engine, the invite desk (seats, the host's list, the
  // invite codec) with the first invite or join, and from it the host's relay listener with its
  // first relayed invite; the relay client and its sealing code when a relay is first used; the
  // compact SDP codec with the first invite or answer; the IndexedDB journal with its first
  // write, the journal reader with the first resume, the saved-session ledger with its first call.
  const engineLoad = lazy.filter((l) => / → engine-[\w-]+\.js$/.test(l))
  expect(engineLoad).toHaveLength(1)
  expect(lazy.filter((l) => !engineLoad.includes(l)).sort()).toEqual([
    expect.stringMatching(/^engine-[\w-]+\.js → idb-[\w-]+\.js$/),
    expect.stringMatching(/^engine-[\w-]+\.js → invite-desk-[\w-]+\.js$/),
    expect.stringMatching(/^engine-[\w-]+\.js → read-[\w-]+\.js$/),
    expect.stringMatching(/^invite-desk-[\w-]+\.js → listener-[\w-]+\.js$/),
    expect.stringMatching(/^session-sync\.js → http-client-[\w-]+\.js$/),
    expect.stringMatching(/^session-sync\.js → saved-sessions-[\w-]+\.js$/),
    expect.stringMatching(/^session-sync\.js → sdp-codec-[\w-]+\.js$/),
    expect.stringMatching(/^session-sync\.js → webrtc-[\w-]+\.js$/),
  ])
  const relayClient = code.get(lazy.find((l) => l.includes('http-client-'))!.split(' → ')[1]!)!
  expect(relayClient).toContain('AES-GCM')
  for (const [file, text] of code) if (!file.startsWith('http-client-')) expect(text, file).not.toContain('AES-GCM')
  // pako (deflate for invite codes) comes with the invite desk, not with the page.
  expect(code.get('session-sync.js')).not.toMatch(/from\s*["']pako["']/)
  expect(code.get(lazy.find((l) => l.includes(' → invite-desk-'))!.split(' → ')[1]!)).toMatch(/from\s*["']pako["']/)
  // The testing entry's network stays out of the main entry; the two share their classes through chunks.
  expect(code.get('session-sync.js')).not.toContain('class MemoryNetwork')
  // The OpenSeadragon entry works on the page's controller: it carries no copy of the core.
  expect(code.get('openseadragon.js')).not.toMatch(/from\s*["']\.\//)
  // simple-peer's bundle is inlined, with its own Buffer/process/stream shims, in the WebRTC links' chunk.
  expect(code.get(lazy.find((l) => l.includes(' → webrtc-'))!.split(' → ')[1]!)).toContain('simple-peer')
  expect(code.get('session-sync.js')).not.toContain('simple-peer')

  for (const [file, text] of code) {
    // A text search for `process.` or `Buffer` is no use here: simple-peer's bundle is full of them,
    // bound to its own shims. What needs a polyfill is a *free* reference to a Node global. Oxc's
    // `define` rewrites only free (unbound) identifiers, so it finds exactly those.
    const marked = await transformWithOxc(text, file, {
      define: Object.fromEntries(NODE_GLOBALS.map((name) => [name, `__FREE_${name}__`])),
      sourcemap: false,
    })
    const free = marked.code.split('\n').filter((line) => line.includes('__FREE_'))
    // Some remain, each behind a `typeof` test (UMD and CommonJS wrappers: typeof require/define/global).
    for (const line of free) {
      for (const [, name] of line.matchAll(/__FREE_(\w+?)__/g)) {
        expect(line, `${file}: free reference to ${name} without a typeof guard`).toContain(`typeof __FREE_${name}__`)
      }
    }
    for (const name of ['process', 'Buffer', '__dirname', '__filename', 'setImmediate', 'clearImmediate']) {
      expect(marked.code, `${file}: free reference to ${name}`).not.toContain(`__FREE_${name}__`)
    }
    // No require() of anything by name, Node built-ins included.
    expect(text, file).not.toMatch(/\brequire\(\s*["']/)
  }
})

test('session-sync/testing resolves in Node and runs a session over the in-memory network', async () => {
  // e2e/consumer/memory.ts as the consumer's own test runner would run it: type-stripped, from the app.
  const { code } = await transformWithOxc(await readFile(join(app, 'memory.ts'), 'utf8'), 'memory.ts', { sourcemap: false })
  const script = join(app, 'memory.mjs')
  await writeFile(script, code)
  const { memorySession } = (await import(pathToFileURL(script).href)) as typeof import('./consumer/memory.js')
  expect(await memorySession()).toEqual({ states: ['connected', 'connected'], counts: [2, 2], linked: true, sharedErrorClasses: true })
})

test('the built package keeps every error class\'s name', async () => {
  const built = (await import(pathToFileURL(join(installed, 'dist/session-sync.js')).href)) as typeof import('../src/index.js')
  const instances = errorInstances(built)
  expect(instances.map(([name]) => name).sort()).toEqual(exportedErrorClasses(built))
  for (const [name, error] of instances) expect(error.name).toBe(name)
})

test('a stock Vite app runs a two-peer session from the package', async ({ newPeerContext }) => {
  const pageErrors: string[] = []
  const open = async (name: string): Promise<Page> => {
    const page = await (await newPeerContext()).newPage()
    page.on('pageerror', (error) => pageErrors.push(`${name}: ${error.message}`))
    await page.goto(`${baseUrl}?name=${name}`)
    await page.waitForFunction(() => 'consumer' in window)
    return page
  }
  const host = await open('Host')
  const guest = await open('Guest')

  await host.evaluate(() => window.consumer.start())
  const invite = await host.evaluate(() => window.consumer.invite())
  expect(invite).toMatch(/^#session=/)
  const answer = await guest.evaluate((fragment) => window.consumer.join(fragment), invite)
  await host.evaluate((code) => window.consumer.accept(code), answer)

  for (const page of [host, guest]) await expect.poll(() => page.evaluate(() => window.consumer.state())).toBe('connected')
  expect(await host.evaluate(() => window.consumer.states())).toEqual(['hosting', 'connected'])
  expect(await guest.evaluate(() => window.consumer.states())).toEqual(['joining', 'connected'])

  // A host delta crosses to the guest; a guest intent goes through the host and back.
  await host.evaluate(() => window.consumer.bump())
  await expect.poll(() => guest.evaluate(() => window.consumer.count())).toBe(1)
  await guest.evaluate(() => window.consumer.bump())
  await expect.poll(() => host.evaluate(() => window.consumer.count())).toBe(2)
  await expect.poll(() => guest.evaluate(() => window.consumer.count())).toBe(2)
  await expect(guest.locator('#count')).toHaveText('2')

  // The OpenSeadragon entry: the guest follows the host's viewer, zoom and rotation alike.
  for (const page of [host, guest]) await page.evaluate(() => window.consumer.opened())
  await host.evaluate(() => window.consumer.turn())
  const hostView = await host.evaluate(() => window.consumer.view())
  expect(hostView.r).toBe(90)
  await expect.poll(() => guest.evaluate(() => window.consumer.view())).toEqual(hostView)

  for (const page of [host, guest]) {
    const pairs = await selectedPairAddresses(page)
    expect(pairs.length).toBeGreaterThan(0)
    for (const pair of pairs) expect(pair).toMatchObject({ local: '127.0.0.1', remote: '127.0.0.1' })
  }
  expect(pageErrors).toEqual([])
})

test('a page loads the session engine with start() or join(), or in idle time; a failed load is a typed error', async ({ newPeerContext }) => {
  const pageErrors: string[] = []
  /** A page of the app, and the scripts it has requested so far (paths). */
  const open = async (name: string, query: string) => {
    const page = await (await newPeerContext()).newPage()
    const scripts: string[] = []
    page.on('request', (request) => {
      if (request.resourceType() === 'script') scripts.push(new URL(request.url()).pathname)
    })
    page.on('pageerror', (error) => pageErrors.push(`${name}: ${error.message}`))
    await page.goto(`${baseUrl}?name=${name}${query}`)
    await page.waitForFunction(() => 'consumer' in window)
    return { page, scripts }
  }
  const engine = (scripts: string[]) => scripts.filter((path) => /\/engine-[\w-]+\.js$/.test(path))
  const links = (scripts: string[]) => scripts.filter((path) => /\/webrtc-[\w-]+\.js$/.test(path))
  /** Resolves once the page has been idle twice: an idle-time preload would have asked for its chunks by then. */
  const idle = (page: Page) => page.evaluate(() => new Promise<void>((resolve) => requestIdleCallback(() => requestIdleCallback(() => resolve()))))

  const host = await open('Host', '&preload=none')
  const guest = await open('Guest', '&preload=none')
  for (const { page, scripts } of [host, guest]) {
    await idle(page)
    // The app's own entry chunk alone (the library's façade is bundled into it).
    expect(scripts).toEqual([expect.stringMatching(/^\/assets\/index-[\w-]+\.js$/)])
  }

  // Offline when the host starts: start() fails with a typed error and a diagnostic, nothing unhandled.
  const offline = /\/engine-[\w-]+\.js$/
  await host.page.route(offline, (route) => route.abort('internetdisconnected'))
  expect(await host.page.evaluate(() => window.consumer.tryStart())).toEqual({ name: 'SessionError', code: 'engine-unavailable' })
  expect(await host.page.evaluate(() => window.consumer.diagnostics())).toEqual(['engine-unavailable'])
  expect(await host.page.evaluate(() => window.consumer.state())).toBe('idle')
  await host.page.unroute(offline)

  // Online again: the next start() loads the engine and the WebRTC links before it resolves.
  expect(await host.page.evaluate(() => window.consumer.tryStart())).toBeNull()
  expect(engine(host.scripts).length).toBeGreaterThan(0)
  expect(links(host.scripts)).toHaveLength(1)
  const invite = await host.page.evaluate(() => window.consumer.invite())
  // The guest offline for the WebRTC links alone: join() fails as for the engine, and tries again.
  const linksOffline = /\/webrtc-[\w-]+\.js$/
  await guest.page.route(linksOffline, (route) => route.abort('internetdisconnected'))
  expect(await guest.page.evaluate((fragment) => window.consumer.tryJoin(fragment), invite)).toEqual({ name: 'SessionError', code: 'engine-unavailable' })
  expect(await guest.page.evaluate(() => window.consumer.state())).toBe('idle')
  await guest.page.unroute(linksOffline)
  const answer = await guest.page.evaluate((fragment) => window.consumer.join(fragment), invite)
  expect(engine(guest.scripts)).toHaveLength(1)
  expect(links(guest.scripts)).toHaveLength(2)
  await host.page.evaluate((code) => window.consumer.accept(code), answer)
  for (const { page } of [host, guest]) await expect.poll(() => page.evaluate(() => window.consumer.state())).toBe('connected')
  await host.page.evaluate(() => window.consumer.bump())
  await expect.poll(() => guest.page.evaluate(() => window.consumer.count())).toBe(1)

  // By default the engine and the links load in idle time, with no call at all.
  const idler = await open('Idler', '')
  await expect.poll(() => [engine(idler.scripts).length, links(idler.scripts).length]).toEqual([1, 1])
  expect(await idler.page.evaluate(() => window.consumer.state())).toBe('idle')
  expect(pageErrors).toEqual([])
})

/** Every file under `root`, as paths relative to it with forward slashes. */
async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true })
  return entries.filter((entry) => entry.isFile()).map((entry) => relative(root, join(entry.parentPath, entry.name)))
}
