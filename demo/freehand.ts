/**
 * Freehand drawing for an OpenSeadragon viewer with Annotorious: press, trace an outline,
 * release, and the stroke becomes a closed polygon shape (the way pathologists outline a
 * region). Annotorious 3 and its tools plugin have no freehand tool, so this is an overlay
 * that catches the pointer while the tool is on; the shape enters Annotorious' store as a
 * LOCAL change, so it syncs, undoes and edits exactly like a drawn rectangle.
 */
import OpenSeadragon from 'openseadragon'
import { nanoid } from 'nanoid'
import { simplifyPolygon, ShapeType, type Polygon } from '@annotorious/annotorious'
import type { ImageAnnotation, OpenSeadragonAnnotator } from '@annotorious/openseadragon'

/** How far (in screen pixels) the simplified outline may stray from the traced one. */
const TOLERANCE_PX = 1.5
/** Shorter strokes are taken for a slip of the hand, not a shape. */
const MIN_EXTENT_PX = 6

const SVG = 'http://www.w3.org/2000/svg'

export interface FreehandTool {
  setEnabled(on: boolean): void
}

export function createFreehandTool(osd: OpenSeadragon.Viewer, anno: OpenSeadragonAnnotator<ImageAnnotation>): FreehandTool {
  const host = osd.element
  const overlay = document.createElementNS(SVG, 'svg')
  overlay.classList.add('freehand-layer')
  overlay.setAttribute('aria-hidden', 'true')
  const trace = document.createElementNS(SVG, 'polyline')
  overlay.append(trace)
  overlay.style.display = 'none'
  host.append(overlay)

  let points: Array<[number, number]> = []
  let pointerId: number | null = null

  const local = (event: PointerEvent): [number, number] => {
    const box = host.getBoundingClientRect()
    return [event.clientX - box.left, event.clientY - box.top]
  }
  const redraw = () => trace.setAttribute('points', points.map((p) => p.join(',')).join(' '))
  const reset = () => {
    points = []
    pointerId = null
    redraw()
  }

  // The overlay swallows the pointer so OpenSeadragon does not pan under the pen; the
  // wheel still reaches the viewer, so zooming works while the tool is on.
  overlay.addEventListener('pointerdown', (event) => {
    if (pointerId !== null || event.button !== 0) return
    event.preventDefault()
    event.stopPropagation()
    pointerId = event.pointerId
    overlay.setPointerCapture(event.pointerId)
    points = [local(event)]
    redraw()
  })
  overlay.addEventListener('pointermove', (event) => {
    if (event.pointerId !== pointerId) return
    event.stopPropagation()
    // Coalesced events keep a fast stroke smooth where the frame rate would drop corners.
    for (const e of event.getCoalescedEvents?.() ?? [event]) points.push(local(e))
    redraw()
  })
  overlay.addEventListener('pointerup', (event) => {
    if (event.pointerId !== pointerId) return
    event.stopPropagation()
    points.push(local(event))
    finish()
  })
  overlay.addEventListener('pointercancel', reset)
  overlay.addEventListener('lostpointercapture', () => pointerId !== null && reset())
  window.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && pointerId !== null) reset()
  })

  function finish(): void {
    const screen = points
    reset()
    const xs = screen.map((p) => p[0])
    const ys = screen.map((p) => p[1])
    if (screen.length < 3 || Math.max(...xs) - Math.min(...xs) + Math.max(...ys) - Math.min(...ys) < MIN_EXTENT_PX) return
    const toImage = (x: number, y: number) => osd.viewport.viewerElementToImageCoordinates(new OpenSeadragon.Point(x, y))
    const image = screen.map(([x, y]) => {
      const p = toImage(x, y)
      return [p.x, p.y]
    })
    const imagePerScreenPx = toImage(1, 0).x - toImage(0, 0).x
    const shape = simplifyPolygon(polygon(image), imagePerScreenPx * TOLERANCE_PX)
    if (shape.geometry.points.length < 3) return
    // nanoid, not crypto.randomUUID: that exists only on secure pages (https, localhost).
    const id = nanoid()
    const creator = anno.getUser()
    const annotation: ImageAnnotation = {
      id,
      bodies: [],
      target: { annotation: id, selector: shape, ...(creator ? { creator } : {}) },
    }
    // LOCAL (the store's default), unlike anno.addAnnotation: this is the user's own drawing.
    anno.state.store.addAnnotation(annotation)
  }

  return {
    setEnabled(on) {
      if (!on) reset()
      overlay.style.display = on ? '' : 'none'
    },
  }
}

function polygon(points: number[][]): Polygon {
  const xs = points.map((p) => p[0]!)
  const ys = points.map((p) => p[1]!)
  return {
    type: ShapeType.POLYGON,
    geometry: { points, bounds: { minX: Math.min(...xs), minY: Math.min(...ys), maxX: Math.max(...xs), maxY: Math.max(...ys) } },
  }
}
