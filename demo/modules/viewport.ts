/**
 * Viewport sync through session-sync/openseadragon: each viewer's view (rectangle and
 * rotation) is shared; with "follow host" on, a guest shows what the host sees until they
 * move a view themselves (then the box unticks). This module only adapts the entry to the
 * demo's viewers and its checkbox.
 */
import { openSeadragonSync, type OsdSync } from '../../src/openseadragon/index.js'
import type { DemoViewer } from '../viewers.js'

export interface ViewportModule {
  connect(): void
  setFollowHost(on: boolean): void
  readonly followHost: boolean
  /** Called when following the host starts or stops (the person moved a view, say). */
  onFollowHostChanged(listener: (on: boolean) => void): void
}

export function createViewportModule(viewers: readonly DemoViewer[]): ViewportModule {
  let sync: OsdSync | null = null
  const listeners: Array<(on: boolean) => void> = []
  return {
    get followHost() {
      return sync?.followingHost ?? true
    },
    setFollowHost(on) {
      if (on) sync?.followHost()
      else sync?.unfollow()
    },
    onFollowHostChanged(listener) {
      listeners.push(listener)
    },
    connect() {
      const session = window.SESSION
      if (!session) return
      session.declareModule({ id: 'viewport', sessionCompatible: 'provider' })
      sync = openSeadragonSync(session)
      sync.on('follow-changed', () => {
        for (const listener of listeners) listener(sync!.followingHost)
      })
      // The demo's own ids, so every module keys a viewer alike.
      for (const viewer of viewers) sync.track(Object.assign(viewer.osd, { uniqueId: viewer.uniqueId }))
    },
  }
}
