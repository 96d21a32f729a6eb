// @ts-check
/**
 * The guide's pages show snippets from docs/snippets/ in blocks marked with the file's name:
 *
 *     <!-- snippet: first-session.ts -->
 *     ```ts
 *     …the file, verbatim…
 *     ```
 *
 * test/docs/snippets.test.ts checks each block against its file. `npm run docs:snippets`
 * (this file run as a script) rewrites every block from its file after a snippet changes.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const SNIPPETS_DIR = 'snippets'
const BLOCK = /<!-- snippet: ([\w.-]+) -->\n```ts\n([\s\S]*?)^```$/gm

/** @param {string} page @returns {Array<{ name: string, code: string }>} */
export function pageSnippets(page) {
  return [...page.matchAll(BLOCK)].map(([, name, code]) => ({ name: String(name), code: String(code) }))
}

/** @param {string} page @param {(name: string) => string} read @returns {string} */
export function withSnippets(page, read) {
  return page.replace(BLOCK, (_block, name) => `<!-- snippet: ${name} -->\n\`\`\`ts\n${read(name)}\`\`\``)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const docs = fileURLToPath(new URL('.', import.meta.url))
  const read = (/** @type {string} */ name) => readFileSync(join(docs, SNIPPETS_DIR, name), 'utf8')
  for (const name of readdirSync(docs).filter((n) => n.endsWith('.md'))) {
    const before = readFileSync(join(docs, name), 'utf8')
    const after = withSnippets(before, read)
    if (after !== before) {
      writeFileSync(join(docs, name), after)
      console.log(`updated docs/${name}`)
    }
  }
}
