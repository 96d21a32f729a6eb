// @ts-check
/**
 * The API reference (`npm run docs` → docs/api/). Its entry points are the package's own:
 * every `exports` subpath whose types live in dist/ maps back to its source file, so a new
 * entry (e.g. `session-sync/openseadragon`) is documented, and checked, without an edit here.
 * Every export must carry a doc comment: a missing one fails the build (and `npm test`).
 */
import { readFileSync } from 'node:fs'

const manifest = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'))
const entryPoints = Object.values(manifest.exports)
  .map((target) => (typeof target === 'object' ? target.types : undefined))
  .filter((types) => typeof types === 'string' && types.startsWith('./dist/'))
  .map((types) => types.replace(/^\.\/dist\//, './src/').replace(/\.d\.ts$/, '.ts'))

/** @type {Partial<import('typedoc').TypeDocOptions>} */
const config = {
  entryPoints,
  tsconfig: './tsconfig.build.json',
  out: './docs/api',
  name: 'session-sync',
  readme: 'none',
  excludePrivate: true,
  excludeInternal: true,
  validation: { notExported: true, invalidLink: true, notDocumented: true },
  // Internal types that public signatures mention; their shape is shown where they are used.
  intentionallyNotExported: ['InstallTarget', 'AnyController', 'peerInfoSchema', 'OsdHandler',
    'SavedSessions', 'JournalDelta', 'JournalIntent', 'JournalSnapshot', 'JournalEntry', 'JournalSummary'],
  // PeerInfo is inferred from its valibot schema, whose mapped types give each property two
  // declarations: a doc comment on one makes TypeDoc warn of two. The PeerInfo alias documents them.
  // (SessionEventPeer documents its own `color`.)
  intentionallyNotDocumented: [
    ...['SessionPeer', 'SessionEventPeer', 'SessionSyncController.getSelf.__type'].flatMap((owner) =>
      ['id', 'name', 'role', 'access'].map((field) => `session-sync.${owner}.${field}`),
    ),
    'session-sync.SessionSyncController.getSelf.__type.color',
  ],
  treatWarningsAsErrors: true,
  // No links to a source host: a clone may have no remote, or one TypeDoc cannot map.
  disableSources: true,
  githubPages: false,
}

export default config
