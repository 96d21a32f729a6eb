/**
 * The two OpenSeadragon viewers of the demo, each with its procedural layer stack and an
 * Annotorious annotator. `uniqueId` is what the session controller keys per-viewer state on.
 */
import OpenSeadragon from 'openseadragon'
import { createOSDAnnotator, type ImageAnnotation, type OpenSeadragonAnnotator } from '@annotorious/openseadragon'
import '@annotorious/openseadragon/annotorious-openseadragon.css'
import { mountPlugin as mountExtraTools } from '@annotorious/plugin-tools'
import '@annotorious/plugin-tools/annotorious-plugin-tools.css'
import { createFreehandTool, type FreehandTool } from './freehand.js'
import { LAYERS, proceduralTileSource, type LayerId, type ProceduralSource } from './tiles.js'
import { colourOf } from './colours.js'

export interface DemoViewer {
  readonly uniqueId: string
  readonly title: string
  readonly osd: OpenSeadragon.Viewer
  readonly anno: OpenSeadragonAnnotator<ImageAnnotation>
  /** Annotorious has no freehand tool: this one is ours (freehand.ts). */
  readonly freehand: FreehandTool
  /** Resolves once every layer is in the world. */
  readonly ready: Promise<void>
  /** The tiled image showing a layer. */
  layer(id: LayerId): OpenSeadragon.TiledImage | undefined
}

export function createViewer(element: HTMLElement, uniqueId: string, title: string, seed: number): DemoViewer {
  const osd = OpenSeadragon({
    element,
    // The canvas drawer honours every compositeOperation; the blend modes are the point.
    drawer: 'canvas',
    // The layers are stacked exactly on top of each other, so the viewport's image
    // coordinates (which Annotorious uses) are exact, and OSD's warning is noise.
    silenceMultiImageWarnings: true,
    // No button images: the demo ships no assets and draws its own controls.
    showNavigationControl: false,
    showNavigator: true,
    navigatorPosition: 'BOTTOM_RIGHT',
    navigatorSizeRatio: 0.16,
    gestureSettingsMouse: { clickToZoom: false },
    visibilityRatio: 0.5,
    maxZoomPixelRatio: 2,
    animationTime: 0.6,
    tileSources: LAYERS.map((layer) => ({
      tileSource: proceduralTileSource(layer.id, seed),
      opacity: layer.opacity,
      compositeOperation: layer.blend,
    })) as unknown as OpenSeadragon.Options['tileSources'],
  })
  // OSD's canvas is in the tab order and takes arrow keys / WASD (pan), + and − (zoom), 0 (home).
  osd.canvas.setAttribute('role', 'application')
  osd.canvas.setAttribute('aria-label', `${title}: arrow keys pan, plus and minus zoom, 0 fits the slide`)
  const ready = new Promise<void>((resolve) => {
    const check = () => {
      if (osd.world.getItemCount() >= LAYERS.length) {
        osd.world.removeHandler('add-item', check)
        resolve()
      }
    }
    osd.world.addHandler('add-item', check)
    check()
  })
  const anno = createOSDAnnotator<ImageAnnotation>(osd, {
    drawingEnabled: false,
    drawingMode: 'drag',
    autoSave: true,
    // Each shape takes the colour of whoever drew it, the same colour as their cursor.
    style: (annotation) => {
      const colour = colourOf(annotation.target.creator?.id ?? '')
      return { fill: colour, fillOpacity: 0.18, stroke: colour, strokeOpacity: 1, strokeWidth: 2 }
    },
  })
  // Annotorious puts its shape layer in the tab order (Delete and Escape work on a selected shape): name it.
  osd.element.querySelectorAll('svg.a9s-annotationlayer').forEach((layer) => layer.setAttribute('aria-label', `Shapes on ${title}`))
  // Ellipse (and line, path) come from Annotorious' own tools plugin.
  mountExtraTools(anno)
  return {
    uniqueId,
    title,
    osd,
    anno,
    freehand: createFreehandTool(osd, anno),
    ready,
    layer(id) {
      for (let i = 0; i < osd.world.getItemCount(); i++) {
        const item = osd.world.getItemAt(i)
        if ((item.source as unknown as ProceduralSource).layerId === id) return item
      }
      return undefined
    },
  }
}
