/**
 * A minimal app that uses session-sync the way a consumer would: from the installed
 * package, bundled by a stock Vite build (no config, no plugins, no polyfills).
 * e2e/package.spec.ts copies this folder into a temporary app and drives it through
 * `window.consumer`; the invite and the answer are handed over by the test.
 */
import OpenSeadragon from 'openseadragon'
import { SessionSyncController, installSession } from 'session-sync'
// SessionSyncProvider and SessionViewer are not imported: session-sync/global declares them.
import type { SessionDelta, SessionState } from 'session-sync'
import { trackViewer } from 'session-sync/openseadragon'

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

const params = new URLSearchParams(location.search)
// The three lines that make an OpenSeadragon page collaborative (and the session's start, below).
// `?preload=none`: the session engine loads with start() or join() alone, not in idle time.
const controller = installSession(new SessionSyncController(params.get('preload') === 'none' ? { preload: 'none' } : {}))
const viewer = OpenSeadragon({ element: document.querySelector<HTMLElement>('#slide')!, tileSources: { type: 'image', url: testCard() }, showNavigationControl: false })
trackViewer(viewer)

controller.setUser({ name: params.get('name') ?? 'Guest' })
controller.registerProvider(counter)
const opened = new Promise<void>((resolve) => viewer.addOnceHandler('open', () => resolve()))

/** An image to look at, made here: the app has no assets. */
function testCard(): string {
  const canvas = document.createElement('canvas')
  canvas.width = 800
  canvas.height = 600
  const g = canvas.getContext('2d')!
  g.fillStyle = '#2563eb'
  g.fillRect(0, 0, 800, 600)
  g.fillStyle = '#f59e0b'
  g.fillRect(200, 150, 400, 300)
  return canvas.toDataURL()
}

const states: SessionState[] = []
controller.on('session-state-changed', ({ state }) => states.push(state))
const diagnostics: string[] = []
controller.on('session-diagnostic', ({ code }) => diagnostics.push(code))

const consumer = {
  /** The controller as the page sees it, through the `session-sync/global` augmentation. */
  state: (): SessionState | undefined => window.SESSION?.getState(),
  states: () => [...states],
  diagnostics: () => [...diagnostics],
  /** start(), and its failure as the page sees it (null: it started). */
  tryStart: () => failureOf(controller.start()),
  /** join(), and its failure as the page sees it (null: the answer code is out). */
  tryJoin: (fragment: string) => failureOf(controller.join(fragment)),
  count: () => count,
  start: () => controller.start(),
  invite: async () => (await controller.createInvite()).fragment,
  join: async (fragment: string) => (await controller.join(fragment)).answerCode,
  accept: (answerCode: string) => controller.acceptAnswer(answerCode),
  opened: () => opened,
  /** The viewer's visible rectangle and rotation. */
  view: () => {
    const b = viewer.viewport.getBoundsNoRotate()
    return { x: b.x, y: b.y, w: b.width, h: b.height, r: viewer.viewport.getRotation() }
  },
  /** Zoom and rotate the viewer, by code. */
  turn: () => {
    viewer.viewport.zoomBy(2, undefined, true)
    viewer.viewport.setRotation(90, true)
  },
  /** A local change: the host broadcasts it, a guest sends it to the host as an intent. */
  bump: () => {
    show(count + 1)
    emit?.({ count })
  },
}

/** A call's failure as a page sees it: the error's class name and code; null when it succeeded. */
function failureOf(call: Promise<unknown>): Promise<{ name?: string; code?: string } | null> {
  return call.then(
    () => null,
    (error: { name?: string; code?: string }) => ({ name: error.name, code: error.code }),
  )
}

declare global {
  interface Window {
    consumer: typeof consumer
  }
}
window.consumer = consumer
