/**
 * One provider's state taken again from the host, leaving every other provider alone. A
 * guest whose change the host refused (or failed on) undoes its optimistic change this way
 * while the other providers' deltas keep flowing: the guest asks (`resync`), the host serves
 * a provider it owes (`reset`), and the guest applies it and, for that provider only, skips
 * the deltas its state already holds or applies again those it replaced.
 */
import type { SessionViewer } from '../types.js'
import { wire } from '../wire/build.js'
import type { MessageOf } from '../wire/messages.js'
import { LruSet } from './bounded.js'
import { type Change, type Conn, Part } from './state.js'

export class Resync<V extends SessionViewer = SessionViewer> extends Part<V> {
  /**
   * Guest: asks our host for `providerId`'s state. One request per provider in flight is
   * enough: a refusal heard meanwhile is of a change made before the answer comes, which the
   * answer replaces too (the host never holds a change it declined).
   */
  request(providerId: string): void {
    const host = this.s.hostConn
    if (!host || this.s.resyncing.get(providerId) === host) return
    this.s.resyncing.set(providerId, host)
    this.parts.links.sendTo(host, wire.resync({ p: providerId }))
  }

  /**
   * Host: a guest asks for one provider's state. The gate lets it through only when we
   * declined a change of its to that provider since we last sent it that state (`Conn.owed`),
   * so repeating the request costs nothing; within the link's budget it is served at once,
   * beyond it in the next budget window: an honest guest is rolled back late rather than never.
   */
  async onResync(conn: Conn, message: MessageOf<'resync'>): Promise<void> {
    if (!conn.owed?.has(message.p)) return
    if (!this.parts.host.withinBudget(conn, 'resend')) return this.serveLater(conn, message.p)
    conn.owed.delete(message.p)
    await this.sendReset(conn, message.p)
  }

  private serveLater(conn: Conn, providerId: string): void {
    ;(conn.resyncAsked ??= new Set()).add(providerId)
    if (conn.resyncLater) return
    this.core.diagnostic('budget-exceeded', `${conn.peerId} asked for provider state too often; answering in a while.`, { peerId: conn.peerId ?? undefined, reason: 'resync-budget' })
    const session = this.s
    conn.resyncLater = this.core.clock.setTimeout(() => {
      conn.resyncLater = undefined
      if (!this.current(session) || !this.s.conns.has(conn)) return
      const asked = [...(conn.resyncAsked ?? [])]
      conn.resyncAsked = undefined
      for (const p of asked) this.parts.links.serial(() => this.onResync(conn, wire.resync({ p })))
    }, this.core.heartbeat.hardTimeoutMs)
  }

  private async sendReset(conn: Conn, providerId: string): Promise<void> {
    const { seq, entries } = await this.parts.host.labelledSnapshot(providerId)
    if (this.s.conns.has(conn)) this.parts.links.sendTo(conn, wire.reset({ seq, p: providerId, entries: entries.map(({ w, d }) => ({ w, d })) }))
  }

  /** Guest: the host's answer. It replaces that provider's state; the others never notice. */
  async onReset(message: MessageOf<'reset'>): Promise<void> {
    const p = message.p
    const provider = this.core.registry.get(p)
    // Not asked (or asked of a host we no longer follow), or older than a whole snapshot we took since: nothing to do.
    if (!this.s.resyncing.delete(p) || !provider || message.seq < this.s.snapshotSeq || !this.s.bootstrapped || this.s.rebootstrapping) return
    if (!message.entries.length) {
      this.core.diagnostic('resync-failed', `The host could not send the state of "${p}"; it may differ from the host's until the next snapshot.`, { providerId: p })
    }
    const replaced: Array<string | null> = []
    for (const e of message.entries) {
      const { ok, viewer } = this.parts.bridge.resolveViewer(provider, e.w)
      if (!ok) continue
      const { failed } = await this.parts.bridge.callProvider(p, 'applySnapshot', () => provider.applySnapshot(e.d, viewer), {})
      if (!failed) replaced.push(e.w)
    }
    if (replaced.length) {
      for (const w of replaced) this.s.heldOut.delete(keyOf(p, w))
      // Our unconfirmed changes to it were replaced too: their deltas are applied when they come.
      for (const entry of this.s.outbox.pending()) if (entry.providerId === p) entry.overwritten = true
      // The state is the host's at `message.seq`: deltas up to it are in it, those after it are not.
      if (message.seq > this.s.seq) for (const w of replaced) this.s.resetAt.set(keyOf(p, w), message.seq)
      else if (message.seq < this.s.seq) await this.applyAgain(p, replaced, message.seq)
    }
  }

  /** Deltas after `seq` that we had applied to what the reset replaced: applied again, to that provider only, from our own log. */
  private async applyAgain(p: string, viewers: Array<string | null>, seq: number): Promise<void> {
    const kept = this.s.replay.range(seq + 1, this.s.seq)
    if (!kept) {
      this.core.diagnostic('resync-stale', `The state of "${p}" came older than our replay log reaches; fetching a fresh snapshot.`, { providerId: p })
      return this.parts.follower.rebootstrap()
    }
    for (const encoded of kept) {
      const delta = this.parts.follower.keptDelta(encoded)
      for (const change of delta.changes) {
        if (change.p === p && viewers.includes(this.viewerOf(change))) await this.parts.bridge.applyChange(change, delta.origin, delta.id, delta.seq)
      }
    }
  }

  /**
   * Guest, applying delta `seq` (intent `id`): whether `change` is already in a provider state
   * a reset brought, or one a snapshot left out (so that provider skips it). Past the reset's
   * sequence number, the mark goes.
   */
  holds(change: Change, seq: number, id: string): boolean {
    if (!this.s.resetAt.size && !this.s.heldOut.size) return false
    const key = this.keyOf(change)
    const at = this.s.resetAt.get(key)
    if (at !== undefined) {
      if (seq >= at) this.s.resetAt.delete(key)
      if (seq <= at) return true
    }
    return this.s.heldOut.get(key)?.has(id) ?? false
  }

  /**
   * Guest, taking a whole snapshot: each (provider, viewer) not in `replaced` keeps its state,
   * and the intents in it, though `seen` now lists the snapshot's ids only. A delta carrying one
   * again (its origin sent it again to a new host that never had it) must not apply it twice
   * there: the ids `seen` held stay held for it until its state is replaced (seed 739835). So do
   * those `failed` holds: ours as a host, whose provider threw on them part-way (seed 8156).
   */
  keepLeftOut(replaced: ReadonlySet<string>, seen: LruSet<string>, failed: LruSet<string>): void {
    const kept = new Map<string, LruSet<string>>()
    let fresh: LruSet<string> | undefined
    for (const provider of this.core.registry.all()) {
      for (const w of provider.scope === 'global' ? [null] : [...this.core.viewers.keys()]) {
        const key = keyOf(provider.id, w)
        const held = this.s.heldOut.get(key) ?? (seen.size || failed.size ? (fresh ??= new LruSet(this.core.limits.dedupeSize)) : undefined)
        if (held && !replaced.has(key)) kept.set(key, held)
      }
    }
    // Copied only when a provider state was left out: a whole snapshot (the usual one) copies nothing.
    const before = kept.size ? [...seen.recent(Infinity), ...failed.recent(Infinity)] : []
    for (const held of new Set(kept.values())) for (const id of before) held.touch(id)
    this.s.heldOut.clear()
    for (const [key, held] of kept) this.s.heldOut.set(key, held)
  }

  /** Which provider state (provider, viewer) a change is to. */
  keyOf(change: Change): string {
    return keyOf(change.p, this.viewerOf(change))
  }

  private viewerOf(change: Change): string | null {
    const viewerId = change.d.viewerId
    return this.core.registry.get(change.p)?.scope === 'global' || typeof viewerId !== 'string' ? null : viewerId
  }
}

export function keyOf(providerId: string, viewerId: string | null): string {
  return `${providerId}\u0000${viewerId ?? ''}`
}
