/**
 * Live cursors through session-sync/openseadragon: each peer's pointer over each viewer,
 * in their colour with their name, gone when they leave (the viewers are tracked by the
 * viewport module; the entry shares views and pointers together).
 */
import { openSeadragonSync } from '../../src/openseadragon/index.js'

export function createCursorsModule() {
  return {
    /** Remote cursors currently shown, for tests: viewerId → peer ids. */
    visible: (): Record<string, string[]> => (window.SESSION ? openSeadragonSync(window.SESSION).visibleCursors() : {}),
    connect() {
      window.SESSION?.declareModule({ id: 'cursors', sessionCompatible: 'provider' })
    },
  }
}
