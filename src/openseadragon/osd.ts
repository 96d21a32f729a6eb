/**
 * The part of OpenSeadragon (4 to 6) this entry touches, described by shape rather than
 * imported as types, so an app's declarations never depend on which OpenSeadragon types
 * it has; and the few conversions it needs, in one place.
 */
import OpenSeadragon from 'openseadragon'

export interface OsdPoint {
  x: number
  y: number
}

export interface OsdRect extends OsdPoint {
  width: number
  height: number
}

export type OsdHandler = (event: any) => void

export interface OsdTiledImage {
  viewerElementToImageCoordinates(point: OsdPoint): OsdPoint
  imageToViewerElementCoordinates(point: OsdPoint): OsdPoint
}

/** An OpenSeadragon Viewer, as far as session sync uses one. */
export interface OsdViewer {
  /** The id session-sync matches viewers by across pages; `trackViewer` sets one when missing. */
  uniqueId?: string
  element: HTMLElement
  /** OpenSeadragon's positioned box inside `element`, where the cursor layer goes. */
  container: HTMLElement
  viewport: {
    getBoundsNoRotate(current?: boolean): OsdRect
    getRotation(current?: boolean): number
    setRotation(degrees: number, immediately?: boolean): unknown
    fitBounds(bounds: OsdRect, immediately?: boolean): unknown
  }
  world: {
    getItemCount(): number
    getItemAt(index: number): OsdTiledImage | undefined
  }
  addHandler(name: string, handler: OsdHandler): unknown
  removeHandler(name: string, handler: OsdHandler): unknown
  gestureSettingsByDeviceType?(type: string): { clickToZoom?: boolean } | undefined
}

/** What a viewer shows: the unrotated visible rectangle (viewport coordinates) and the rotation in degrees. */
export interface ViewState {
  x: number
  y: number
  w: number
  h: number
  r: number
}

export function viewStateOf(viewer: OsdViewer): ViewState {
  const b = viewer.viewport.getBoundsNoRotate()
  return { x: b.x, y: b.y, w: b.width, h: b.height, r: viewer.viewport.getRotation() }
}

/** Shows `view` at once (frames arrive every animation frame: an animation would restart on each). */
export function showViewState(viewer: OsdViewer, view: ViewState): void {
  viewer.viewport.setRotation(view.r, true)
  // Rotated as the sender's is, the rectangle fills this viewer however its aspect differs.
  viewer.viewport.fitBounds(new OpenSeadragon.Rect(view.x, view.y, view.w, view.h).rotate(-view.r), true)
}

/** Two states that would look the same: rounding noise is not a change. */
export function viewKey(view: ViewState): string {
  return [view.x, view.y, view.w, view.h, view.r].map((n) => n.toFixed(6)).join(',')
}

/** A point in the viewer's element → the first image's pixel coordinates (undefined until an image is open). */
export function toImage(viewer: OsdViewer, x: number, y: number): OsdPoint | undefined {
  const p = viewer.world.getItemCount() ? viewer.world.getItemAt(0)?.viewerElementToImageCoordinates(new OpenSeadragon.Point(x, y)) : undefined
  return p && { x: p.x, y: p.y }
}

export function toElement(viewer: OsdViewer, point: OsdPoint): OsdPoint | undefined {
  const p = viewer.world.getItemCount() ? viewer.world.getItemAt(0)?.imageToViewerElementCoordinates(new OpenSeadragon.Point(point.x, point.y)) : undefined
  return p && { x: p.x, y: p.y }
}
