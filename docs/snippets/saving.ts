import assert from 'node:assert/strict'
import { SessionStateError, SessionSyncController, type SessionFinalSave, type SessionSyncProvider, type SessionViewer } from 'session-sync'
import { MemoryNetwork } from 'session-sync/testing'
import { connect } from './memory-session.js'

const net = new MemoryNetwork()
const shapes = new Map<string, { id: string; kind: string }[]>([['left', [{ id: 's1', kind: 'ellipse' }]]])
const annotations: SessionSyncProvider<SessionViewer, { id: string; kind: string }[]> = {
  id: 'annotations',
  scope: 'per-viewer',
  snapshot: (viewer) => shapes.get(viewer!.uniqueId) ?? [],
  applySnapshot: () => {},
  subscribe: () => () => {},
  applyDelta: () => {},
}
const host = new SessionSyncController({ transport: net.transport('ada'), clock: net.clockFor('ada') })
host.setViewers([{ uniqueId: 'left' }, { uniqueId: 'right' }])
host.registerProvider(annotations)
await host.start()

// An interim save (an export): every provider's state now, and the session goes on.
const save = await host.save()
assert.deepEqual(save.entries, [
  { p: 'annotations', w: 'left', d: [{ id: 's1', kind: 'ellipse' }] },
  { p: 'annotations', w: 'right', d: [] },
])
assert.equal(save.seq, 0) // the host sequence number it reflects

// Guests hold copies; the host owns the document.
const guest = new SessionSyncController({ transport: net.transport('bob'), clock: net.clockFor('bob') })
await connect(net, host, guest)
await assert.rejects(guest.save(), SessionStateError)

// The final save: handed to `session-final-save` listeners (write it where documents live), then the end.
const files: SessionFinalSave[] = []
host.on('session-final-save', (final) => files.push(final))
const final = await host.saveAndEnd()
assert.deepEqual(files, [final])
assert.equal(final.digest, save.digest) // nothing changed in between: the same state, the same digest
assert.equal(host.getState(), 'idle')
