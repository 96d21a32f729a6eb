/**
 * The host's "Bring everyone to my view": every other person's viewers move to what the
 * host sees now (session-sync/openseadragon's `bringEveryoneHere`); each of them is told.
 * Shown to the host only, while someone else is in the session.
 */
import type { SessionSyncController } from '../src/index.js'
import type { OsdSync } from '../src/openseadragon/index.js'
import { $ } from './dom.js'

export function bringHere(session: SessionSyncController, views: OsdSync, notice: (text: string) => void): void {
  const button = $<HTMLButtonElement>('#bring-here')
  const update = () => void (button.hidden = session.getRole() !== 'host' || session.getPeers().length < 2)
  for (const type of ['session-role-changed', 'session-peer-joined', 'session-peer-dropped', 'session-ended'] as const) session.on(type, update)
  button.addEventListener('click', () => {
    if (views.bringEveryoneHere()) notice('You brought everyone to your view')
  })
  update()
}
