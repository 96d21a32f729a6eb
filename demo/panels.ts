/** The side-panel cards that belong to modules: layers and the modules list; and the viewer toolbars. */
import { $, h } from './dom.js'
import { BLEND_MODES, type createLayersModule } from './modules/layers.js'
import type { createPluginsModule } from './modules/plugins.js'
import { LAYERS } from './tiles.js'
import type { DemoViewer } from './viewers.js'

type Layers = ReturnType<typeof createLayersModule>
type Plugins = ReturnType<typeof createPluginsModule>

export function viewerFrame(container: HTMLElement, id: string, title: string): HTMLElement {
  const osd = h('div', { className: 'osd', id: `${id}-canvas` })
  container.append(h('section', { className: 'viewer', id }, h('header', {}, h('h3', {}, title)), osd))
  return osd
}

/** Drawing tools and zoom buttons above a viewer. */
export function viewerToolbar(viewer: DemoViewer, onFocus: (viewer: DemoViewer) => void): void {
  const header = viewer.osd.element.closest('.viewer')!.querySelector('header')!
  const tools = [
    { id: 'pan', label: 'Pan', title: 'Drag to pan, wheel to zoom; click a shape to select it' },
    { id: 'rectangle', label: 'Rectangle', title: 'Drag to draw a rectangle' },
    { id: 'ellipse', label: 'Ellipse', title: 'Drag to draw an ellipse' },
    { id: 'polygon', label: 'Polygon', title: 'Click to add points; click the first point to close' },
    { id: 'freehand', label: 'Freehand', title: 'Press and trace an outline; release to close it' },
  ]
  const buttons = tools.map((tool) =>
    h('button', {
      textContent: tool.label,
      title: tool.title,
      onclick: () => select(tool.id),
      dataset: { tool: tool.id },
    }),
  )
  function select(tool: string): void {
    for (const b of buttons) b.setAttribute('aria-pressed', String(b.dataset.tool === tool))
    viewer.freehand.setEnabled(tool === 'freehand')
    if (tool === 'pan' || tool === 'freehand') viewer.anno.setDrawingEnabled(false)
    else {
      viewer.anno.setDrawingTool(tool)
      viewer.anno.setDrawingMode(tool === 'polygon' ? 'click' : 'drag')
      viewer.anno.setDrawingEnabled(true)
    }
  }
  select('pan')
  const zoom = (factor: number) => viewer.osd.viewport.zoomBy(factor).applyConstraints()
  header.append(
    h('div', { className: 'group tools', role: 'toolbar', ariaLabel: `Drawing tools, ${viewer.title}` }, ...buttons),
    h(
      'div',
      { className: 'group zoom', role: 'toolbar', ariaLabel: `Zoom, ${viewer.title}` },
      h('button', { textContent: '−', title: 'Zoom out', ariaLabel: 'Zoom out', onclick: () => zoom(1 / 1.6) }),
      h('button', { textContent: '+', title: 'Zoom in', ariaLabel: 'Zoom in', onclick: () => zoom(1.6) }),
      h('button', { textContent: 'Fit', title: 'Whole slide', ariaLabel: 'Fit the whole slide', onclick: () => viewer.osd.viewport.goHome() }),
    ),
  )
  viewer.osd.element.addEventListener('pointerdown', () => onFocus(viewer))
}

export function layersPanel(layers: Layers): void {
  const list = $('#layers')
  const label = (id: string) => LAYERS.find((l) => l.id === id)?.label ?? id
  function render(): void {
    // Top of the stack first, the way image editors list layers.
    const state = layers.state()
    list.replaceChildren(
      ...[...state].reverse().map((layer, i) => {
        const name = label(layer.id)
        const opacity = h('input', { type: 'range', min: '0', max: '1', step: '0.05', value: String(layer.opacity), title: 'Opacity', ariaLabel: `${name} opacity` })
        opacity.addEventListener('change', () => layers.setOpacity(layer.id, Number(opacity.value)))
        const blend = h('select', { title: 'Blend mode', ariaLabel: `${name} blend mode` }, ...BLEND_MODES.map((m) => h('option', { value: m, textContent: m, selected: m === layer.blend })))
        blend.addEventListener('change', () => layers.setBlend(layer.id, blend.value as GlobalCompositeOperation))
        const visible = h('input', { type: 'checkbox', checked: layer.visible, title: 'Visible', ariaLabel: `Show ${name}` })
        visible.addEventListener('change', () => layers.setVisible(layer.id, visible.checked))
        return h(
          'li',
          { dataset: { layer: layer.id } },
          visible,
          h('span', {}, name),
          h(
            'span',
            { className: 'order' },
            h('button', { textContent: '↑', title: 'Move up', ariaLabel: `Move ${name} up`, disabled: i === 0, onclick: () => layers.move(layer.id, 1) }),
            h('button', { textContent: '↓', title: 'Move down', ariaLabel: `Move ${name} down`, disabled: i === state.length - 1, onclick: () => layers.move(layer.id, -1) }),
          ),
          h('div', { className: 'controls' }, opacity, blend),
        )
      }),
    )
  }
  layers.onChange(render)
  render()
}

/** `onUnloaded`: where focus goes once an Unload button (which goes away with its module) was used. */
export function modulesPanel(plugins: Plugins, onUnloaded: () => void): void {
  const list = $('#modules')
  const verdict = (c: unknown) => (c === 'provider' ? ['syncs', 'good'] : c === true ? ['safe', 'good'] : c === false ? ['incompatible', 'bad'] : ['undeclared', ''])
  function render(): void {
    list.replaceChildren(
      ...[
        { id: 'viewport', label: 'Viewport sync', sessionCompatible: 'provider', loaded: true, unloadable: false },
        { id: 'cursors', label: 'Cursors', sessionCompatible: 'provider', loaded: true, unloadable: false },
        { id: 'annotations', label: 'Annotations', sessionCompatible: 'provider', loaded: true, unloadable: false },
        { id: 'layers', label: 'Layers', sessionCompatible: 'provider', loaded: true, unloadable: false },
        ...plugins.entries(),
      ].map((m) => {
        const [text, tone] = verdict(m.sessionCompatible)
        return h(
          'li',
          { className: m.loaded ? '' : 'unloaded', dataset: { module: m.id } },
          h('span', {}, m.label),
          h(
            'span',
            { className: 'actions' },
            h('span', { className: `badge ${tone}`, textContent: m.loaded ? text! : 'unloaded' }),
            ...(m.unloadable && m.loaded ? [h('button', { id: `unload-${m.id}`, textContent: 'Unload', ariaLabel: `Unload ${m.label}`, onclick: () => {
                    plugins.unload(m.id)
                    onUnloaded()
                  },
                })] : []),
          ),
        )
      }),
    )
  }
  plugins.onChange(render)
  render()
}
