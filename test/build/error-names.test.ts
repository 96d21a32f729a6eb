/**
 * The built package keeps its error names: the bundler renames classes (an InviteError
 * was once named 'S' there). Builds the main entry as `npm run build` does, into a
 * temporary folder, and imports it.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build } from 'vite'
import { afterAll, describe, expect, it } from 'vitest'
import { errorInstances, exportedErrorClasses } from '../helpers/errors.js'

const repo = fileURLToPath(new URL('../..', import.meta.url))
let outDir: string | undefined

afterAll(async () => {
  if (outDir) await rm(outDir, { recursive: true, force: true })
})

describe('the built bundle', () => {
  it('names every error class as the source does', async () => {
    outDir = await mkdtemp(join(tmpdir(), 'session-sync-build-'))
    await build({ configFile: join(repo, 'vite.config.ts'), logLevel: 'silent', build: { outDir, sourcemap: false } })
    const built = (await import(pathToFileURL(join(outDir, 'session-sync.js')).href)) as typeof import('../../src/index.js')
    const instances = errorInstances(built)
    expect(instances.map(([name]) => name).sort()).toEqual(exportedErrorClasses(built))
    for (const [name, error] of instances) expect(error.name, `built ${name}`).toBe(name)
  }, 120_000)
})
