/**
 * Live cursors: where each peer's pointer is, per viewer, as VIEW deltas throttled to
 * ~30 Hz. Positions travel in viewport coordinates, so they land on the same spot of the
 * image whatever the other peer's window size or zoom.
 */
import OpenSeadragon from 'openseadragon'
import type { SessionDelta } from '../../src/index.js'
import { colourOf } from '../colours.js'
import type { DemoViewer } from '../viewers.js'

type CursorDelta = SessionDelta & { viewerId: string } & ({ x: number; y: number } | { gone: true })

const INTERVAL_MS = 33

interface Cursor {
  el: HTMLElement
  x: number
  y: number
}

export function createCursorsModule(viewers: readonly DemoViewer[]) {
  const byId = new Map(viewers.map((v) => [v.uniqueId, v]))
  /** viewerId → peerId → cursor */
  const cursors = new Map<string, Map<string, Cursor>>()
  const layers = new Map<string, HTMLElement>()
  let emit: ((delta: CursorDelta) => void) | null = null

  for (const viewer of viewers) {
    const layer = document.createElement('div')
    layer.className = 'cursor-layer'
    viewer.osd.element.appendChild(layer)
    layers.set(viewer.uniqueId, layer)
    cursors.set(viewer.uniqueId, new Map())
    viewer.osd.addHandler('update-viewport', () => placeAll(viewer))
    trackPointer(viewer)
  }

  /** Trailing-edge throttle: the last position in each window is always sent. */
  function trackPointer(viewer: DemoViewer): void {
    let last = 0
    let timer: ReturnType<typeof setTimeout> | null = null
    let pending: CursorDelta | null = null
    const flush = () => {
      timer = null
      last = performance.now()
      if (pending) emit?.(pending)
      pending = null
    }
    const queue = (delta: CursorDelta) => {
      if (!emit) return
      pending = delta
      const wait = INTERVAL_MS - (performance.now() - last)
      if (wait <= 0) flush()
      else timer ??= setTimeout(flush, wait)
    }
    const el = viewer.osd.element
    el.addEventListener('pointermove', (event) => {
      const box = el.getBoundingClientRect()
      const p = viewer.osd.viewport.viewerElementToViewportCoordinates(new OpenSeadragon.Point(event.clientX - box.left, event.clientY - box.top))
      queue({ viewerId: viewer.uniqueId, x: p.x, y: p.y })
    })
    el.addEventListener('pointerleave', () => queue({ viewerId: viewer.uniqueId, gone: true }))
  }

  function place(viewer: DemoViewer, cursor: Cursor): void {
    const p = viewer.osd.viewport.viewportToViewerElementCoordinates(new OpenSeadragon.Point(cursor.x, cursor.y))
    const inside = p.x >= 0 && p.y >= 0 && p.x <= viewer.osd.element.clientWidth && p.y <= viewer.osd.element.clientHeight
    cursor.el.style.transform = `translate(${p.x}px, ${p.y}px)`
    cursor.el.hidden = !inside
  }

  function placeAll(viewer: DemoViewer): void {
    for (const cursor of cursors.get(viewer.uniqueId)!.values()) place(viewer, cursor)
  }

  function show(delta: CursorDelta, peerId: string): void {
    const viewer = byId.get(delta.viewerId)
    const map = cursors.get(delta.viewerId)
    if (!viewer || !map) return
    if ('gone' in delta) return removeFrom(map, peerId)
    let cursor = map.get(peerId)
    if (!cursor) {
      const el = document.createElement('div')
      el.className = 'remote-cursor'
      el.dataset.peerId = peerId
      el.style.setProperty('--peer', colourOf(peerId))
      el.innerHTML = '<svg width="16" height="20" viewBox="0 0 16 20" aria-hidden="true"><path d="M1 1l13 10-6 1-3 6z"/></svg><span></span>'
      el.querySelector('span')!.textContent = window.SESSION?.getPeers().find((p) => p.id === peerId)?.name ?? 'peer'
      layers.get(delta.viewerId)!.appendChild(el)
      cursor = { el, x: 0, y: 0 }
      map.set(peerId, cursor)
    }
    cursor.x = delta.x
    cursor.y = delta.y
    place(viewer, cursor)
  }

  function removeFrom(map: Map<string, Cursor>, peerId: string): void {
    map.get(peerId)?.el.remove()
    map.delete(peerId)
  }

  const removePeer = (peerId: string) => {
    for (const map of cursors.values()) removeFrom(map, peerId)
  }
  const clear = () => {
    for (const map of cursors.values()) for (const id of [...map.keys()]) removeFrom(map, id)
  }

  return {
    /** Remote cursors currently shown, for tests: viewerId → peer ids. */
    visible: () => Object.fromEntries([...cursors].map(([id, map]) => [id, [...map.keys()]])),
    connect() {
      const session = window.SESSION
      if (!session) return
      session.declareModule({ id: 'cursors', sessionCompatible: 'provider' })
      session.on('session-peer-dropped', ({ peer }) => removePeer(peer.id))
      session.on('session-ended', clear)
      session.registerProvider({
        id: 'cursors',
        scope: 'per-viewer',
        view: true,
        priority: 90,
        // A cursor is momentary: nothing to carry over to a joining guest.
        snapshot: () => null,
        applySnapshot: () => {},
        subscribe: (send) => {
          emit = send
          return () => {
            emit = null
          }
        },
        applyDelta: (delta: CursorDelta, meta) => show(delta, meta.origin),
      })
    },
  }
}
