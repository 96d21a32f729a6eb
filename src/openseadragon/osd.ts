/**
 * The part of OpenSeadragon (4 to 6) this entry touches, described by shape rather than
 * imported as types, so an app's declarations never depend on which OpenSeadragon types
 * it has; and the few conversions it needs, in one place.
 */
import OpenSeadragon from 'openseadragon'

/** A point, in whichever coordinates the call says. */
export interface OsdPoint {
  /** Horizontal. */
  x: number
  /** Vertical. */
  y: number
}

/** A rectangle: its top-left corner and its size. */
export interface OsdRect extends OsdPoint {
  /** Width. */
  width: number
  /** Height. */
  height: number
}

export type OsdHandler = (event: any) => void

/** A tiled image in the viewer's world, as far as cursors use one. */
export interface OsdTiledImage {
  /** A point in the viewer's element → the image's pixels. */
  viewerElementToImageCoordinates(point: OsdPoint): OsdPoint
  /** A point in the image's pixels → the viewer's element. */
  imageToViewerElementCoordinates(point: OsdPoint): OsdPoint
}

/** An OpenSeadragon Viewer, as far as session sync uses one. */
export interface OsdViewer {
  /** The id session-sync matches viewers by across pages; `trackViewer` sets one when missing. */
  uniqueId?: string
  /** The element the viewer was made in. */
  element: HTMLElement
  /** OpenSeadragon's positioned box inside `element`, where the cursor layer goes. */
  container: HTMLElement
  /** What the viewer shows. */
  viewport: {
    /** The visible rectangle, in viewport coordinates, as if unrotated. */
    getBoundsNoRotate(current?: boolean): OsdRect
    /** The rotation, in degrees. */
    getRotation(current?: boolean): number
    /** Rotates the view. */
    setRotation(degrees: number, immediately?: boolean): unknown
    /** Shows a rectangle. */
    fitBounds(bounds: OsdRect, immediately?: boolean): unknown
  }
  /** The images the viewer holds. */
  world: {
    /** How many. */
    getItemCount(): number
    /** One of them. */
    getItemAt(index: number): OsdTiledImage | undefined
  }
  /** Listens to one of the viewer's events. */
  addHandler(name: string, handler: OsdHandler): unknown
  /** Stops listening. */
  removeHandler(name: string, handler: OsdHandler): unknown
  /** The gesture settings for a kind of device (whether a click zooms). */
  gestureSettingsByDeviceType?(type: string): {
    /** A click zooms. */
    clickToZoom?: boolean
  } | undefined
}

/** What a viewer shows: the unrotated visible rectangle (viewport coordinates) and the rotation in degrees. */
export interface ViewState {
  /** Left edge. */
  x: number
  /** Top edge. */
  y: number
  /** Width. */
  w: number
  /** Height. */
  h: number
  /** Rotation, in degrees. */
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
