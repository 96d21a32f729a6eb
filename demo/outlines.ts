/**
 * Where the others look: each peer's view of a slide, outlined in their colour on that
 * viewer's navigator (the overview), from session-sync/openseadragon's `peerViews`. An
 * outline goes when its peer leaves or stops sharing the slide.
 */
import OpenSeadragon from 'openseadragon'
import type { OsdSync, PeerView } from '../src/openseadragon/index.js'
import type { DemoViewer } from './viewers.js'

export function outlines(views: OsdSync, viewers: readonly DemoViewer[]): void {
  for (const viewer of viewers) {
    const navigator = viewer.osd.navigator
    /** peer id → its outline's element on this navigator. */
    const drawn = new Map<string, HTMLElement>()
    views.on('peer-views-changed', ({ viewerId }) => {
      if (viewerId !== viewer.uniqueId) return
      const now = views.peerViews(viewerId)
      for (const [peerId, el] of drawn) {
        if (now.some((p) => p.peerId === peerId)) continue
        navigator.removeOverlay(el)
        drawn.delete(peerId)
      }
      for (const peer of now) {
        const el = drawn.get(peer.peerId)
        if (el) {
          style(el, peer)
          navigator.updateOverlay(el, rectOf(peer))
        } else {
          const made = outline(peer)
          drawn.set(peer.peerId, made)
          // Turned with the navigator when the viewer turns; the peer's own turn is the inner box's.
          navigator.addOverlay({ element: made, location: rectOf(peer), rotationMode: OpenSeadragon.OverlayRotationMode.EXACT })
        }
      }
    })
  }
}

/** The peer's visible rectangle, as if unrotated, in the (shared) viewport coordinates. */
function rectOf({ view }: PeerView): OpenSeadragon.Rect {
  return new OpenSeadragon.Rect(view.x, view.y, view.w, view.h)
}

function outline(peer: PeerView): HTMLElement {
  const el = document.createElement('div')
  el.className = 'peer-outline'
  el.dataset.peerId = peer.peerId
  el.setAttribute('aria-hidden', 'true')
  el.append(document.createElement('div'))
  style(el, peer)
  return el
}

function style(el: HTMLElement, { color, view }: PeerView): void {
  el.style.setProperty('--peer', color)
  // A peer whose viewer is turned by r sees this rectangle turned back by r about its centre.
  ;(el.firstElementChild as HTMLElement).style.transform = view.r ? `rotate(${-view.r}deg)` : ''
}
