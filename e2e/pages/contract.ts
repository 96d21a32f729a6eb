/**
 * Test page for e2e/contract.spec.ts: the contract-written boards of
 * test/helpers/contract-board.ts (per-viewer notes, a global title, a per-viewer pointer
 * registered as a view provider) on a controller made with no arguments.
 */
import { ContractBoard } from '../../test/helpers/contract-board.js'
import { liveSession } from './live.js'

const { session, control } = liveSession()
session.setViewers([{ uniqueId: 'left' }, { uniqueId: 'right' }])
const boards = {
  notes: new ContractBoard('notes', 'per-viewer'),
  title: new ContractBoard('title', 'global'),
  pointer: new ContractBoard('pointer', 'per-viewer', 90),
}
session.registerProvider(boards.notes.provider)
session.registerProvider(boards.title.provider)
session.registerProvider(boards.pointer.provider, { view: true })

export type BoardName = keyof typeof boards

const contract = {
  write: (board: BoardName, key: string, value: string, viewer?: string) => boards[board].write(key, value, viewer),
  notes: (board: BoardName) => Object.fromEntries(boards[board].notes),
  applied: (board: BoardName) => boards[board].applied,
  hold: (board: BoardName) => boards[board].hold(),
  release: (board: BoardName) => boards[board].release(),
}

declare global {
  interface Window {
    contract: typeof contract
  }
}
window.contract = contract
window.live = control
