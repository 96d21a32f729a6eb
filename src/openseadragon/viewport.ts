/**
 * Viewport sync: each tracked viewer's view (visible rectangle and rotation) as a view
 * delta, at most one per viewer per animation frame. Every peer's latest view is kept (for
 * outlines) and the followed peer's is shown. Showing it moves our viewer, which reports a
 * change like any other: seeing in a frame exactly the view we just showed is that echo, not
 * ours. A follower sends no views, so it withdraws its last one: no outline shows where it no longer looks.
 */
import type { SessionDelta, SessionSyncProvider } from '../index.js'
import { showViewState, type ViewState, viewKey, viewStateOf } from './osd.js'
import { viewStateIn } from './summon.js'
import type { TrackedViewer } from './track.js'

/** One viewer's view, as a view delta; or that the sender's view of it is gone (untracked, destroyed, or it follows someone now). */
export type ViewportDelta = SessionDelta & {
  /** The viewer. */
  viewerId: string
} & ((ViewState & {
  /** Set by the host's "bring everyone here": the number of that summon, the same on each viewer's delta. */
  summon?: number
}) | {
  /** The sender no longer looks at this viewer for itself. */
  gone: true
})

/** What the viewport sync tells its owner. */
export interface ViewportHooks {
  /** Whose view to show now, or null. */
  followed(): string | null
  /** Who hosts now. */
  hostId(): string | undefined
  /** The others' views of this viewer changed (one moved, went, or left). */
  viewsChanged(viewerId: string): void
  /** `from` sent a view marked as summon `n`. */
  summoned(from: string, n: number, viewerId: string, view: ViewState): void
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
    private readonly hooks: ViewportHooks,
  ) {
    this.provider = {
      id: 'osd-viewport',
      scope: 'per-viewer',
      view: true,
      priority: 50,
      snapshot: (viewer) => viewStateOf(viewer!),
      // A joining guest learns where the host is looking (and shows it, when following the host).
      applySnapshot: (view, viewer) => {
        const host = this.hooks.hostId()
        if (host && viewer) this.remember(host, viewer.uniqueId, view)
      },
      subscribe: (emit) => {
        this.emit = emit
        return () => {
          this.emit = null
          const viewerIds = new Set([...this.views.values()].flatMap((views) => [...views.keys()]))
          this.views.clear()
          for (const id of viewerIds) this.hooks.viewsChanged(id)
        }
      },
      applyDelta: (delta, meta) => {
        if ('gone' in delta) return this.forget(meta.origin, delta.viewerId)
        const view = viewStateIn(delta)
        if (!view) return
        this.remember(meta.origin, delta.viewerId, view)
        if (typeof delta.summon === 'number') this.hooks.summoned(meta.origin, delta.summon, delta.viewerId, view)
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
    const followedView = this.viewOf(this.hooks.followed(), id)
    if (followedView) this.show(viewer, followedView)
    return () => {
      viewer.removeHandler('viewport-change', changed)
      const frame = this.frames.get(id)
      if (frame !== undefined) cancelAnimationFrame(frame)
      this.frames.delete(id)
      this.shown.delete(id)
      for (const views of this.views.values()) views.delete(id)
      this.hooks.viewsChanged(id)
      // The others draw where we look in this viewer: that goes with it.
      this.emit?.({ viewerId: id, gone: true })
    }
  }

  /** Following starts: our last views are no longer where we look. */
  withdraw(): void {
    for (const viewer of this.viewers.values()) this.emit?.({ viewerId: viewer.uniqueId, gone: true })
  }

  /** Sends every viewer's view, marked as summon `n`: the host brings everyone to it. */
  summon(n: number): void {
    for (const viewer of this.viewers.values()) this.emit?.({ viewerId: viewer.uniqueId, ...viewStateOf(viewer), summon: n })
  }

  /** Shows a summoned view; unlike a followed one, the view it leaves us at is ours, and is sent. */
  showSummoned(viewerId: string, view: ViewState): void {
    const viewer = this.viewers.get(viewerId)
    if (viewer) showViewState(viewer, view)
  }

  /** The others' latest views of this viewer, by peer id. */
  viewsOf(viewerId: string): Array<[string, ViewState]> {
    return [...this.views].flatMap(([peerId, views]) => {
      const view = views.get(viewerId)
      return view ? [[peerId, view] as [string, ViewState]] : []
    })
  }

  /** Shows the followed peer's latest view in every viewer (following just started or changed). */
  showFollowed(): void {
    for (const viewer of this.viewers.values()) {
      const view = this.viewOf(this.hooks.followed(), viewer.uniqueId)
      if (view) this.show(viewer, view)
    }
  }

  forgetPeer(peerId: string): void {
    const views = this.views.get(peerId)
    this.views.delete(peerId)
    for (const viewerId of views?.keys() ?? []) this.hooks.viewsChanged(viewerId)
  }

  private forget(peerId: string, viewerId: string): void {
    if (this.views.get(peerId)?.delete(viewerId)) this.hooks.viewsChanged(viewerId)
  }

  private remember(peerId: string, viewerId: string, view: ViewState): void {
    let views = this.views.get(peerId)
    if (!views) this.views.set(peerId, (views = new Map()))
    views.set(viewerId, view)
    const viewer = this.viewers.get(viewerId)
    if (viewer && this.hooks.followed() === peerId) this.show(viewer, view)
    this.hooks.viewsChanged(viewerId)
  }

  private viewOf(peerId: string | null, viewerId: string): ViewState | undefined {
    return peerId === null ? undefined : this.views.get(peerId)?.get(viewerId)
  }

  private show(viewer: TrackedViewer, view: ViewState): void {
    showViewState(viewer, view)
    this.shown.set(viewer.uniqueId, viewKey(viewStateOf(viewer)))
  }
}
