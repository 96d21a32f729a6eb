import { SessionSyncController, createWebRtcTransport, installSession } from 'session-sync'

// One controller per page, installed as window.SESSION (it also says goodbye on pagehide).
// With no options it uses WebRTC with no ICE servers: peers on the same network only.
const session = installSession(new SessionSyncController({
  transport: createWebRtcTransport({ iceServers: [{ urls: 'stun:stun.example.org:3478' }] }),
  user: { name: 'Ada' },
}))

let title = 'Untitled'
session.registerProvider({
  id: 'title',
  scope: 'global',
  snapshot: () => title,
  applySnapshot: (data: string) => { title = data },
  subscribe: () => () => {}, // a real module calls emit(delta) on every local change
  applyDelta: (delta) => { title = String(delta.title) },
})

await session.start()
console.assert(session.getRole() === 'host' && session.getState() === 'hosting')
// Host: const invite = await session.createInvite(), send invite.url, then
// await session.acceptAnswer(codeTheGuestSentBack). Guest: await session.join(location.href).
await session.leave()
