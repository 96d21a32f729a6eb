import assert from 'node:assert/strict'
import { InviteTooLongError, SessionSyncController, type SessionDiagnostic, type SessionSyncProvider, type SessionViewer } from 'session-sync'
import { MemoryNetwork } from 'session-sync/testing'

const net = new MemoryNetwork()
const layers = (id: string, state: Record<string, string>): SessionSyncProvider<SessionViewer, Record<string, string>> => ({
  id,
  scope: 'per-viewer',
  snapshot: (viewer) => ({ [viewer!.uniqueId]: state[viewer!.uniqueId] ?? '' }),
  applySnapshot: (data) => { Object.assign(state, data) },
  subscribe: () => () => {},
  applyDelta: () => {},
})

// The host's page: two viewers, a per-viewer provider, and a small `provision` that makes the link long.
const host = new SessionSyncController({
  transport: net.transport('ada'),
  clock: net.clockFor('ada'),
  baseUrl: 'https://viewer.example/slides/7',
  maxInviteUrlLength: 160, // 2,000 by default; some chat apps cut links shorter
  provision: () => ({ plugins: ['annotations', 'layers', 'measure', 'heatmap', 'scale-bar', 'export'], theme: 'dark' }),
})
host.setViewers([{ uniqueId: 'left' }, { uniqueId: 'right' }])
host.registerProvider(layers('layers', { left: 'H&E', right: 'Ki-67' }))
await host.start()

// "The invite is too long for a link": the code itself still works, pasted into the guest's join field.
const tooLong = await host.createInvite().catch((error: unknown) => error)
assert.ok(tooLong instanceof InviteTooLongError)
const code = tooLong.invite.code

// "The guest joined but sees nothing": its page named the provider differently and set no viewers.
const guestState: Record<string, string> = {}
const guest = new SessionSyncController({ transport: net.transport('bob'), clock: net.clockFor('bob') })
guest.registerProvider(layers('layer-stack', guestState))
const diagnostics: SessionDiagnostic[] = []
guest.on('session-diagnostic', (d) => diagnostics.push(d))
const { answerCode } = await guest.join(code)
const accepted = host.acceptAnswer(answerCode)
await net.clock.advance(200)
await accepted
await net.clock.advance(200)
assert.equal(guest.getState(), 'connected')
assert.deepEqual(guestState, {})
assert.deepEqual(diagnostics.map((d) => `${d.code} ${d.providerId}`), ['unknown-provider layers', 'unknown-provider layers'])
// The fix: the same provider ids and the same viewer ids on every page, before join().
await host.end()
