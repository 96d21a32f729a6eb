/**
 * Live cursors: where each peer's pointer is over each viewer, as view deltas at ~30 Hz,
 * in image pixel coordinates (the same spot of the slide whatever anyone's zoom, rotation
 * or window size), drawn as an arrow with the peer's name in the peer's colour. A peer's
 * cursors go when the pointer leaves the viewer, when the peer leaves, and when the session ends.
 */
import type { SessionDelta, SessionSyncProvider } from '../index.js'
import { type OsdPoint, toElement, toImage } from './osd.js'
import type { TrackedViewer } from './track.js'

export type CursorDelta = SessionDelta & { viewerId: string } & (OsdPoint | { gone: true })

/** ~30 Hz: smooth enough to follow a pointer, light on the links. */
const INTERVAL_MS = 33

const ARROW = '<svg width="16" height="20" viewBox="0 0 16 20" aria-hidden="true" style="display:block;fill:var(--peer);stroke:#fff;stroke-width:1.2;filter:drop-shadow(0 1px 1px rgba(0,0,0,.3))"><path d="M1 1l13 10-6 1-3 6z"/></svg>'
const LABEL_STYLE = 'position:absolute;left:14px;top:16px;padding:1px 6px;border-radius:4px;background:var(--peer);color:#fff;font:11px/1.4 system-ui,sans-serif;white-space:nowrap'

interface Cursor {
  el: HTMLElement
  at: OsdPoint
}

export interface PeerLabel {
  name: string
  color: string
}

export class CursorSync {
  readonly provider: SessionSyncProvider<TrackedViewer, null, CursorDelta>
  private emit: ((delta: CursorDelta) => void) | null = null
  /** viewer id → peer id → cursor */
  private readonly cursors = new Map<string, Map<string, Cursor>>()
  private readonly layers = new Map<string, HTMLElement>()

  constructor(
    private readonly viewers: ReadonlyMap<string, TrackedViewer>,
    private readonly labelOf: (peerId: string) => PeerLabel,
  ) {
    this.provider = {
      id: 'osd-cursors',
      scope: 'per-viewer',
      view: true,
      priority: 90,
      // A cursor is momentary: nothing to carry over to a joining guest.
      snapshot: () => null,
      applySnapshot: () => {},
      subscribe: (emit) => {
        this.emit = emit
        return () => {
          this.emit = null
        }
      },
      applyDelta: (delta, meta) => this.show(delta, meta.origin),
    }
  }

  /** Sends `viewer`'s pointer and draws the others' on it; returns the function that stops it. */
  attach(viewer: TrackedViewer): () => void {
    const id = viewer.uniqueId
    const layer = document.createElement('div')
    layer.className = 'cursor-layer'
    layer.style.cssText = 'position:absolute;inset:0;pointer-events:none;overflow:hidden;z-index:5'
    viewer.container.appendChild(layer)
    this.layers.set(id, layer)
    this.cursors.set(id, new Map())
    const place = () => {
      for (const cursor of this.cursors.get(id)?.values() ?? []) this.place(viewer, cursor)
    }
    viewer.addHandler('update-viewport', place)
    const stopPointer = this.trackPointer(viewer)
    return () => {
      viewer.removeHandler('update-viewport', place)
      stopPointer()
      layer.remove()
      this.layers.delete(id)
      this.cursors.delete(id)
    }
  }

  /** Remote cursors shown now: viewer id → peer ids. */
  visible(): Record<string, string[]> {
    return Object.fromEntries([...this.cursors].map(([id, cursors]) => [id, [...cursors.keys()]]))
  }

  removePeer(peerId: string): void {
    for (const cursors of this.cursors.values()) remove(cursors, peerId)
  }

  clear(): void {
    for (const cursors of this.cursors.values()) for (const peerId of [...cursors.keys()]) remove(cursors, peerId)
  }

  /** Trailing-edge throttle: the last position in each interval is always sent. */
  private trackPointer(viewer: TrackedViewer): () => void {
    let last = 0
    let timer: ReturnType<typeof setTimeout> | undefined
    let pending: CursorDelta | null = null
    const flush = () => {
      timer = undefined
      last = performance.now()
      if (pending) this.emit?.(pending)
      pending = null
    }
    const queue = (delta: CursorDelta) => {
      if (!this.emit) return
      pending = delta
      const wait = INTERVAL_MS - (performance.now() - last)
      if (wait <= 0) flush()
      else timer ??= setTimeout(flush, wait)
    }
    const el = viewer.element
    const move = (event: PointerEvent) => {
      const box = viewer.container.getBoundingClientRect()
      const at = toImage(viewer, event.clientX - box.left, event.clientY - box.top)
      if (at) queue({ viewerId: viewer.uniqueId, x: at.x, y: at.y })
    }
    const leave = () => queue({ viewerId: viewer.uniqueId, gone: true })
    el.addEventListener('pointermove', move)
    el.addEventListener('pointerleave', leave)
    return () => {
      clearTimeout(timer)
      el.removeEventListener('pointermove', move)
      el.removeEventListener('pointerleave', leave)
    }
  }

  private show(delta: CursorDelta, peerId: string): void {
    const viewer = this.viewers.get(delta.viewerId)
    const cursors = this.cursors.get(delta.viewerId)
    if (!viewer || !cursors) return
    if ('gone' in delta) return remove(cursors, peerId)
    if (typeof delta.x !== 'number' || typeof delta.y !== 'number') return
    let cursor = cursors.get(peerId)
    if (!cursor) {
      const label = this.labelOf(peerId)
      const el = document.createElement('div')
      el.className = 'remote-cursor'
      el.dataset.peerId = peerId
      el.style.cssText = 'position:absolute;left:0;top:0;will-change:transform'
      el.style.setProperty('--peer', label.color)
      el.innerHTML = `${ARROW}<span style="${LABEL_STYLE}"></span>`
      el.querySelector('span')!.textContent = label.name
      this.layers.get(delta.viewerId)!.appendChild(el)
      cursors.set(peerId, (cursor = { el, at: { x: 0, y: 0 } }))
    }
    cursor.at = { x: delta.x, y: delta.y }
    this.place(viewer, cursor)
  }

  private place(viewer: TrackedViewer, cursor: Cursor): void {
    const p = toElement(viewer, cursor.at)
    const inside = !!p && p.x >= 0 && p.y >= 0 && p.x <= viewer.container.clientWidth && p.y <= viewer.container.clientHeight
    if (p) cursor.el.style.transform = `translate(${p.x}px, ${p.y}px)`
    cursor.el.hidden = !inside
  }
}

function remove(cursors: Map<string, Cursor>, peerId: string): void {
  cursors.get(peerId)?.el.remove()
  cursors.delete(peerId)
}
