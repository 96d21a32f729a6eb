/**
 * The provider bridge: subscribes providers while a session is on, calls them with every
 * failure contained, and collects their snapshots.
 */
import { type Delivery, providerDelta, wirePayload } from '../providers/fields.js'
import type { SessionDelta, SessionDeltaMeta, SessionSyncProvider, SessionViewer } from '../types.js'
import type { MessageOf } from '../wire/messages.js'
import { MAX_PAYLOAD_DEPTH, nestsWithin } from '../wire/shape.js'
import { digestOf } from './digest.js'
import { andThen, done, type Maybe } from '../runtime/maybe.js'
import { LruSet } from './bounded.js'
import { type ApplyContext, type Change, Part } from './state.js'

/** What a provider call came to: `failed` when it threw or rejected, else what it returned. */
export interface Outcome<T> {
  failed: boolean
  value?: T
}

const FAILED: Outcome<never> = Object.freeze({ failed: true })
/** A global provider's changes concern no viewer. */
const GLOBAL = Object.freeze({ ok: true, viewer: null })

const isThenable = <T>(value: T | PromiseLike<T>): value is PromiseLike<T> =>
  (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as PromiseLike<T>).then === 'function'

export class ProviderBridge<V extends SessionViewer = SessionViewer> extends Part<V> {
  private readonly unsubscribes = new Map<string, () => void>()
  /** Set while a provider applies a remote change: what it emits then is an echo (or, on the host, the captured result). */
  private applying: ApplyContext | null = null
  /** (provider, viewer, peer) already reported unknown: a peer panning a viewer we lack sends dozens a second. */
  private readonly unknownViewers = new LruSet<string>(256)

  /** True while the controller applies a remote delta or snapshot: a provider's subscribe can skip those changes. */
  isApplyingRemote(): boolean {
    return this.applying !== null
  }

  subscribeAll(): void {
    for (const provider of this.core.registry.all()) this.subscribeProvider(provider)
  }

  unsubscribeAll(): void {
    for (const id of [...this.unsubscribes.keys()]) this.unsubscribeProvider(id)
  }

  subscribeProvider(provider: SessionSyncProvider): void {
    try {
      const off = provider.subscribe((delta) => this.onEmit(provider, delta))
      this.unsubscribes.set(provider.id, typeof off === 'function' ? off : () => {})
    } catch (error) {
      this.providerError(provider.id, 'subscribe', error)
    }
  }

  unsubscribeProvider(id: string): void {
    const off = this.unsubscribes.get(id)
    this.unsubscribes.delete(id)
    try {
      off?.()
    } catch (error) {
      this.providerError(id, 'unsubscribe', error)
    }
  }

  /** A provider reports a change: an echo of a remote change we apply, or a change made on this page. */
  private onEmit(provider: SessionSyncProvider, delta: SessionDelta): string | undefined {
    if (!this.core.isActive() || !this.unsubscribes.has(provider.id)) return undefined
    if (!this.applying) return this.parts.local.onLocalDelta(provider, delta)
    // The host capturing what a guest's intent did: that becomes the authoritative delta.
    // Copied: it is encoded once the provider's applyDelta has finished, which may be later.
    if (this.applying.capture && delta && typeof delta === 'object') this.applying.capture.push({ p: provider.id, d: { ...wirePayload(delta) } })
    return undefined
  }

  private providerError(providerId: string, method: string, error: unknown): void {
    const detail = error instanceof Error ? error.message : String(error)
    this.core.diagnostic('provider-error', `Provider "${providerId}" threw in ${method}: ${detail}`, { providerId, error })
  }

  /**
   * Calls a provider method, containing sync throws and async rejections: `failed` when it
   * threw, so callers can tell a refusal from an error. A method that answers at once is
   * answered at once (no promise): the path of every applied change.
   */
  callProvider<T>(providerId: string, method: string, call: () => T | PromiseLike<T>, context: ApplyContext | null = null): Maybe<Outcome<T>> {
    let result: T | PromiseLike<T>
    this.applying = context
    try {
      result = call()
    } catch (error) {
      this.providerError(providerId, method, error)
      return FAILED
    } finally {
      this.applying = null
    }
    if (!isThenable(result)) return { failed: false, value: result }
    return Promise.resolve(result).then(
      (value) => ({ failed: false, value }),
      (error: unknown) => {
        this.providerError(providerId, method, error)
        return FAILED
      },
    )
  }

  resolveViewer(provider: SessionSyncProvider, viewerId: unknown, peerId?: string): { ok: boolean; viewer: V | null } {
    if (provider.scope === 'global') return GLOBAL
    const viewer = typeof viewerId === 'string' ? this.core.viewers.get(viewerId) : undefined
    if (viewer) return { ok: true, viewer }
    if (!this.unknownViewers.touch(`${provider.id}\0${String(viewerId)}\0${peerId ?? ''}`)) {
      this.core.diagnostic('unknown-viewer', `No viewer "${String(viewerId)}" here for provider "${provider.id}"; its changes are skipped (said once).`, { providerId: provider.id, peerId })
    }
    return { ok: false, viewer: null }
  }

  /**
   * Every provider's snapshot (per viewer for per-viewer ones), in bootstrap order; `only`
   * keeps one provider's. Every `snapshot()` is called before this returns, in one
   * synchronous stretch, so a label read right after the call describes what they capture
   * (see HostSide.labelledSnapshot).
   */
  collectSnapshot(only?: string): Promise<MessageOf<'snapshot'>['entries']> {
    const calls: Array<Promise<MessageOf<'snapshot'>['entries'][number] | null>> = []
    for (const provider of this.core.registry.ordered()) {
      if (only !== undefined && provider.id !== only) continue
      const targets: Array<V | null> = provider.scope === 'global' ? [null] : [...this.core.viewers.values()]
      for (const viewer of targets) {
        const call = Promise.resolve(this.callProvider(provider.id, 'snapshot', () => provider.snapshot(viewer)))
        calls.push(call.then(({ failed, value }) => (failed || !this.encodable(provider.id, value) ? null : { p: provider.id, w: viewer?.uniqueId ?? null, d: value ?? null })))
      }
    }
    return Promise.all(calls).then((entries) => entries.filter((e) => e !== null))
  }

  /** A snapshot nested too deeply to encode (or to digest) is left out, as if the provider had failed. */
  private encodable(providerId: string, value: unknown): boolean {
    if (nestsWithin(value)) return true
    this.core.diagnostic('payload-too-deep', `Provider "${providerId}" returned a snapshot nested deeper than ${MAX_PAYLOAD_DEPTH} levels; it was left out.`, { providerId })
    return false
  }

  /** Applies one authoritative change through its provider; the provider's echoes are dropped. */
  applyChange(change: Change, origin: string, intentId: string, seq?: number): Maybe<void> {
    const provider = this.core.registry.get(change.p)
    if (!provider) {
      this.core.diagnostic('unknown-provider', `Delta for provider "${change.p}", which this page does not have; skipped.`, { providerId: change.p })
      return
    }
    const { ok, viewer } = this.resolveViewer(provider, change.d.viewerId)
    if (!ok) return
    return andThen(this.deliver(provider, viewer, change.d, { providerId: provider.id, origin, intentId, seq }), done)
  }

  /**
   * Calls a provider's `applyDelta` with what travelled, its own fields filled in, and the
   * meta that says where it is from. `context` is the host's capture of what it emits meanwhile.
   */
  deliver(provider: SessionSyncProvider, viewer: V | null, payload: Record<string, unknown>, delivery: Delivery, context: ApplyContext = {}): Maybe<Outcome<unknown>> {
    const session = this.s
    const meta: SessionDeltaMeta<V> = {
      remote: true,
      origin: delivery.origin,
      role: session.role,
      viewer,
      view: delivery.intentId === undefined,
      // Only a follower takes in state; the host never is bootstrapping.
      bootstrap: session.role === 'guest' && (!session.bootstrapped || session.rebootstrapping),
    }
    if (delivery.intentId !== undefined) meta.intentId = delivery.intentId
    if (delivery.seq !== undefined) meta.seq = delivery.seq
    const delta = providerDelta(payload, delivery)
    return this.callProvider(provider.id, 'applyDelta', () => provider.applyDelta(delta, meta as SessionDeltaMeta), context)
  }

  /** A hash over every provider's canonical snapshot. */
  async stateDigest(): Promise<string> {
    return digestOf(await this.collectSnapshot())
  }
}
