/**
 * Test page for e2e/openseadragon.spec.ts: OpenSeadragon 6 viewers made and destroyed on
 * request, each shared with `trackViewer` (session-sync/openseadragon) in a session made
 * with no arguments. The page counts what the entry's providers send and receive, for the
 * echo checks.
 */
import OpenSeadragon from 'openseadragon'
import type { SessionSyncProvider } from '../../src/index.js'
import { type FollowChange, openSeadragonSync, trackViewer } from '../../src/openseadragon/index.js'
import { viewStateOf } from '../../src/openseadragon/osd.js'
import { liveSession } from './live.js'

const { session, control } = liveSession()

/** provider id → deltas this page's providers emitted; and what they were given to apply. */
const sent: Record<string, number> = {}
const received: Array<{ provider: string; origin: string; viewerId: unknown; x?: unknown; y?: unknown }> = []
const register = session.registerProvider.bind(session)
session.registerProvider = (provider: SessionSyncProvider<any, any, any>, options) =>
  register({
    ...provider,
    subscribe: (emit) => provider.subscribe((delta) => {
      sent[provider.id] = (sent[provider.id] ?? 0) + 1
      return emit(delta)
    }),
    applyDelta: (delta, meta) => {
      received.push({ provider: provider.id, origin: meta.origin, viewerId: delta.viewerId, x: delta.x, y: delta.y })
      return provider.applyDelta(delta, meta)
    },
  }, options)

const sync = openSeadragonSync(session)
const follows: FollowChange[] = []
sync.on('follow-changed', (change) => follows.push(change))

/** A 1600 × 1200 test card: a gradient and a grid, so every view of it differs. */
function testCard(): string {
  const canvas = document.createElement('canvas')
  canvas.width = 1600
  canvas.height = 1200
  const g = canvas.getContext('2d')!
  const gradient = g.createLinearGradient(0, 0, 1600, 1200)
  gradient.addColorStop(0, '#1d4ed8')
  gradient.addColorStop(1, '#f59e0b')
  g.fillStyle = gradient
  g.fillRect(0, 0, 1600, 1200)
  g.strokeStyle = '#fff'
  for (let x = 0; x <= 1600; x += 100) g.strokeRect(x, 0, 0, 1200)
  for (let y = 0; y <= 1200; y += 100) g.strokeRect(0, y, 1600, 0)
  return canvas.toDataURL()
}
const card = testCard()
const viewers = new Map<string, OpenSeadragon.Viewer>()

const osd = {
  /** A viewer in a new element with this id, shared in the session; resolves once its image is open. */
  create(id: string): Promise<string> {
    const element = document.createElement('div')
    element.id = id
    element.className = 'viewer'
    document.body.append(element)
    const viewer = OpenSeadragon({ element, tileSources: { type: 'image', url: card }, showNavigationControl: false, animationTime: 0.2 })
    viewers.set(id, viewer)
    const opened = new Promise<void>((resolve) => viewer.addOnceHandler('open', () => resolve()))
    const tracked = trackViewer(viewer)
    return opened.then(() => tracked.uniqueId)
  },
  destroy(id: string): void {
    viewers.get(id)!.destroy()
    viewers.delete(id)
    document.getElementById(id)!.remove()
  },
  view: (id: string) => viewStateOf(viewers.get(id)!),
  /** A change made by code, not by the person: it is shared, and does not stop following. */
  move(id: string, change: { pan?: [number, number]; zoom?: number; rotation?: number }): void {
    const viewport = viewers.get(id)!.viewport
    if (change.rotation !== undefined) viewport.setRotation(change.rotation, true)
    if (change.zoom) viewport.zoomBy(change.zoom, undefined, true)
    if (change.pan) viewport.panBy(new OpenSeadragon.Point(...change.pan), true)
  },
  follow: (peerId: string) => sync.follow(peerId),
  followedId: () => sync.followedId(),
  follows: () => [...follows],
  sent: () => ({ ...sent }),
  received: () => [...received],
  cursors: () => sync.visibleCursors(),
  /** Who else this page knows a view of, in viewer `id`. */
  peerViews: (id: string) => sync.peerViews(id).map((p) => p.peerId),
  /** The label of `peerId`'s cursor over viewer `id`: its text, colour and where it is drawn. */
  cursor(id: string, peerId: string) {
    const el = document.querySelector<HTMLElement>(`#${id} .remote-cursor[data-peer-id="${peerId}"]`)
    if (!el) return null
    const at = new DOMMatrix(getComputedStyle(el).transform)
    return { name: el.querySelector('span')!.textContent, colour: el.style.getPropertyValue('--peer'), x: at.m41, y: at.m42, hidden: el.hidden }
  },
  /** Resolves after two animation frames: whatever a frame would send has been sent. */
  frames: () => new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve()))),
}

declare global {
  interface Window {
    osd: typeof osd
  }
}
window.osd = osd
window.live = control
