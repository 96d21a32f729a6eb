/**
 * Following a peer's view: whom, and when to stop. A person who pans or zooms a viewer
 * while following has taken over their own view; following stops at once and says so.
 */
import type { OsdHandler, OsdViewer } from './osd.js'

/** Why following changed: asked for (`follow`, `unfollow`), the person moved a view, the followed peer left, or the host brought everyone to its view. */
export type FollowStopReason = 'requested' | 'local-input' | 'peer-left' | 'summoned'

/** A change of whom this page follows (`follow-changed`). */
export interface FollowChange {
  /** Whom this page follows now: a user id, or null. */
  peerId: string | null
  /** Following whoever is host (the id changes after a failover). */
  host: boolean
  /** Why it stopped or changed. */
  reason: FollowStopReason
}

/** Keys OpenSeadragon navigates with (KeyboardEvent.code): pan, zoom, home, rotate, flip. */
const NAVIGATION_KEYS = new Set([
  'ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'KeyW', 'KeyA', 'KeyS', 'KeyD',
  'Equal', 'Minus', 'NumpadAdd', 'NumpadSubtract', 'Digit0', 'KeyR', 'KeyF',
])

/**
 * Calls `onInput` when the local person moves `viewer`'s view with mouse, touch, wheel or
 * keyboard, in the viewer or its navigator; returns the function that stops listening.
 * Changes made by code (ours included) raise none of these events.
 */
export function onLocalNavigation(viewer: OsdViewer, onInput: () => void): () => void {
  const always: OsdHandler = () => onInput()
  const key: OsdHandler = (event: { originalEvent?: KeyboardEvent; preventDefaultAction?: boolean }) => {
    if (!event.preventDefaultAction && NAVIGATION_KEYS.has(event.originalEvent?.code ?? '')) onInput()
  }
  // A click zooms only where the app lets it (OpenSeadragon's clickToZoom, per pointer type).
  const click: OsdHandler = (event: { quick?: boolean; pointerType?: string }) => {
    if (event.quick && viewer.gestureSettingsByDeviceType?.(event.pointerType ?? 'mouse')?.clickToZoom) onInput()
  }
  const handlers: Array<[string, OsdHandler]> = [
    ['canvas-drag', always], ['canvas-scroll', always], ['canvas-pinch', always], ['canvas-double-click', always],
    ['navigator-drag', always], ['navigator-scroll', always], ['navigator-click', always],
    ['canvas-key', key], ['canvas-click', click],
  ]
  for (const [name, handler] of handlers) viewer.addHandler(name, handler)
  return () => {
    for (const [name, handler] of handlers) viewer.removeHandler(name, handler)
  }
}
