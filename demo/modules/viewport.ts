/**
 * Viewport sync: each viewer's visible rectangle as a VIEW delta (last write wins, no host
 * round trip), at most one per viewer per animation frame. With "follow host" on, a peer
 * shows what the host sees; off, every remote viewport is ignored here.
 */
import OpenSeadragon from 'openseadragon'
import type { SessionDelta } from '../../src/index.js'
import type { DemoViewer } from '../viewers.js'

interface ViewportDelta extends SessionDelta {
  viewerId: string
  /** The visible rectangle in OSD viewport coordinates (image width = 1). */
  x: number
  y: number
  w: number
  h: number
}

export interface ViewportModule {
  connect(): void
  setFollowHost(on: boolean): void
  readonly followHost: boolean
}

export function createViewportModule(viewers: readonly DemoViewer[]): ViewportModule {
  const byId = new Map(viewers.map((v) => [v.uniqueId, v]))
  let followHost = true
  let emit: ((delta: ViewportDelta) => void) | null = null
  /** Host rectangle last seen per viewer, to jump to when follow is turned back on. */
  const lastHostView = new Map<string, ViewportDelta>()
  /** Bounds we set from a remote delta: seeing them again in a frame is our own echo. */
  const applied = new Map<string, string>()
  const queued = new Set<string>()

  const boundsOf = (viewer: DemoViewer) => {
    const b = viewer.osd.viewport.getBounds()
    return { viewerId: viewer.uniqueId, x: b.x, y: b.y, w: b.width, h: b.height }
  }
  const keyOf = (d: { x: number; y: number; w: number; h: number }) => [d.x, d.y, d.w, d.h].map((n) => n.toFixed(6)).join(',')

  // OSD fires viewport-change many times a frame while animating; send one delta per frame.
  for (const viewer of viewers) {
    viewer.osd.addHandler('viewport-change', () => {
      if (!emit || queued.has(viewer.uniqueId)) return
      queued.add(viewer.uniqueId)
      requestAnimationFrame(() => {
        queued.delete(viewer.uniqueId)
        const delta = boundsOf(viewer)
        if (applied.get(viewer.uniqueId) === keyOf(delta)) return
        applied.delete(viewer.uniqueId)
        emit?.({ ...delta, view: true })
      })
    })
  }

  function show(delta: ViewportDelta): void {
    const viewer = byId.get(delta.viewerId)
    if (!viewer) return
    // Immediately: deltas arrive every frame, and an animation would restart on each one.
    viewer.osd.viewport.fitBounds(new OpenSeadragon.Rect(delta.x, delta.y, delta.w, delta.h), true)
    applied.set(viewer.uniqueId, keyOf(boundsOf(viewer)))
  }

  const hostId = () => window.SESSION?.getPeers().find((p) => p.rank === 0)?.id

  return {
    get followHost() {
      return followHost
    },
    setFollowHost(on) {
      followHost = on
      if (!on || window.SESSION?.getRole() === 'host') return
      for (const delta of lastHostView.values()) show(delta)
    },
    connect() {
      window.SESSION?.declareModule({ id: 'viewport', sessionCompatible: 'provider' })
      window.SESSION?.registerProvider({
        id: 'viewport',
        scope: 'per-viewer',
        view: true,
        priority: 50,
        snapshot: (viewer) => boundsOf(byId.get(viewer!.uniqueId)!),
        // Bootstrap: a joining guest starts where the host is looking.
        applySnapshot: (data: ViewportDelta) => {
          lastHostView.set(data.viewerId, data)
          if (followHost) show(data)
        },
        subscribe: (send) => {
          emit = send
          return () => {
            emit = null
            lastHostView.clear()
          }
        },
        applyDelta: (delta: ViewportDelta, meta) => {
          if (meta.origin !== hostId()) return
          lastHostView.set(delta.viewerId, delta)
          if (followHost) show(delta)
        },
      })
    },
  }
}
