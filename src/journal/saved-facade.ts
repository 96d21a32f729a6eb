/**
 * `controller.saved`: the saved-session ledger, loaded with its first call (the code and
 * its record validation stay out of a page that never uses it).
 */
import type { SavedSessions, SavedSessionsHost } from './saved-sessions.js'

/** Sessions saved by name in this browser profile (`controller.saved`): `list`, `saveAs`, `open`, `importFile`, `clone`, `remove`, `clear`. */
export type SavedSessionsApi = Pick<SavedSessions, 'list' | 'saveAs' | 'open' | 'importFile' | 'clone' | 'remove' | 'clear'>

export function lazySavedSessions(host: SavedSessionsHost): SavedSessionsApi {
  let loaded: Promise<SavedSessions> | undefined
  const ledger = () => (loaded ??= import('./saved-sessions.js').then(({ SavedSessions }) => new SavedSessions(host)))
  return {
    list: () => ledger().then((l) => l.list()),
    saveAs: (name) => ledger().then((l) => l.saveAs(name)),
    open: (name) => ledger().then((l) => l.open(name)),
    importFile: (file, name) => ledger().then((l) => l.importFile(file, name)),
    clone: (name, newName) => ledger().then((l) => l.clone(name, newName)),
    remove: (name) => ledger().then((l) => l.remove(name)),
    clear: () => ledger().then((l) => l.clear()),
  }
}
