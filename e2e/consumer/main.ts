/**
 * A minimal app that uses session-sync the way a consumer would: from the installed
 * package, bundled by a stock Vite build (no config, no plugins, no polyfills).
 * e2e/package.spec.ts copies this folder into a temporary app and drives it through
 * `window.consumer`; the invite and the answer are handed over by the test.
 */
import { SessionSyncController, createWebRtcTransport, installSession } from 'session-sync'
import type { SessionDelta, SessionState, SessionSyncProvider, SessionViewer } from 'session-sync'

interface CounterDelta extends SessionDelta {
  count: number
}

let count = 0
let emit: ((delta: CounterDelta) => void) | null = null
const output = document.querySelector('#count')!

function show(value: number): void {
  count = value
  output.textContent = String(value)
}

/** One global counter: the smallest provider there is. */
const counter: SessionSyncProvider<SessionViewer, { count: number }, CounterDelta> = {
  id: 'counter',
  scope: 'global',
  snapshot: () => ({ count }),
  applySnapshot: (data) => show(data.count),
  subscribe: (next) => {
    emit = next
    return () => {
      emit = null
    }
  },
  applyDelta: (delta) => show(delta.count),
}

const controller = installSession(
  new SessionSyncController({
    transport: createWebRtcTransport({ gatherTimeoutMs: 2_000 }),
    user: { name: new URLSearchParams(location.search).get('name') ?? 'Guest' },
  }),
)
controller.registerProvider(counter)

const states: SessionState[] = []
controller.on('session-state-changed', ({ state }) => states.push(state))

const consumer = {
  /** The controller as the page sees it, through the `session-sync/global` augmentation. */
  state: (): SessionState | undefined => window.SESSION?.getState(),
  states: () => [...states],
  count: () => count,
  start: () => controller.start(),
  invite: async () => (await controller.createInvite()).fragment,
  join: async (fragment: string) => (await controller.join(fragment)).answerCode,
  accept: (answerCode: string) => controller.acceptAnswer(answerCode),
  /** A local change: the host broadcasts it, a guest sends it to the host as an intent. */
  bump: () => {
    show(count + 1)
    emit?.({ count })
  },
}

declare global {
  interface Window {
    consumer: typeof consumer
  }
}
window.consumer = consumer
