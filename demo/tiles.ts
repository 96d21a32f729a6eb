/**
 * Procedural deep-zoom slides: no network, no image files. Each layer is an OpenSeadragon
 * custom TileSource whose `downloadTileStart` paints the tile on a canvas and hands it back
 * as a `context2d` (OSD 6's data-type API). Everything is a pure function of (slide seed,
 * layer, image coordinates), so every peer renders the same pixels at every zoom level.
 */
import type OpenSeadragon from 'openseadragon'

export type LayerId = 'tissue' | 'nuclei' | 'marker'

export interface LayerDefinition {
  id: LayerId
  label: string
  /** Blend mode the layer starts with. */
  blend: GlobalCompositeOperation
  opacity: number
}

export const LAYERS: readonly LayerDefinition[] = [
  { id: 'tissue', label: 'Tissue (eosin)', blend: 'source-over', opacity: 1 },
  { id: 'nuclei', label: 'Nuclei (hematoxylin)', blend: 'multiply', opacity: 0.9 },
  { id: 'marker', label: 'Marker (DAB)', blend: 'multiply', opacity: 0.8 },
]

/** 65 536 × 49 152 px at full resolution: 17 pyramid levels of 256 px tiles. */
export const IMAGE_WIDTH = 1 << 16
export const IMAGE_HEIGHT = 3 << 14
const TILE = 256
const MAX_LEVEL = 16
/** Nuclei sit on a jittered grid of this pitch (full-resolution px). */
const CELL = 48
/** Below this on-screen cell pitch, nuclei are painted as a density haze instead. */
const MIN_CELL_PX = 6
/** Samples per tile side for the noise fields (upscaled with smoothing). */
const SAMPLES = 64

/** The data OSD keeps about our tiles: which layer of which slide. */
export interface ProceduralSource {
  layerId: LayerId
  seed: number
}

/** An inline tile-source spec OSD turns into a TileSource (see "custom tile sources"). */
export function proceduralTileSource(layerId: LayerId, seed: number): object {
  return {
    layerId,
    seed,
    width: IMAGE_WIDTH,
    height: IMAGE_HEIGHT,
    tileSize: TILE,
    tileOverlap: 0,
    minLevel: 0,
    maxLevel: MAX_LEVEL,
    // The "URL" is only a cache key: OSD caches tiles by it.
    getTileUrl: (level: number, x: number, y: number) => `procedural:${seed}/${layerId}/${level}/${x}/${y}`,
    hasTransparency: () => layerId !== 'tissue',
    downloadTileStart(job: OpenSeadragon.ImageJob) {
      const { level, x, y } = job.tile
      job.finish(paintTile(layerId, seed, level, x, y), null, 'context2d')
    },
    downloadTileAbort() {},
  }
}

function paintTile(layer: LayerId, seed: number, level: number, tx: number, ty: number): CanvasRenderingContext2D {
  const scale = 2 ** (level - MAX_LEVEL) // screen px per image px at this level
  const span = TILE / scale // image px covered by one tile side
  const x0 = tx * span
  const y0 = ty * span
  const canvas = document.createElement('canvas')
  canvas.width = TILE
  canvas.height = TILE
  const ctx = canvas.getContext('2d', { willReadFrequently: false })!
  if (layer === 'tissue') paintField(ctx, x0, y0, span, (x, y) => tissueColour(seed, x, y))
  else if (CELL * scale < MIN_CELL_PX) paintField(ctx, x0, y0, span, (x, y) => hazeColour(layer, seed, x, y))
  else paintCells(ctx, layer, seed, x0, y0, scale)
  return ctx
}

type Rgba = [number, number, number, number]

/** Samples a colour field on a coarse grid and scales it up: cheap and smooth. */
function paintField(ctx: CanvasRenderingContext2D, x0: number, y0: number, span: number, colourAt: (x: number, y: number) => Rgba): void {
  const small = document.createElement('canvas')
  small.width = SAMPLES
  small.height = SAMPLES
  const sctx = small.getContext('2d')!
  const image = sctx.createImageData(SAMPLES, SAMPLES)
  const step = span / SAMPLES
  for (let j = 0; j < SAMPLES; j++) {
    for (let i = 0; i < SAMPLES; i++) {
      const [r, g, b, a] = colourAt(x0 + (i + 0.5) * step, y0 + (j + 0.5) * step)
      const k = (j * SAMPLES + i) * 4
      image.data[k] = r
      image.data[k + 1] = g
      image.data[k + 2] = b
      image.data[k + 3] = a
    }
  }
  sctx.putImageData(image, 0, 0)
  ctx.imageSmoothingEnabled = true
  ctx.drawImage(small, 0, 0, TILE, TILE)
}

function paintCells(ctx: CanvasRenderingContext2D, layer: LayerId, seed: number, x0: number, y0: number, scale: number): void {
  const span = TILE / scale
  const first = { i: Math.floor(x0 / CELL) - 1, j: Math.floor(y0 / CELL) - 1 }
  const last = { i: Math.ceil((x0 + span) / CELL) + 1, j: Math.ceil((y0 + span) / CELL) + 1 }
  ctx.lineWidth = Math.max(1, 3 * scale)
  for (let j = first.j; j <= last.j; j++) {
    for (let i = first.i; i <= last.i; i++) {
      const cell = cellAt(layer, seed, i, j)
      if (!cell) continue
      const cx = (cell.x - x0) * scale
      const cy = (cell.y - y0) * scale
      ctx.beginPath()
      ctx.ellipse(cx, cy, cell.rx * scale, cell.ry * scale, cell.angle, 0, Math.PI * 2)
      if (layer === 'nuclei') {
        ctx.fillStyle = `rgba(72, 48, 150, ${cell.shade})`
        ctx.fill()
      } else {
        // Membrane marker: a brown ring around the cell.
        ctx.strokeStyle = `rgba(150, 88, 30, ${cell.shade})`
        ctx.stroke()
        ctx.fillStyle = `rgba(190, 130, 60, ${cell.shade * 0.35})`
        ctx.fill()
      }
    }
  }
}

interface Cell {
  x: number
  y: number
  rx: number
  ry: number
  angle: number
  shade: number
}

function cellAt(layer: LayerId, seed: number, i: number, j: number): Cell | null {
  const x = (i + 0.15 + 0.7 * hash(i, j, seed * 7 + 1)) * CELL
  const y = (j + 0.15 + 0.7 * hash(i, j, seed * 7 + 2)) * CELL
  const tissue = tissueMask(seed, x, y)
  if (tissue <= 0 || hash(i, j, seed * 7 + 3) > tissue * 0.85) return null
  if (layer === 'marker' && markerField(seed, x, y) < 0.55) return null
  const size = layer === 'marker' ? 17 : 11
  return {
    x,
    y,
    rx: size * (0.75 + 0.5 * hash(i, j, seed * 7 + 4)),
    ry: size * (0.6 + 0.4 * hash(i, j, seed * 7 + 5)),
    angle: Math.PI * hash(i, j, seed * 7 + 6),
    shade: 0.55 + 0.4 * hash(i, j, seed * 7 + 8),
  }
}

/** 0 outside tissue, rising to 1 a little way inside its edge. */
function tissueMask(seed: number, x: number, y: number): number {
  const n = fbm(seed, x / 14000, y / 14000, 4)
  // Keep a margin of glass around the specimen.
  const ex = Math.min(x, IMAGE_WIDTH - x) / IMAGE_WIDTH
  const ey = Math.min(y, IMAGE_HEIGHT - y) / IMAGE_HEIGHT
  const margin = Math.min(1, Math.min(ex, ey) * 8)
  return clamp01(((n - 0.42) / 0.08) * margin)
}

function markerField(seed: number, x: number, y: number): number {
  return fbm(seed + 101, x / 5000, y / 5000, 3)
}

function tissueColour(seed: number, x: number, y: number): Rgba {
  const mask = tissueMask(seed, x, y)
  const fibre = fbm(seed + 33, x / 900, y / 900, 4)
  const glass: Rgba = [246, 244, 248, 255]
  const eosin: Rgba = [236 - 40 * fibre, 150 + 40 * fibre, 190 + 25 * fibre, 255]
  return mix(glass, eosin, mask)
}

function hazeColour(layer: LayerId, seed: number, x: number, y: number): Rgba {
  const mask = tissueMask(seed, x, y)
  if (layer === 'nuclei') return [72, 48, 150, 255 * mask * (0.35 + 0.25 * fbm(seed + 7, x / 1500, y / 1500, 3))]
  const m = clamp01((markerField(seed, x, y) - 0.55) / 0.15)
  return [150, 88, 30, 255 * mask * m * 0.6]
}

// ---- small deterministic noise ----

function hash(i: number, j: number, seed: number): number {
  let h = Math.imul(i | 0, 374761393) ^ Math.imul(j | 0, 668265263) ^ Math.imul(seed | 0, 2147483647)
  h = Math.imul(h ^ (h >>> 13), 1274126177)
  h ^= h >>> 16
  return (h >>> 0) / 4294967296
}

function valueNoise(seed: number, x: number, y: number): number {
  const i = Math.floor(x)
  const j = Math.floor(y)
  const fx = smooth(x - i)
  const fy = smooth(y - j)
  const a = hash(i, j, seed)
  const b = hash(i + 1, j, seed)
  const c = hash(i, j + 1, seed)
  const d = hash(i + 1, j + 1, seed)
  return a + (b - a) * fx + (c - a) * fy + (a - b - c + d) * fx * fy
}

function fbm(seed: number, x: number, y: number, octaves: number): number {
  let sum = 0
  let amplitude = 0.5
  let norm = 0
  for (let o = 0; o < octaves; o++) {
    sum += amplitude * valueNoise(seed + o * 13, x, y)
    norm += amplitude
    x *= 2.03
    y *= 2.03
    amplitude *= 0.5
  }
  return sum / norm
}

const smooth = (t: number) => t * t * (3 - 2 * t)
const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v)
const mix = (a: Rgba, b: Rgba, t: number): Rgba => [0, 1, 2, 3].map((k) => a[k]! + (b[k]! - a[k]!) * t) as Rgba
