/**
 * Changes made on this page: a view delta goes to every peer, a host's change becomes a
 * delta at once, a guest's waits in the outbox as an intent.
 */
import { PayloadLimitError } from '../errors.js'
import type { SessionDelta, SessionSyncProvider, SessionViewer } from '../types.js'
import { wire } from '../wire/build.js'
import { wirePayload } from '../providers/fields.js'
import { MAX_PAYLOAD_DEPTH, nestsWithin } from '../wire/shape.js'
import { Part } from './state.js'

/** 16 characters of a 64-letter alphabet: 96 bits. */
const INTENT_ID_SIZE = 16

export class LocalChanges<V extends SessionViewer = SessionViewer> extends Part<V> {
  /** A change made on this page, reported by a provider; returns its intent id (none for a view delta). */
  onLocalDelta(provider: SessionSyncProvider, delta: SessionDelta): string | undefined {
    if (!delta || typeof delta !== 'object' || Array.isArray(delta)) {
      this.core.diagnostic('invalid-delta', `Provider "${provider.id}" emitted a delta that is not an object.`, { providerId: provider.id })
      return undefined
    }
    const payload = wirePayload(delta)
    if (provider.scope === 'per-viewer' && typeof payload.viewerId !== 'string') {
      this.core.diagnostic('invalid-delta', `Provider "${provider.id}" is per-viewer but emitted a delta without a viewerUniqueId (or viewerId).`, { providerId: provider.id })
      return undefined
    }
    if (!nestsWithin(payload)) throw this.refuse(new PayloadLimitError('payload-too-deep', provider.id, `nested deeper than ${MAX_PAYLOAD_DEPTH} levels`))
    const view = this.core.registry.isView(provider.id)
    if (delta.view === true && !view) {
      this.core.diagnostic('invalid-delta', `Provider "${provider.id}" emitted a view delta but is not a view provider (\`view: true\`); peers would refuse it.`, { providerId: provider.id })
      return undefined
    }
    const intentId = view ? '' : this.nextIntentId()
    const notJson = (error: unknown) => {
      if (error instanceof PayloadLimitError) throw this.refuse(error)
      this.core.diagnostic('invalid-delta', `Provider "${provider.id}" emitted a delta that is not JSON.`, { providerId: provider.id, error })
      return undefined
    }
    // Host and view deltas are encoded once, for the wire; that encoding is also the JSON and size check.
    if (view || this.s.role === 'host') {
      try {
        if (view) this.parts.views.sendView(provider.id, payload)
        else this.parts.host.broadcastDelta(intentId, this.core.self.id, [{ p: provider.id, d: payload }])
      } catch (error) {
        return notJson(error)
      }
      return view ? undefined : intentId
    }
    let json: string
    try {
      json = JSON.stringify(payload)
    } catch (error) {
      return notJson(error)
    }
    // Characters bound UTF-8 bytes from below: the host measures the message exactly.
    if (json.length > this.core.limits.maxDeltaBytes) throw this.refuse(new PayloadLimitError('payload-too-large', provider.id, `of ${json.length} characters, over the limit of ${this.core.limits.maxDeltaBytes} bytes`))
    if (!this.s.outbox.fits(json)) {
      this.core.diagnostic('outbox-full', `${this.s.outbox.size} changes (${this.s.outbox.bytes} bytes) are waiting for the host; this change was not sent.`, { providerId: provider.id })
      return undefined
    }
    // Its own copy: the outbox keeps it until the host confirms, and the app may change its object meanwhile.
    this.s.outbox.add({ intentId, providerId: provider.id, payload: { ...payload }, json })
    if (this.s.bootstrapped && this.s.hostConn) this.parts.links.sendTo(this.s.hostConn, wire.intent({ id: intentId, p: provider.id, d: payload }))
    return intentId
  }

  /** A change over a limit: reported to listeners, and thrown to the provider that emitted it. */
  private refuse(error: PayloadLimitError): PayloadLimitError {
    this.core.diagnostic(error.code, error.message, { providerId: error.providerId, error })
    return error
  }

  /**
   * Fresh randomness per change, not a counter: an untrusted guest that could predict
   * another peer's next id could take it first, and that peer's change would be dropped.
   */
  private nextIntentId(): string {
    return this.core.random.id(INTENT_ID_SIZE)
  }
}
