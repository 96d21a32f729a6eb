/**
 * The simulator's disk-fault mode (reload seeds only): each user's journal behaves as IndexedDB
 * does under pressure, not as a store that never fails. For spans of the run a user's disk
 * refuses writes (QuotaExceededError, or a transaction aborted by another tab or by eviction:
 * each write of the span fails more often than not, so a retry sometimes lands) or makes them
 * slow (seconds each, on the page's own clock: a page frozen or crashed meanwhile finishes
 * late or never). At a reload the old page's writes still under way are aborted (the browser
 * closes a departing document's connections), the resume's read may fail (once or twice), and
 * the whole origin's storage may be found cleared.
 *
 * Its draws come from a generator of its own, so a seed without the mode runs as before it existed.
 * Each page reaches the disk through a `FaultyJournal` of its own, which counts what it failed:
 * every failure must be told to the page's app as a diagnostic (`unreported`).
 */
import { JournalError, SessionError } from '../../src/errors.js'
import type { MemoryJournal } from '../../src/journal/memory.js'
import type { Journal, JournalBatch, RawJournal } from '../../src/journal/store.js'
import type { Clock } from '../../src/runtime/clock.js'
import { DEFAULT_JOURNAL_LIMITS } from '../../src/session/options.js'
import { type Random, seededRandom } from '../../src/runtime/random.js'
import type { TestPeer } from '../helpers/session.js'
import type { Disk } from '../journal/helpers.js'

type Span = { kind: 'quota' | 'abort' | 'slow'; until: number }

/** Failures a page's store injected: each must reach that page's app as a diagnostic of this code. */
const REPORTED_AS = { quota: 'journal-quota', abort: 'journal-write-failed', read: 'journal-read-failed' } as const

/** One page's way to its user's disk: the disk's faults applied, and counted. */
class FaultyJournal implements Journal {
  readonly failed = { quota: 0, abort: 0, read: 0 }
  private closed = false
  /** Slow writes under way. */
  private slow = 0

  constructor(private readonly disk: Disk, private readonly mode: DiskFaults, private readonly clock: Clock) {}

  /**
   * The page is gone (reloaded or crashed): what it still writes never lands, nor do its drops.
   * A write under way is lost now (and whatever the page had queued behind it), not when it would have ended.
   */
  close(): void {
    this.closed = true
    if (this.slow > 0) this.mode.lost(this.disk)
  }

  private get inner(): MemoryJournal {
    return this.disk.journal
  }

  async write(key: string, batch: JournalBatch): Promise<void> {
    const span = this.mode.spanOn(this.disk)
    if (span?.kind === 'slow') {
      this.slow++
      await new Promise<void>((done) => this.clock.setTimeout(done, this.mode.between(500, 5_000)))
      this.slow--
    } else if (span && !this.closed && this.mode.chance(0.6)) {
      this.failed[span.kind]++
      this.mode.lost(this.disk)
      throw span.kind === 'quota'
        ? new JournalError('journal-quota', 'The browser refused to store more of the journal (quota exceeded).')
        : new DOMException('The transaction was aborted.', 'AbortError')
    }
    return this.closed ? gone() : this.inner.write(key, batch)
  }

  read(key: string): Promise<RawJournal | undefined> {
    if (this.closed) return gone()
    if (this.mode.takeFailedRead(this.disk)) {
      this.failed.read++
      return Promise.reject(new DOMException('The database could not be read.', 'UnknownError'))
    }
    return this.inner.read(key)
  }

  // Listing and dropping journals (eviction, giving a journal up) fail in a span of errors too: a drop is a write.
  sessions = () => (this.closed ? gone<never>() : (this.refused() ?? this.inner.sessions()))
  drop = (key: string) => (this.closed ? gone<void>() : (this.refused() ?? this.inner.drop(key)))

  private refused(): Promise<never> | undefined {
    const span = this.mode.spanOn(this.disk)
    if (!span || span.kind === 'slow' || !this.mode.chance(0.6)) return undefined
    this.mode.lost(this.disk)
    return Promise.reject(new DOMException('The transaction was aborted.', 'AbortError'))
  }
  listSaved = () => this.inner.listSaved()
  getSaved = (name: string) => this.inner.getSaved(name)
  addSaved = (saved: Parameters<Journal['addSaved']>[0]) => this.inner.addSaved(saved)
  removeSaved = (name: string) => this.inner.removeSaved(name)
  clearSaved = () => this.inner.clearSaved()
}

/** What a departed page's storage calls wait on: nothing (its document is gone). */
function gone<T>(): Promise<T> {
  return new Promise<T>(() => undefined)
}

export class DiskFaults {
  private readonly rng: Random
  private readonly spans = new Map<Disk, Span>()
  private readonly failingReads = new Map<Disk, number>()
  private readonly lossy = new Set<Disk>()
  /** Resumes that failed with an error the app cannot tell apart (not a SessionError). */
  private readonly untyped: string[] = []
  /** Each page's store, by page name; and each disk's newest page's. */
  private readonly stores = new Map<string, FaultyJournal>()
  private readonly newest = new Map<Disk, FaultyJournal>()

  constructor(seed: number, private readonly now: () => number, private readonly log: (line: string) => void) {
    this.rng = seededRandom(seed ^ 0xd15cfa17)
  }

  chance(p: number): boolean {
    return this.rng.next() < p
  }

  between(min: number, max: number): number {
    return min + Math.floor(this.rng.next() * (max - min + 1))
  }

  pick<T>(items: readonly T[]): T | undefined {
    return items[Math.floor(this.rng.next() * items.length)]
  }

  /** The store page `name` journals into on `disk`; a page loaded over the disk ends its previous page's writes. */
  storeFor(name: string, disk: Disk, clock: Clock): Journal {
    this.newest.get(disk)?.close()
    const store = new FaultyJournal(disk, this, clock)
    this.stores.set(name, store)
    this.newest.set(disk, store)
    return store
  }

  /** A span of refused or slow writes begins on `disk` (`user` names it in the trace). */
  strike(disk: Disk, user: string, spanMs: number): void {
    const kind = this.pick(['quota', 'abort', 'slow'] as const)!
    const ms = this.between(1_000, spanMs)
    this.spans.set(disk, { kind, until: this.now() + ms })
    this.log(`disk of ${user}: ${kind === 'slow' ? 'slow writes' : `${kind} errors`} for ${ms}`)
  }

  spanOn(disk: Disk): Span | undefined {
    const span = this.spans.get(disk)
    return span && span.until > this.now() ? span : undefined
  }

  takeFailedRead(disk: Disk): boolean {
    const left = this.failingReads.get(disk) ?? 0
    if (left > 0) this.failingReads.set(disk, left - 1)
    return left > 0
  }

  /**
   * The user's page `name` is gone (crashed or closed, to be loaded again): its writes still under
   * way are aborted; the origin's storage may be cleared before the reload, and its resume's read fail.
   * True when the disk may have lost a write (of this page's, or of an earlier page's whose journal it took over).
   */
  async reloading(name: string, disk: Disk, user: string): Promise<boolean> {
    this.stores.get(name)?.close()
    if (this.chance(0.15)) {
      for (const { key } of await disk.journal.sessions()) await disk.journal.drop(key)
      this.log(`storage of ${user} cleared before the reload`)
      this.lossy.add(disk)
    }
    if (this.chance(0.3)) {
      const reads = this.chance(0.3) ? 2 : 1
      this.failingReads.set(disk, reads)
      this.log(`disk of ${user}: the next ${reads} read(s) fail`)
    }
    return this.lossy.has(disk)
  }

  /** A write to `disk` never landed (refused, or aborted with its page). */
  lost(disk: Disk): void {
    this.lossy.add(disk)
  }

  /** A page's `resume()` failed: with a typed error, or it is a failure. */
  resumeFailed(page: string, error: unknown): void {
    if (!(error instanceof SessionError)) this.untyped.push(`${page}'s resume() failed with an untyped error: ${String(error)}`)
  }

  /**
   * Live pages whose journal stopped: `flushJournal()` rejected (a failure escaped the write queue, and no
   * later batch would be written) or never resolved. Checked last: it lets time pass.
   */
  async stopped(peers: readonly TestPeer[], settle: (ms: number) => Promise<void>): Promise<string[]> {
    const outcomes = peers.map((p) => {
      const outcome = { page: p.name, result: 'pending' }
      p.controller.flushJournal().then(() => (outcome.result = 'ok'), (error: unknown) => (outcome.result = `rejected: ${String(error)}`))
      return outcome
    })
    // Past the slowest write, and past every wait of the retry policy: a failed write is tried again only after it.
    await settle(6_000 + DEFAULT_JOURNAL_LIMITS.writeRetryMs.reduce((sum, ms) => sum + ms, 0))
    return outcomes.filter((o) => o.result !== 'ok').map((o) => `${o.page}'s journal stopped: flushJournal() ${o.result}`)
  }

  /** Pages whose store failed a write or a read that no diagnostic of theirs reported; resumes that failed untyped. */
  unreported(peers: readonly TestPeer[]): string[] {
    return [...this.untyped, ...peers.flatMap((p) => {
      const store = this.stores.get(p.name)
      if (!store) return []
      return (Object.keys(REPORTED_AS) as Array<keyof typeof REPORTED_AS>).flatMap((kind) => {
        const code = REPORTED_AS[kind]
        const told = p.events.filter((e) => e.type === 'session-diagnostic' && (e.payload as { code: string }).code === code).length
        return told === store.failed[kind] ? [] : [`${p.name}'s journal failed ${store.failed[kind]} ${kind === 'read' ? 'read' : 'write'}(s) (${kind}), told as ${told} ${code} diagnostic(s)`]
      })
    })]
  }
}
