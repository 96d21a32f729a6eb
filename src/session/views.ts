/**
 * View deltas: last write wins per (origin, provider, viewer); the host forwards them to
 * peers without a direct link.
 */
import { andThen, done, type Maybe } from '../runtime/maybe.js'
import type { SessionViewer } from '../types.js'
import { wire } from '../wire/build.js'
import { encodeText } from '../wire/codec.js'
import type { MessageOf } from '../wire/messages.js'
import { checkSize } from '../wire/shape.js'
import { type Conn, Part } from './state.js'

export class Views<V extends SessionViewer = SessionViewer> extends Part<V> {
  sendView(providerId: string, payload: Record<string, unknown>): void {
    const text = encodeText(wire.view({ origin: this.core.self.id, n: this.s.viewCounter + 1, p: providerId, d: payload }))
    checkSize(text, this.core.limits.maxDeltaBytes, providerId)
    this.s.viewCounter++
    this.parts.links.broadcastBytes(text)
  }

  onView(conn: Conn, message: MessageOf<'view'>): Maybe<void> {
    if (message.origin === this.core.self.id) return
    // Not newer than the last from that origin for that provider and viewer: it goes no further.
    if (!this.s.viewState.of(message.origin).advance(`${message.p}\u0000${String(message.d.viewerId ?? '')}`, message.n)) return
    if (this.s.role === 'host') {
      const text = encodeText(message)
      const direct = this.s.reported.get(message.origin)
      for (const other of this.s.conns) {
        if (other.peerId && other !== conn && !direct?.has(other.peerId)) this.parts.links.sendBytes(other, text)
      }
    }
    const provider = this.core.registry.get(message.p)
    if (!provider) {
      this.core.diagnostic('unknown-provider', `View delta for provider "${message.p}", which this page does not have; skipped.`, { providerId: message.p })
      return
    }
    const { ok, viewer } = this.parts.bridge.resolveViewer(provider, message.d.viewerId, message.origin)
    if (!ok) return
    return andThen(this.parts.bridge.deliver(provider, viewer, message.d, { providerId: provider.id, origin: message.origin }), done)
  }
}
