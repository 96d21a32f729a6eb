#!/usr/bin/env node
/**
 * Library size, min+gzip: the core (without simple-peer and pako) and the whole browser
 * bundle. Target: core ≤ 15 KB.
 *
 *   node bench/size.mjs            (reads dist/session-sync.js too, when `npm run build` made it)
 *   node bench/size.mjs --by-module  where the core's bytes are: each module of the core (all
 *                                  exports) minified alone → bench/results/size-by-module.md
 *
 * Each row is bundled from src/ with Vite (Rolldown) in memory, then minified with the Oxc
 * minifier Vite ships and gzipped at level 9 — what an app's production build would do to
 * it. "all exports" keeps every export of the package; "app imports" keeps what an app
 * typically imports (SessionSyncController, createWebRtcTransport, installSession), the rest
 * tree-shaken away. Nothing is written to dist/.
 *
 * The figures are what a page loads up front: the entry chunk and the chunks it imports.
 * The "at session start" rows add what `start()` or `join()` loads before it goes on: the
 * session engine (src/session/engine.ts) and the WebRTC links (src/transport/webrtc.ts),
 * with the chunks they import. Other chunks loaded later by import() (the invite desk, the
 * relay client, the journal, …, each on first use) are in the note.
 * dist/session-sync.js likewise counts with the chunks it imports (each minified and
 * gzipped apart); dist/testing.js is another entry, not counted.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build, minify } from 'vite'

const repo = fileURLToPath(new URL('..', import.meta.url))
const index = join(repo, 'src/index.ts')
const CORE_TARGET = 15 * 1024
/** The modules whose chunks `start()` and `join()` load before they go on (src/session/engine-loader.ts). */
const SESSION_START = ['src/session/engine.ts', 'src/transport/webrtc.ts'].map((path) => join(repo, path))

const ENTRIES = {
  'all exports': `export * from ${JSON.stringify(index)}`,
  'app imports': `export { SessionSyncController, createWebRtcTransport, installSession } from ${JSON.stringify(index)}`,
}
const SETS = {
  /** Everything an app ships for session-sync, dependencies included. */
  whole: [],
  /** The ask of the benchmark issue: no simple-peer, no pako. */
  core: ['simple-peer', 'pako'],
  /** This library's own code only. */
  own: ['simple-peer', 'pako', 'mitt', 'nanoid', 'valibot'],
}

if (process.argv.includes('--by-module')) {
  await byModule()
  process.exit(0)
}

const work = await mkdtemp(join(tmpdir(), 'session-sync-size-'))
const rows = []
try {
  const published = join(repo, 'dist/session-sync.js')
  if (existsSync(published)) {
    const files = await loadedUpFront(published)
    const row = await measureAll('dist/session-sync.js (deps external)', await Promise.all([...files].map((file) => readFile(file, 'utf8'))))
    if (files.size > 1) row.note = `with the ${files.size - 1} chunk(s) it imports`
    rows.push(row)
  } else {
    rows.push({ name: 'dist/session-sync.js', note: 'not built: run `npm run build` first' })
  }
  for (const [set, external] of Object.entries(SETS)) {
    for (const [entryName, source] of Object.entries(ENTRIES)) {
      const entry = join(work, `${set}-${entryName.replace(/\W+/g, '-')}.js`)
      await writeFile(entry, source)
      const { upFront, atStart, later } = await bundle(entry, external)
      const row = await measureAll(`${set}, ${entryName}`, upFront)
      const notes = []
      if (set === 'core') notes.push(row.gzip <= CORE_TARGET ? `≤ 15 KB target: ok` : `over the 15 KB target by ${kb(row.gzip - CORE_TARGET)}`)
      for (const chunk of later) notes.push(`+ ${kb(chunk.gzip)} ${chunk.name} on first use`)
      row.note = notes.join('; ')
      rows.push(row)
      const started = await measureAll(`${set}, ${entryName}, at session start`, [...upFront, ...atStart.map((chunk) => chunk.code)])
      started.note = `up front + ${atStart.map((chunk) => `${chunk.name} ${kb(chunk.gzip)}`).join(' + ')}`
      rows.push(started)
    }
  }
} finally {
  await rm(work, { recursive: true, force: true })
}
print(rows)

/**
 * `entry` bundled, with `external` packages (and their subpaths) left as imports: the code
 * loaded up front (the entry chunk and the chunks it imports), what a session's start loads
 * on top of it (`atStart`: the chunks of SESSION_START and those they import), and each
 * other chunk that only an import() loads, by the name of its first module.
 */
async function bundle(entry, external, { modules = false } = {}) {
  const pattern = external.length ? new RegExp(`^(${external.join('|')})(/|$)`) : undefined
  const [output] = await build({
    root: repo,
    configFile: false,
    logLevel: 'silent',
    build: {
      write: false,
      minify: false,
      lib: { entry, formats: ['es'], fileName: () => 'bundle.js' },
      // As in an app's build, whose entry exports nothing: modules the lazy chunks share with
      // the entry go in the entry chunk (lib mode keeps the entry's exports strict, and would
      // put them in a chunk of their own, loaded up front all the same).
      rolldownOptions: { preserveEntrySignatures: 'allow-extension', ...(pattern ? { external: pattern } : {}) },
    },
  })
  const chunks = output.output.filter((item) => item.type === 'chunk')
  const entries = chunks.filter((chunk) => chunk.isEntry)
  if (entries.length !== 1) throw new Error(`expected one entry chunk, got ${entries.length}`)
  const byName = new Map(chunks.map((chunk) => [chunk.fileName, chunk]))
  const reach = (from, into) => {
    const visit = (chunk) => {
      if (into.has(chunk)) return
      into.add(chunk)
      for (const name of chunk.imports) if (byName.has(name)) visit(byName.get(name))
    }
    for (const chunk of from) visit(chunk)
    return into
  }
  const upFront = reach(entries, new Set())
  const started = reach(chunks.filter((chunk) => SESSION_START.some((id) => chunk.moduleIds.includes(id))), new Set(upFront))
  const described = async (chunk) => ({ name: `${chunk.name} chunk`, code: chunk.code, modules: chunk.modules, gzip: (await measure(chunk.name, chunk.code)).gzip })
  const atStart = await Promise.all([...started].filter((chunk) => !upFront.has(chunk)).map(described))
  const later = await Promise.all(chunks.filter((chunk) => !started.has(chunk)).map(described))
  return { upFront: [...upFront].map((chunk) => (modules ? chunk : chunk.code)), atStart, later }
}

/**
 * The core (all exports) module by module: each module of the chunks loaded up front (as
 * `bundle` counts them), minified alone (gzip does not add up per module, so the min+gzip
 * column is the up-front total, shared out by minified size). The lazy chunks follow, each
 * with its modules.
 */
async function byModule() {
  const work = await mkdtemp(join(tmpdir(), 'session-sync-size-'))
  try {
    const entry = join(work, 'core-all-exports.js')
    await writeFile(entry, ENTRIES['all exports'])
    const { upFront, atStart, later } = await bundle(entry, SETS.core, { modules: true })
    const total = await measureAll('core', upFront.map((chunk) => chunk.code))
    const rowsOf = async (chunks) => {
      const modules = []
      for (const chunk of chunks) {
        for (const [id, module] of Object.entries(chunk.modules)) {
          if (module.code) modules.push({ name: id.replace(repo, '').replace(/^.*node_modules\//, 'node_modules/').replace(/^\0/, ''), min: (await measure(id, module.code)).min })
        }
      }
      return modules.sort((a, b) => b.min - a.min)
    }
    const modules = await rowsOf(upFront)
    const sum = modules.reduce((all, m) => all + m.min, 0)
    const lines = [
      '# Core size by module (bench/size.mjs --by-module)',
      '',
      `core, all exports, loaded up front: ${kb(total.min)} min, ${kb(total.gzip)} min+gzip (target 15 KB). Each module minified alone; min+gzip shared out by that.`,
      '',
      '| module | min | share | ≈ min+gzip |',
      '| --- | ---: | ---: | ---: |',
      ...modules.map((m) => `| ${m.name} | ${kb(m.min)} | ${((100 * m.min) / sum).toFixed(1)} % | ${kb((total.gzip * m.min) / sum)} |`),
    ]
    const chunkTable = async (title, chunks) => {
      lines.push('', `${title}, each chunk minified and gzipped alone:`, '', '| chunk | min+gzip | modules (min) |', '| --- | ---: | --- |')
      for (const chunk of chunks) {
        const modulesOf = await rowsOf([chunk])
        lines.push(`| ${chunk.name} | ${kb(chunk.gzip)} | ${modulesOf.map((m) => `${m.name} ${kb(m.min)}`).join(', ')} |`)
      }
    }
    await chunkTable(`Loaded at session start, before \`start()\` or \`join()\` goes on: ${kb(atStart.reduce((sum, chunk) => sum + chunk.gzip, 0))}`, atStart)
    await chunkTable('Loaded on first use', later)
    lines.push('')
    const out = join(repo, 'bench/results/size-by-module.md')
    await writeFile(out, lines.join('\n'))
    console.log(lines.join('\n'))
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

/** A dist file and the chunks it imports statically, transitively. */
async function loadedUpFront(file, seen = new Set()) {
  seen.add(file)
  const code = await readFile(file, 'utf8')
  for (const [, specifier] of code.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s*["'](\.[^"']+)["']/gm)) {
    const target = join(dirname(file), specifier)
    if (!seen.has(target)) await loadedUpFront(target, seen)
  }
  return seen
}

/** Several chunks: each minified and gzipped apart, the sizes added up. */
async function measureAll(name, codes) {
  const parts = await Promise.all(codes.map((code) => measure(name, code)))
  const sum = (key) => parts.reduce((total, part) => total + part[key], 0)
  return { name, raw: sum('raw'), min: sum('min'), gzip: sum('gzip') }
}

async function measure(name, code) {
  const result = await minify('bundle.js', code, { compress: true, mangle: true })
  if (result.errors?.length) throw new Error(`${name}: ${result.errors.map((error) => error.message).join('; ')}`)
  return {
    name,
    raw: Buffer.byteLength(code),
    min: Buffer.byteLength(result.code),
    gzip: gzipSync(result.code, { level: 9 }).length,
  }
}

function kb(bytes) {
  return `${(bytes / 1024).toFixed(1)} KB`
}

function print(table) {
  const header = ['bundle', 'raw', 'min', 'min+gzip', '']
  const lines = table.map((row) =>
    row.raw === undefined ? [row.name, '', '', '', row.note] : [row.name, kb(row.raw), kb(row.min), kb(row.gzip), row.note ?? ''],
  )
  const widths = header.map((_, column) => Math.max(...[header, ...lines].map((line) => line[column].length)))
  const format = (line) => line.map((cell, column) => (column === 0 || column === 4 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join('  ').trimEnd()
  console.log(format(header))
  console.log(widths.map((width) => '-'.repeat(width)).join('  '))
  for (const line of lines) console.log(format(line))
  console.log('\nKB = 1024 bytes. core = without simple-peer and pako; own = without any dependency.')
}
