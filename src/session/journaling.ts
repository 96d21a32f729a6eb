/**
 * The session journal's part of the core: what this page applied and still owes is
 * written, in batches off the hot path, to a `Journal` (src/journal/), so that a reloaded
 * tab can come back as the same peer (`resume`) and a session can be saved by name.
 *
 * Per session it keeps the last snapshot, the authoritative deltas applied since, this
 * page's outbox and its identity. A batch is written a few milliseconds after its first
 * change (`batchMs`), in one transaction: a crash loses at most that batch. An intent the
 * host confirmed is never lost with it: the host has it, and sends it back on resume.
 * Past `maxDeltas` or `maxBytes` the journal compacts (a fresh snapshot, this page's own changes beside it, the log cut);
 * a full disk is a diagnostic and an eviction of other sessions, never a broken session. Writes
 * go through `WriteQueue` (../journal/write-queue.ts): one at a time, retried after a back-off.
 */
import { JournalError, SessionStateError, WireError } from '../errors.js'
import { WriteQueue } from '../journal/write-queue.js'
import { approximateSize, type Journal, type JournalBatch, type JournalDelta, type JournalEntry, type JournalIntent, type ResumeResult, type SessionJournal, type TabStorage } from '../journal/store.js'
import type { TimerHandle } from '../runtime/clock.js'
import type { SessionViewer } from '../types.js'
import type { MessageOf } from '../wire/messages.js'
import { DEFAULT_JOURNAL_LIMITS, type JournalLimits } from './options.js'
import { byteSize } from '../encoding/bytes.js'
import type { LinkMessage } from '../transport/transport.js'
import { bytesOf, encodeMessage } from '../wire/codec.js'
import { type Lineage, ofDeltas } from './lineage.js'
import { Part, type Session } from './state.js'

const TAB_KEY = 'session-sync:resume'

/** A journal read back by `resume()`, waiting for the `join()` of its session. */
interface Resumable {
  sessionId: string
  journal: SessionJournal
  deltas: MessageOf<'delta'>[]
  /** This page's own changes kept beside its snapshot (`complete`), by id: kept apart again before those of the log. */
  own: Map<string, Uint8Array>
}

/** Deltas wait as they travelled (text, mostly); they are encoded to bytes as their batch is written, off the hot path. */
type Batch = Omit<JournalBatch, 'identity' | 'at' | 'bytes' | 'deltas'> & { deltas: Array<{ seq: number; encoded: LinkMessage }> }

export class Journaling<V extends SessionViewer = SessionViewer> extends Part<V> {
  private readonly limits: JournalLimits = { ...DEFAULT_JOURNAL_LIMITS, ...(this.core.options.journal ? this.core.options.journal.limits : {}) }
  private store: Promise<Journal | null> | undefined
  /** The session being journaled; null when off or given up. */
  private journaled: Session | null = null
  /**
   * Its journal's key: session and user, so two controllers of one session in one profile
   * (a test page, a benchmark) never write into each other's journal.
   */
  private key = ''
  private batch: Batch | null = null
  private timer: TimerHandle | null = null
  /** When the pending batch is due, and when the last one was written. */
  private dueAt = 0
  private lastWriteAt = -Infinity
  private readonly writes = new WriteQueue<Session>({
    clock: this.core.clock,
    retryMs: this.limits.writeRetryMs,
    store: () => this.journal(),
    diagnostic: (code, message, extra) => this.core.diagnostic(code, message, extra),
    wanted: (session) => this.journaled === session || this.core.ended === session,
    // A second failure tries with a fresh snapshot instead of the log (it merges into the retry).
    failed: (session, failures) => {
      if (failures === 2 && this.journaled === session) this.compactSoon()
    },
    gaveUp: (session, key) => {
      // Nor named to resume: a journal with a hole would resume into a wrong state.
      if (this.journaled === session) this.journaled = null
      session.outbox.listener = undefined
      if (this.tab()?.getItem(TAB_KEY) === key) this.tab()?.removeItem(TAB_KEY)
    },
  })
  private lastSeq = 0
  /**
   * The epoch whose host's history the journaled state follows, which a resume claims: the
   * session's, but not while a guest waits for a snapshot to replace what it holds (a history
   * its new host lacks). Claimed as that host's, it would get only the deltas past our
   * sequence number, on top of the forked state (seed 966014).
   */
  private heldEpoch = 0
  /** Deltas and bytes since the last snapshot, and the snapshot's bytes. */
  private sinceSnapshot = { deltas: 0, bytes: 0, base: 0 }
  private compacting = false
  private resumable: Resumable | null = null
  /** A resumed guest before its host's hello: it holds the state up to `seq` of `epoch`, whose history `lineage` describes. */
  private rejoining: { session: Session; epoch: number; seq: number; hosted: boolean; lineage: Lineage } | null = null

  /** Whether this controller journals at all (an explicit store, or IndexedDB in a browser). */
  get enabled(): boolean {
    const option = this.core.options.journal
    return option !== false && (option?.store !== undefined || typeof indexedDB !== 'undefined')
  }

  journal(): Promise<Journal | null> {
    const option = this.core.options.journal
    if (!this.enabled || option === false) return Promise.resolve(null)
    this.store ??= option?.store
      ? Promise.resolve(option.store)
      : import('../journal/idb.js').then(({ IdbJournal }) => new IdbJournal(), (error: unknown) => {
          this.core.diagnostic('journal-unavailable', `The session journal could not be loaded: ${(error as Error)?.message ?? String(error)}`, { error })
          return null
        })
    return this.store
  }

  // ---------------------------------------------------------------- session hooks

  /** A session starts (host) or joins (guest) here. */
  begin(session: Session): void {
    this.journaled = this.enabled ? session : null
    this.batch = null
    this.lastSeq = 0
    this.heldEpoch = session.epoch
    this.sinceSnapshot = { deltas: 0, bytes: 0, base: 0 }
    const resumable = this.resumable
    this.resumable = null
    if (!this.journaled) return
    this.key = `${session.sessionId}/${this.core.self.id}`
    this.tab()?.setItem(TAB_KEY, this.key)
    session.outbox.listener = {
      added: (entry) => this.pending().queued.push({ intentId: entry.intentId, providerId: entry.providerId, payload: entry.payload }),
      settled: (intentId) => this.settled(intentId),
    }
    if (resumable?.sessionId === session.sessionId) this.takeBack(session, resumable)
    else if (session.role === 'host') this.compactSoon()
    this.writes.evict(this.key, this.limits.maxSessions - 1)
  }

  /** An authoritative delta applied (or, on the host, issued) here; `bytes`: its size as UTF-8. */
  applied(seq: number, encoded: LinkMessage, bytes: number): void {
    if (!this.journaled || this.journaled !== this.core.session) return
    this.pending(false).deltas.push({ seq, encoded })
    this.lastSeq = seq
    this.sinceSnapshot.deltas++
    this.sinceSnapshot.bytes += bytes
    const since = this.sinceSnapshot
    // Past a limit, and once the log has grown as large as the snapshot: a snapshot costs its
    // size, so compacting sooner would cost more per delta the larger the state.
    if ((since.deltas > this.limits.maxDeltas || since.base + since.bytes > this.limits.maxBytes) && since.bytes >= since.base) this.compactSoon()
  }

  /**
   * A whole snapshot replaced this guest's state. Its size is the message's as it came (bytes,
   * or characters of text, approximate as approximateSize is): measuring the entries again
   * would stringify the whole state on the bootstrap's path.
   */
  snapshotApplied(message: MessageOf<'snapshot'>, size: number | undefined): void {
    if (!this.journaled || this.journaled !== this.core.session) return
    this.replaceSnapshot(message.seq, message.ids, message.entries, [], size, true)
  }

  /** A resumed guest's host greets it: caught up at once (deltas follow) or by a snapshot. */
  greeted(hello: MessageOf<'hello'>): void {
    const back = this.rejoining
    if (back?.session !== this.s) return
    this.rejoining = null
    if (this.s.joinTimer) this.core.clock.clearTimeout(this.s.joinTimer)
    this.s.joinTimer = null
    // Same epoch and no further than the host: it sends what we missed. Else its snapshot
    // replaces our state, even one past its own sequence number (a lineage it never had).
    if (hello.epoch === back.epoch && hello.seq >= back.seq) this.core.lifecycle.to('connected')
    else {
      // Until the host's snapshot replaces what the journal gave us, our lineage is the journal's
      // (elected meanwhile, we must not tell survivors that our history is that host's: seed 1144124).
      this.parts.follower.awaitSnapshot(back.lineage)
      // Our own changes this host never got (we may have hosted them, before the reload): handed over as a survivor would.
      if (this.s.hostConn) this.parts.takeover.handOverOwn(this.s.hostConn, hello, back.hosted ? back.epoch : null)
    }
    this.parts.follower.flushOutbox()
  }

  /** What a resuming guest tells the host it holds, in its join, with the token that proves it is the same peer. */
  resumeClaim(): { resume: { epoch: number; seq: number; token?: string } } | Record<string, never> {
    const back = this.rejoining
    if (back?.session !== this.s) return {}
    return { resume: { epoch: back.epoch, seq: back.seq, ...(this.s.resumeToken !== null ? { token: this.s.resumeToken } : {}) } }
  }

  /** Who we are changed (a new resume token): written with the next batch, which starts now. */
  identityChanged(): void {
    if (this.journaled && this.journaled === this.core.session) this.pending()
  }

  /** The session ends here. A page closing (a reload, maybe) keeps its journal for `resume`; any other end drops it. */
  ended(session: Session, reason: string): void {
    this.parts.restoring.forget()
    if (this.journaled !== session) return
    this.flush()
    this.journaled = null
    session.outbox.listener = undefined
    // A closing page has no later: a write waiting to be tried again is tried now.
    if (reason === 'page-closed') this.writes.hurry()
    // A resume the host never answered (refused as a duplicate, or no link): the journal is as good as before.
    const unanswered = this.rejoining?.session === session && reason !== 'removed'
    if (reason === 'page-closed' || unanswered) return
    this.tab()?.removeItem(TAB_KEY)
    const key = this.key
    this.writes.task((store) => store.drop(key))
  }

  // ---------------------------------------------------------------- writing

  /** Writes what has gathered now; resolves when every write so far is on disk (or given up). */
  flush(): Promise<void> {
    if (this.timer) this.core.clock.clearTimeout(this.timer)
    this.timer = null
    const session = this.journaled
    const batch = this.batch
    this.batch = null
    if (session && batch) {
      this.lastWriteAt = this.core.clock.now()
      this.writes.write(session, this.key, this.complete(session, batch))
    }
    return this.writes.idle()
  }

  /**
   * The batch changes gather in, due `batchMs` after its first change; one that holds only the
   * host's deltas (`urgent` false) no sooner than `streamBatchMs` after the last write, so a
   * steady stream is written a few times a second, not at every `batchMs`.
   */
  private pending(urgent = true): Batch {
    const now = this.core.clock.now()
    const soon = now + this.limits.batchMs
    if (!this.batch) {
      this.batch = { deltas: [], queued: [], settled: [] }
      this.schedule(urgent ? soon : Math.max(soon, this.lastWriteAt + this.limits.streamBatchMs))
    } else if (urgent && this.dueAt > soon) this.schedule(soon)
    return this.batch
  }

  private schedule(at: number): void {
    if (this.timer) this.core.clock.clearTimeout(this.timer)
    this.dueAt = at
    this.timer = this.core.clock.setTimeout(() => void this.flush(), at - this.core.clock.now())
  }

  private settled(intentId: string): void {
    const batch = this.pending()
    const at = batch.queued.findIndex((q) => q.intentId === intentId)
    // Queued and confirmed within one batch: nothing to write about it.
    if (at >= 0) batch.queued.splice(at, 1)
    else batch.settled.push(intentId)
  }

  private complete(session: Session, batch: Batch): JournalBatch {
    const self = this.core.self
    const rank = session.rank.indexOf(self.id)
    if (session.role !== 'guest' || !session.rebootstrapping) this.heldEpoch = session.epoch
    // Our own changes beside a snapshot (as many as ownChanges keeps): folded into it alone, none could be handed over after a reload.
    const own = batch.snapshot ? [...session.ownChanges.values()].map(bytesOf) : []
    this.sinceSnapshot.base += own.reduce((sum, bytes) => sum + bytes.byteLength, 0)
    return {
      ...batch,
      ...(own.length ? { snapshot: { ...batch.snapshot!, own } } : {}),
      deltas: batch.deltas.map(({ seq, encoded }) => ({ seq, bytes: bytesOf(encoded) })),
      identity: {
        userId: self.id, name: self.name, role: session.role, rank: Math.max(0, rank), sessionId: session.sessionId, epoch: this.heldEpoch, lastSeenSeq: this.lastSeq,
        ...(self.color ? { color: self.color } : {}),
        ...(session.resumeToken !== null ? { resumeToken: session.resumeToken } : {}),
      },
      at: this.core.clock.now(),
      bytes: this.sinceSnapshot.base + this.sinceSnapshot.bytes,
    }
  }

  /**
   * Snapshot + truncate, once: every provider's state replaces the log. In the serial queue,
   * after the handler at hand, so the snapshot holds the delta that crossed the limit.
   */
  private compactSoon(): void {
    if (this.compacting) return
    this.compacting = true
    this.parts.links.serial(async () => {
      try {
        await this.compact()
      } finally {
        this.compacting = false
      }
    })
  }

  private async compact(): Promise<void> {
    const session = this.journaled
    // Not while our providers hold changes of ours the host has not confirmed: a resume would apply them again as they come.
    if (!session || session.outbox.holdsApplied()) return
    const collecting = this.parts.bridge.collectSnapshot()
    const seq = this.lastSeq
    const ids = session.seen.recent(this.core.limits.replayLogSize)
    const entries = await collecting
    // Changes kept for providers this page lacks are in no provider's snapshot: they stay beside it.
    const held = this.parts.restoring.heldDeltas().map((delta) => ({ seq: delta.seq, bytes: encodeMessage(delta) }))
    if (this.journaled === session) this.replaceSnapshot(seq, ids, [...entries, ...this.parts.restoring.heldEntries()], held)
  }

  /**
   * `replaces`: a host's snapshot replaced our state, so no delta logged before it holds, even
   * one past its sequence number (another lineage's, seed 830622: a resume applied it again).
   */
  private replaceSnapshot(seq: number, ids: string[], entries: JournalEntry[], held: JournalDelta[] = [], size = approximateSize(entries), replaces = false): void {
    const batch = this.pending()
    batch.snapshot = { seq, ids, entries, ...(held.length ? { held } : {}) }
    if (replaces) batch.replacesLog = true
    batch.deltas = replaces ? [] : batch.deltas.filter((d) => d.seq > seq)
    this.lastSeq = replaces ? seq : Math.max(this.lastSeq, seq)
    this.sinceSnapshot = { deltas: batch.deltas.length, bytes: batch.deltas.reduce((sum, d) => sum + byteSize(d.encoded), 0), base: size }
  }

  // ---------------------------------------------------------------- resume

  /**
   * Reads back this tab's session journal: null when there is none. With an invite, joins
   * it as the same peer at once; without one, keeps it for the next `join()` of that session.
   */
  async resume(invite: string | undefined, join: (url: string) => Promise<{ answerCode: string; relayed: boolean }>): Promise<ResumeResult | null> {
    if (this.core.isActive()) throw new SessionStateError('session-active', 'Cannot resume: a session is already active.')
    const key = this.tab()?.getItem(TAB_KEY)
    const store = key ? await this.journal() : null
    const raw = store && key ? await store.read(key).catch((cause: unknown) => {
      // Unreadable for now (an aborted transaction, storage under pressure): told, typed, and kept for the next resume().
      const message = `The session journal could not be read: ${(cause as Error)?.message ?? String(cause)}`
      this.core.diagnostic('journal-read-failed', message, { error: cause })
      throw new JournalError('journal-read-failed', message, { cause })
    }) : undefined
    if (!store || !key || !raw) return null
    let resumable: Resumable
    try {
      const { readSession } = await import('../journal/read.js')
      const journal = readSession(raw)
      const own = new Map((journal.snapshot.own ?? []).map((bytes) => [this.keptDelta(bytes).id, bytes]))
      resumable = { sessionId: journal.identity.sessionId, journal, deltas: journal.deltas.map((d) => this.keptDelta(d.bytes)), own }
    } catch (cause) {
      // Never half-read: nothing of it was used. It cannot be read by this page ever, so it goes.
      this.tab()?.removeItem(TAB_KEY)
      await store.drop(key)
      throw cause instanceof JournalError ? cause : new JournalError('journal-corrupt', `The session journal is damaged: ${(cause as Error)?.message ?? String(cause)}`, { cause })
    }
    const { identity } = resumable.journal
    this.core.self = { ...this.core.self, id: identity.userId, name: identity.name }
    this.resumable = resumable
    const { sessionId } = resumable
    const seq = contiguous(resumable).seq
    if (invite === undefined) return { sessionId, seq, needsInvite: true }
    const { answerCode, relayed } = await join(invite)
    return { sessionId, seq, needsInvite: false, join: { answerCode, relayed } }
  }

  /** The resumed session's state, as it was: sequence, dedupe, replay log, outbox, then the providers'. */
  private takeBack(session: Session, resumable: Resumable): void {
    const { journal } = resumable
    const { seq, deltas } = contiguous(resumable)
    session.bootstrapped = true
    session.seq = seq
    session.snapshotSeq = journal.snapshot.seq
    session.epoch = this.heldEpoch = journal.identity.epoch
    session.resumeToken = journal.identity.resumeToken ?? null
    session.seen.reset([...journal.snapshot.ids, ...deltas.map((d) => d.id)])
    const bytes = new Map(journal.deltas.map((d) => [d.seq, d.bytes]))
    for (const [id, own] of resumable.own) session.ownChanges.set(id, own)
    for (const delta of deltas) {
      session.replay.add(delta.seq, bytes.get(delta.seq)!)
      // Our own kept apart too, as a follower keeps them: the host's snapshot clears the log, and
      // that host may be lost before it applies what we hand it over (seed 1171834).
      if (delta.origin === journal.identity.userId) session.ownChanges.set(delta.id, bytes.get(delta.seq)!)
    }
    this.lastSeq = seq
    this.sinceSnapshot = { deltas: deltas.length, bytes: deltas.reduce((sum, d) => sum + bytes.get(d.seq)!.byteLength, 0), base: approximateSize(journal.snapshot.entries) }
    for (const intent of journal.outbox) if (!session.seen.has(intent.intentId)) this.requeue(session, intent)
    this.rejoining = { session, epoch: journal.identity.epoch, seq, hosted: journal.identity.role === 'host', lineage: ofDeltas(deltas) }
    this.parts.links.serial(() => this.restoreProviders(journal.snapshot, deltas))
  }

  private requeue(session: Session, intent: JournalIntent): void {
    const listener = session.outbox.listener
    session.outbox.listener = undefined
    session.outbox.add({ ...intent, json: JSON.stringify(intent.payload) })
    session.outbox.listener = listener
  }

  private async restoreProviders(snapshot: SessionJournal['snapshot'], deltas: MessageOf<'delta'>[]): Promise<void> {
    await this.parts.restoring.restoreEntries(snapshot.entries)
    // Every pending change (the journal's outbox, and any made here since resume() began) was
    // applied to a state this restore replaced: its delta is applied when it comes.
    for (const entry of this.s.outbox.pending()) entry.overwritten = true
    // A whole snapshot, from the journal rather than the host.
    if (snapshot.entries.length) this.core.emit('session-bootstrap-complete', { entries: snapshot.entries.length, seq: snapshot.seq })
    // Changes kept beside the snapshot (for providers the page that wrote it lacked), then the log after it.
    for (const delta of [...(snapshot.held ?? []).map((d) => this.keptDelta(d.bytes)), ...deltas]) await this.parts.restoring.applyKept(delta)
  }

  /** A journaled delta, validated as it came off the wire: another protocol version is refused as a whole. */
  private keptDelta(bytes: Uint8Array): MessageOf<'delta'> {
    let message
    try {
      message = this.parts.follower.keptDelta(bytes)
    } catch (cause) {
      const version = cause instanceof WireError && cause.code === 'wire-version'
      throw new JournalError(version ? 'journal-version' : 'journal-corrupt', `A journaled change cannot be read: ${(cause as Error).message}`, { cause })
    }
    if (message.t !== 'delta') throw new JournalError('journal-corrupt', `The journal's log holds a "${message.t}" message, not a delta.`)
    return message
  }

  private tab(): TabStorage | undefined {
    const option = this.core.options.journal
    if (option === false) return undefined
    try {
      return option?.tabStorage ?? (typeof sessionStorage === 'undefined' ? undefined : sessionStorage)
    } catch {
      return undefined // storage blocked (a sandboxed frame): no resume, the session goes on
    }
  }
}

/** The journal's deltas that follow its snapshot without a gap (a lost batch leaves one): the rest the host sends again. */
function contiguous({ journal, deltas }: Resumable): { seq: number; deltas: MessageOf<'delta'>[] } {
  let seq = journal.snapshot.seq
  const kept: MessageOf<'delta'>[] = []
  for (const delta of deltas) {
    if (delta.seq <= seq) continue
    if (delta.seq !== seq + 1) break
    kept.push(delta)
    seq = delta.seq
  }
  return { seq, deltas: kept }
}
