/// <reference types="vite/client" />
/**
 * The guide's examples cannot rot. Each `docs/snippets/*.ts` is type-checked against the
 * built package's declarations (dist/, what an app's compiler sees), run against the built
 * package (the snippets import 'session-sync', which resolves to dist/ through the package's
 * own `exports`) with its assertions, and shown verbatim by the page that names it.
 * `*.browser.ts` snippets need a page (OpenSeadragon draws into the DOM): they are
 * type-checked here and their entry is exercised in Chromium by the e2e suite.
 */
import { execFile } from 'node:child_process'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, it } from 'vitest'
import { TRANSITIONS } from '../../src/index.js'
import { pageSnippets, SNIPPETS_DIR } from '../../docs/snippet-blocks.mjs'

const run = promisify(execFile)
const repo = fileURLToPath(new URL('../..', import.meta.url))
const docs = join(repo, 'docs')
const snippetNames = readdirSync(join(docs, SNIPPETS_DIR)).filter((name) => name.endsWith('.ts')).sort()
const runnable = snippetNames.filter((name) => !name.endsWith('.browser.ts'))
const pages = readdirSync(docs).filter((name) => name.endsWith('.md')).sort()
/** Each snippet runs once, on import: its own assertions are the test. */
const runSnippet = import.meta.glob<unknown>('../../docs/snippets/*.ts')

function newestMtime(dir: string): number {
  return Math.max(...readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => statSync(join(entry.parentPath, entry.name)).mtimeMs))
}

/** Builds dist/ unless it is newer than every source file: a stale build would test old code. */
async function ensureBuilt(): Promise<void> {
  const built = (file: string) => {
    try {
      return statSync(join(repo, 'dist', file)).mtimeMs
    } catch {
      return 0
    }
  }
  const manifest = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { exports: Record<string, string | Record<string, string>> }
  const outputs = Object.values(manifest.exports).flatMap((target) => (typeof target === 'string' ? [] : Object.values(target)))
  const oldestOutput = Math.min(...outputs.filter((path) => path.startsWith('./dist/')).map((path) => built(path.slice('./dist/'.length))))
  const newestInput = Math.max(newestMtime(join(repo, 'src')), statSync(join(repo, 'package.json')).mtimeMs)
  if (oldestOutput <= newestInput) await run('npm', ['run', 'build'], { cwd: repo })
}

/** The compiler's complaints about the snippets (empty when there are none); it runs while the snippets do. */
let typeCheck: Promise<string>

beforeAll(async () => {
  await ensureBuilt()
  typeCheck = run(join(repo, 'node_modules/.bin/tsc'), ['-p', join(docs, SNIPPETS_DIR, 'tsconfig.json')], { cwd: repo }).then(
    ({ stdout }) => stdout,
    (error: { stdout: string }) => error.stdout,
  )
}, 120_000)

describe('the guide', () => {
  it.each(runnable)('%s runs against the built package', async (name) => {
    const load = runSnippet[`../../docs/snippets/${name}`]
    expect(load).toBeDefined()
    await load!()
  })

  it('every snippet type-checks against the built declarations', async () => {
    expect(await typeCheck).toBe('')
  }, 60_000)

  it.each(pages)('%s shows its snippets exactly as they are', (page) => {
    for (const block of pageSnippets(readFileSync(join(docs, page), 'utf8'))) {
      expect(snippetNames, `${page} names a snippet that does not exist`).toContain(block.name)
      expect(block.code, `${page}: ${block.name} differs; run npm run docs:snippets`).toBe(readFileSync(join(docs, SNIPPETS_DIR, block.name), 'utf8'))
    }
  })

  it('every snippet is shown on some page, and every topic page shows one', () => {
    const shown = new Map(pages.map((page) => [page, pageSnippets(readFileSync(join(docs, page), 'utf8')).map((b) => b.name)]))
    const onPages = new Set([...shown.values()].flat())
    expect(snippetNames.filter((name) => !onPages.has(name))).toEqual([])
    expect([...shown].filter(([page, names]) => page !== 'README.md' && names.length === 0).map(([page]) => page)).toEqual([])
  })

  it('every link between pages leads to a page and a heading that exist', () => {
    const slug = (heading: string) => heading.toLowerCase().replace(/[^\p{L}\p{N}\s-]/gu, '').trim().replace(/\s/g, '-')
    const headings = new Map(pages.map((page) => [page, [...readFileSync(join(docs, page), 'utf8').matchAll(/^#+ (.+)$/gm)].map(([, h]) => slug(h!))]))
    const broken: string[] = []
    for (const page of pages) {
      for (const [, target, anchor] of readFileSync(join(docs, page), 'utf8').matchAll(/\]\(([\w-]+\.md)(?:#([\w-]+))?\)/g)) {
        const known = headings.get(target!)
        if (!known || (anchor && !known.includes(anchor))) broken.push(`${page} → ${target}${anchor ? `#${anchor}` : ''}`)
      }
    }
    expect(broken).toEqual([])
  })

  it('the events page lists every event of SessionEvents, and no other', () => {
    const types = readFileSync(join(repo, 'src/types.ts'), 'utf8')
    const map = types.slice(types.indexOf('export type SessionEvents = {'))
    const declared = [...map.slice(0, map.indexOf('\n}')).matchAll(/^ {2}'(session-[a-z-]+)':/gm)].map(([, name]) => name).sort()
    const listed = [...readFileSync(join(docs, 'events.md'), 'utf8').matchAll(/^\| `(session-[a-z-]+)` \| `/gm)].map(([, name]) => name).sort()
    expect(declared.length).toBeGreaterThan(10)
    expect(listed).toEqual(declared)
  })

  it("the lifecycle page's diagram has exactly the legal transitions", () => {
    const page = readFileSync(join(docs, 'lifecycle.md'), 'utf8')
    const drawn = [...page.matchAll(/^\s*(\w+) --> (\w+)/gm)].map(([, from, to]) => `${from}->${to}`).sort()
    const legal = Object.entries(TRANSITIONS).flatMap(([from, tos]) => tos.map((to) => `${from}->${to}`)).sort()
    expect(drawn).toEqual(legal)
  })
})
