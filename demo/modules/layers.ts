/**
 * Layer sync, GLOBAL scope: the stain stack is the same in both viewers, so one setting
 * (visibility, opacity, blend mode, order) applies to every viewer. Deltas carry absolute
 * values (never "+0.1" or "move up"), so a replayed delta changes nothing.
 */
import type { SessionDelta } from '../../src/index.js'
import { LAYERS, type LayerId } from '../tiles.js'
import type { DemoViewer } from '../viewers.js'

export interface LayerState {
  id: LayerId
  visible: boolean
  opacity: number
  blend: GlobalCompositeOperation
}

type LayerDelta = SessionDelta &
  (
    | { op: 'set'; layer: LayerId; visible?: boolean; opacity?: number; blend?: GlobalCompositeOperation }
    | { op: 'order'; order: LayerId[] }
  )

export const BLEND_MODES: readonly GlobalCompositeOperation[] = ['source-over', 'multiply', 'screen', 'overlay', 'darken', 'lighten', 'difference', 'lighter']

export function createLayersModule(viewers: readonly DemoViewer[]) {
  /** Bottom to top. */
  let layers: LayerState[] = LAYERS.map((l) => ({ id: l.id, visible: true, opacity: l.opacity, blend: l.blend }))
  let emit: ((delta: LayerDelta) => void) | null = null
  const listeners = new Set<() => void>()

  function render(): void {
    for (const viewer of viewers) {
      layers.forEach((layer, index) => {
        const item = viewer.layer(layer.id)
        if (!item) return
        item.setOpacity(layer.visible ? layer.opacity : 0)
        item.setCompositeOperation(layer.blend)
        if (viewer.osd.world.getIndexOfItem(item) !== index) viewer.osd.world.setItemIndex(item, index)
      })
    }
    listeners.forEach((fn) => fn())
  }

  /** Applies a delta; false when it changes nothing (a replay, or a refused value). */
  function apply(delta: LayerDelta): boolean {
    if (delta.op === 'order') {
      const order = delta.order
      const valid = order.length === layers.length && layers.every((l) => order.includes(l.id))
      if (!valid || order.every((id, i) => layers[i]!.id === id)) return false
      layers = order.map((id) => layers.find((l) => l.id === id)!)
    } else {
      const layer = layers.find((l) => l.id === delta.layer)
      if (!layer) return false
      const next: LayerState = {
        ...layer,
        ...(typeof delta.visible === 'boolean' ? { visible: delta.visible } : {}),
        ...(typeof delta.opacity === 'number' ? { opacity: Math.min(1, Math.max(0, delta.opacity)) } : {}),
        ...(delta.blend && BLEND_MODES.includes(delta.blend) ? { blend: delta.blend } : {}),
      }
      if (next.visible === layer.visible && next.opacity === layer.opacity && next.blend === layer.blend) return false
      Object.assign(layer, next)
    }
    render()
    return true
  }

  /** A local change: applied here at once, then sent (to the host, as an intent, on a guest). */
  function change(delta: LayerDelta): void {
    if (apply(delta)) emit?.(delta)
  }

  // Tiled images arrive asynchronously; give each its settings as soon as it is there.
  for (const viewer of viewers) void viewer.ready.then(render)

  return {
    state: (): LayerState[] => layers.map((l) => ({ ...l })),
    onChange(fn: () => void) {
      listeners.add(fn)
      return () => listeners.delete(fn)
    },
    setVisible: (layer: LayerId, visible: boolean) => change({ op: 'set', layer, visible }),
    setOpacity: (layer: LayerId, opacity: number) => change({ op: 'set', layer, opacity }),
    setBlend: (layer: LayerId, blend: GlobalCompositeOperation) => change({ op: 'set', layer, blend }),
    /** Moves a layer one step up (+1) or down (-1) the stack. */
    move(layer: LayerId, step: 1 | -1) {
      const order = layers.map((l) => l.id)
      const from = order.indexOf(layer)
      const to = from + step
      if (from < 0 || to < 0 || to >= order.length) return
      ;[order[from], order[to]] = [order[to]!, order[from]!]
      change({ op: 'order', order })
    },

    connect() {
      const session = window.SESSION
      if (!session) return
      session.declareModule({ id: 'layers', sessionCompatible: 'provider' })
      session.registerProvider({
        id: 'layers',
        scope: 'global',
        // Before annotations and viewports: what you see is decided first.
        priority: 10,
        snapshot: () => layers.map((l) => ({ ...l })),
        applySnapshot: (data: LayerState[]) => {
          if (!Array.isArray(data) || data.length !== layers.length) return
          layers = data.map((l) => ({ ...l }))
          render()
        },
        subscribe: (send) => {
          emit = send
          return () => {
            emit = null
          }
        },
        applyDelta: (delta: LayerDelta) => apply(delta),
      })
    },
  }
}
