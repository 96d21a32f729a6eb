/**
 * Viewport sync: each tracked viewer's view (visible rectangle and rotation) as a view
 * delta, at most one per viewer per animation frame. Every peer's latest view is kept;
 * only the followed peer's is shown. Showing it moves our viewer, which reports a change
 * like any other: seeing in a frame exactly the view we just showed is that echo, not ours.
 */
import type { SessionDelta, SessionSyncProvider } from '../index.js'
import { showViewState, type ViewState, viewKey, viewStateOf } from './osd.js'
import type { TrackedViewer } from './track.js'

export interface ViewportDelta extends SessionDelta, ViewState {
  viewerId: string
}

export class ViewportSync {
  readonly provider: SessionSyncProvider<TrackedViewer, ViewState, ViewportDelta>
  private emit: ((delta: ViewportDelta) => void) | null = null
  /** peer id → viewer id → the view that peer showed last. */
  private readonly views = new Map<string, Map<string, ViewState>>()
  /** viewer id → the view we showed from a peer. */
  private readonly shown = new Map<string, string>()
  /** viewer id → its pending animation frame. */
  private readonly frames = new Map<string, number>()

  constructor(
    private readonly viewers: ReadonlyMap<string, TrackedViewer>,
    /** Whose view to show now, or null. */
    private readonly followed: () => string | null,
    private readonly hostId: () => string | undefined,
  ) {
    this.provider = {
      id: 'osd-viewport',
      scope: 'per-viewer',
      view: true,
      priority: 50,
      snapshot: (viewer) => viewStateOf(viewer!),
      // A joining guest learns where the host is looking (and shows it, when following the host).
      applySnapshot: (view, viewer) => {
        const host = this.hostId()
        if (host && viewer) this.remember(host, viewer.uniqueId, view)
      },
      subscribe: (emit) => {
        this.emit = emit
        return () => {
          this.emit = null
          this.views.clear()
        }
      },
      applyDelta: (delta, meta) => {
        this.remember(meta.origin, delta.viewerId, { x: delta.x, y: delta.y, w: delta.w, h: delta.h, r: delta.r })
      },
    }
  }

  /** Reports `viewer`'s changes; returns the function that stops it. */
  attach(viewer: TrackedViewer): () => void {
    const id = viewer.uniqueId
    // OpenSeadragon raises viewport-change many times a frame while animating: one delta per frame.
    const changed = () => {
      if (!this.emit || this.frames.has(id)) return
      this.frames.set(id, requestAnimationFrame(() => {
        this.frames.delete(id)
        const view = viewStateOf(viewer)
        if (this.shown.get(id) === viewKey(view)) return
        this.shown.delete(id)
        this.emit?.({ viewerId: id, ...view })
      }))
    }
    viewer.addHandler('viewport-change', changed)
    const followedView = this.viewOf(this.followed(), id)
    if (followedView) this.show(viewer, followedView)
    return () => {
      viewer.removeHandler('viewport-change', changed)
      const frame = this.frames.get(id)
      if (frame !== undefined) cancelAnimationFrame(frame)
      this.frames.delete(id)
      this.shown.delete(id)
      for (const views of this.views.values()) views.delete(id)
    }
  }

  /** Shows the followed peer's latest view in every viewer (following just started or changed). */
  showFollowed(): void {
    for (const viewer of this.viewers.values()) {
      const view = this.viewOf(this.followed(), viewer.uniqueId)
      if (view) this.show(viewer, view)
    }
  }

  forgetPeer(peerId: string): void {
    this.views.delete(peerId)
  }

  private remember(peerId: string, viewerId: string, view: ViewState): void {
    let views = this.views.get(peerId)
    if (!views) this.views.set(peerId, (views = new Map()))
    views.set(viewerId, view)
    const viewer = this.viewers.get(viewerId)
    if (viewer && this.followed() === peerId) this.show(viewer, view)
  }

  private viewOf(peerId: string | null, viewerId: string): ViewState | undefined {
    return peerId === null ? undefined : this.views.get(peerId)?.get(viewerId)
  }

  private show(viewer: TrackedViewer, view: ViewState): void {
    showViewState(viewer, view)
    this.shown.set(viewer.uniqueId, viewKey(viewStateOf(viewer)))
  }
}
