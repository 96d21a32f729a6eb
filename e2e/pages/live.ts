/**
 * Page side shared by the contract and OpenSeadragon test pages: one controller made as
 * an app following the published contract makes it (`new SessionSyncController()`, no
 * arguments), installed as `window.SESSION`, with the calls a test drives it by.
 */
import { installSession, SessionSyncController, type SessionDiagnostic, type SessionState } from '../../src/index.js'

export function liveSession() {
  const session = installSession(new SessionSyncController())
  session.setUser({ name: new URLSearchParams(location.search).get('name') ?? 'Guest' })
  const diagnostics: SessionDiagnostic[] = []
  session.addHandler('session-diagnostic', ({ error: _error, ...diagnostic }) => diagnostics.push(diagnostic))
  const control = {
    selfId: () => session.getSelf().id,
    state: (): SessionState => session.getState(),
    role: () => session.getRole(),
    peers: () => session.getPeers().map(({ stats: _stats, ...peer }) => peer),
    diagnostics: () => [...diagnostics],
    notice: () => session.connectivityNotice,
    start: () => session.start(),
    invite: async () => (await session.createInvite()).fragment,
    join: async (fragment: string) => (await session.join(fragment)).answerCode,
    accept: (answerCode: string) => session.acceptAnswer(answerCode),
    leave: () => session.leave(),
  }
  return { session, control }
}

export type LiveControl = ReturnType<typeof liveSession>['control']
