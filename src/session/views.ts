/**
 * View deltas: last write wins per (origin, provider, viewer); the host forwards them to
 * peers without a direct link.
 */
import type { SessionViewer } from '../types.js'
import { wire } from '../wire/build.js'
import { encodeMessage } from '../wire/codec.js'
import type { MessageOf } from '../wire/messages.js'
import { type Conn, Part } from './state.js'

export class Views<V extends SessionViewer = SessionViewer> extends Part<V> {
  sendView(providerId: string, payload: Record<string, unknown>): void {
    this.parts.links.broadcast(wire.view({ origin: this.core.self.id, n: ++this.s.viewCounter, p: providerId, d: payload }))
  }

  async onView(conn: Conn, message: MessageOf<'view'>): Promise<void> {
    if (message.origin === this.core.self.id) return
    const key = `${message.origin}\u0000${message.p}\u0000${String(message.d.viewerId ?? '')}`
    const last = this.s.viewState.get(key)
    if (last !== undefined && message.n <= last) return
    this.s.viewState.set(key, message.n)
    if (this.s.role === 'host') {
      const bytes = encodeMessage(message)
      const direct = this.s.reported.get(message.origin)
      for (const other of this.s.conns) {
        if (other.peerId && other !== conn && !direct?.has(other.peerId)) this.parts.links.sendBytes(other, bytes)
      }
    }
    const provider = this.core.registry.get(message.p)
    if (!provider) {
      this.core.diagnostic('unknown-provider', `View delta for provider "${message.p}", which this page does not have; skipped.`, { providerId: message.p })
      return
    }
    const { ok, viewer } = this.parts.bridge.resolveViewer(provider, message.d.viewerId, message.origin)
    if (!ok) return
    await this.parts.bridge.deliver(provider, viewer, message.d, { providerId: provider.id, origin: message.origin })
  }
}
