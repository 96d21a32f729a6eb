/**
 * Slide Review: two deep-zoom viewers with stain layers and annotations, shared live with
 * session-sync. Built only on the library's public API; each synced module lives in
 * modules/ and takes part through `window.SESSION?.registerProvider`.
 */
import { createWebRtcTransport, installSession, SessionSyncController } from '../src/index.js'
import { openSeadragonSync } from '../src/openseadragon/index.js'
import { annotationCard } from './annotation-card.js'
import { annotationList } from './annotation-list.js'
import { bringHere } from './bring-here.js'
import { catchingUp } from './catching-up.js'
import { $ } from './dom.js'
import { joinGuard } from './join-guard.js'
import { outlines } from './outlines.js'
import { createAnnotationsModule } from './modules/annotations.js'
import { createCursorsModule } from './modules/cursors.js'
import { createLayersModule } from './modules/layers.js'
import { createPluginsModule } from './modules/plugins.js'
import { createViewportModule } from './modules/viewport.js'
import { layersPanel, modulesPanel, viewerFrame, viewerToolbar } from './panels.js'
import { presence } from './presence.js'
import { savedPanel } from './saved-panel.js'
import { sessionUi } from './session-ui.js'
import { createViewer, type DemoViewer } from './viewers.js'

// ---- viewers

const container = $('#viewers')
const viewers: DemoViewer[] = [
  createViewer(viewerFrame(container, 'viewer-a', 'Slide A — biopsy, left lobe'), 'slide-a', 'Slide A — biopsy, left lobe', 1),
  createViewer(viewerFrame(container, 'viewer-b', 'Slide B — biopsy, right lobe'), 'slide-b', 'Slide B — biopsy, right lobe', 2),
]

// ---- modules

const viewport = createViewportModule(viewers)
const cursors = createCursorsModule()
const catchUp = catchingUp($('#catching-up'))
const annotations = createAnnotationsModule(viewers, { catchUp: catchUp.run })
const layers = createLayersModule(viewers)
const plugins = createPluginsModule()

// ---- the session controller

const transport = createWebRtcTransport({ iceServers: [] })

/**
 * `?relay=http://127.0.0.1:8787` (see relay/): invites become one click. The query stays in
 * `baseUrl`, so the invite links carry it and the guest's page talks to the same relay.
 */
const relay = new URLSearchParams(location.search).get('relay')?.trim() || undefined

/**
 * One controller per page, installed as `window.SESSION` before any module loads, the way
 * an app does it: modules then join in with `window.SESSION?.registerProvider(...)`.
 */
const controller = installSession(
  new SessionSyncController({
    transport,
    baseUrl: location.href.split('#')[0],
    user: { name: 'Guest' },
    ...(relay ? { signalingEndpoint: relay } : {}),
    // "Alice wants to join": an in-page prompt; knocks queue up while the session goes on.
    admit: (peer, invite) => ui.admit(peer, invite),
    confirmUndeclared: (modules) =>
      window.confirm(`These modules say nothing about sessions and may not stay in sync:\n\n  ${modules.join('\n  ')}\n\nGo on anyway?`),
  }),
)
controller.setViewers(viewers)
for (const module of [layers, annotations, viewport, cursors, plugins]) module.connect()

/** The demo's own summary (viewports, annotations…), for the library's save and for a copy. */
const demoState = () => ({
  layers: layers.state(),
  viewers: viewers.map((v) => {
    const b = v.osd.viewport.getBounds()
    return { id: v.uniqueId, title: v.title, viewport: { x: b.x, y: b.y, w: b.width, h: b.height }, annotations: annotations.list(v.uniqueId) }
  }),
})

const guard = joinGuard({
  session: controller,
  shapes: () => viewers.reduce((n, v) => n + annotations.list(v.uniqueId).length, 0),
  onChange: (fn) => {
    annotations.onChange(fn)
    layers.onChange(fn)
  },
  copy: demoState,
})

const ui = sessionUi({
  session: controller,
  /** The name typed in the Session card is who this person is in the next session. */
  setName: (name) => {
    controller.setUser({ name })
    // Shapes are signed with the session identity, so everyone sees who drew what.
    const self = controller.getSelf()
    for (const v of viewers) v.anno.setUser({ id: self.id, name: self.name })
  },
  hasIceServers: transport.hasIceServers ?? false,
  setFollowHost: (on) => viewport.setFollowHost(on),
  relay: !!relay,
  saveState: demoState,
  beforeJoin: () => guard.beforeJoin(),
  moduleLabel: (id) => plugins.entries().find((e) => e.id === id)?.label ?? id,
  unloadModule: (id) => plugins.unload(id),
})
catchUp.follow(controller)
const views = openSeadragonSync(controller)
const { notice } = presence(controller, views)
bringHere(controller, views, notice)
outlines(views, viewers)
// Moving a view stops following the host: the box says so.
viewport.onFollowHostChanged((on) => ($<HTMLInputElement>('#follow-host').checked = on))

// ---- panels

let focused = viewers[0]!
for (const v of viewers) viewerToolbar(v, (viewer) => (focused = viewer))
layersPanel(layers)
annotationList(viewers, annotations, annotationCard(viewers, annotations, (message) => ui.showError(message)))
modulesPanel(plugins, () => ui.focusWayForward())
savedPanel(controller, $('aside.panel'))

$('#load-plugin').addEventListener('click', () => {
  ui.clearError()
  try {
    const result = plugins.load('heatmap', 'Heatmap')
    $('#load-plugin').textContent = result === 'loaded' ? 'Heatmap plugin loaded' : 'Heatmap already loaded'
  } catch (error) {
    ui.showError(error)
  }
})

// ---- for tests and the console

declare global {
  interface Window {
    demo: {
      viewers: DemoViewer[]
      annotations(viewerId: string): ReturnType<typeof annotations.list>
      layers(): ReturnType<typeof layers.state>
      cursors(): ReturnType<typeof cursors.visible>
      /** session-sync/openseadragon's sync of this page: following, bringing everyone here, where the others look. */
      views: typeof views
      readonly followHost: boolean
      readonly focusedViewer: string
    }
  }
}

window.demo = {
  viewers,
  annotations: (viewerId) => annotations.list(viewerId),
  layers: () => layers.state(),
  cursors: () => cursors.visible(),
  views,
  get followHost() {
    return viewport.followHost
  },
  get focusedViewer() {
    return focused.uniqueId
  },
}
