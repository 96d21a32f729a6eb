import { expect } from 'vitest'
import { MemoryJournal } from '../../src/journal/memory.js'
import type { JournalBatch, TabStorage } from '../../src/journal/store.js'
import type { Clock } from '../../src/runtime/clock.js'
import type { JournalLimits } from '../../src/session/options.js'
import { type TestPeer, TestSession } from '../helpers/session.js'

/** A tab's sessionStorage: it survives a reload of that tab, and only that tab sees it. */
export class TabMemory implements TabStorage {
  private readonly items = new Map<string, string>()
  getItem(key: string): string | null {
    return this.items.get(key) ?? null
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value)
  }
  removeItem(key: string): void {
    this.items.delete(key)
  }
}

/** What outlives a page: its profile's journal and its tab's storage. */
export interface Disk {
  journal: MemoryJournal
  tab: TabMemory
}

export function disk(journal = new MemoryJournal()): Disk {
  return { journal, tab: new TabMemory() }
}

/**
 * A page of user `user` on `disk`. The endpoint name differs per page load (a reload is a
 * new page on the network); the user id is the user's.
 */
export function page(s: TestSession, endpoint: string, user: string, on: Disk, limits: Partial<JournalLimits> = {}): TestPeer {
  return s.peer(endpoint, { user: { id: `u-${user}`, name: user }, journal: { store: on.journal, tabStorage: on.tab, limits } })
}

/** A reloaded page resumes through a fresh invite of `inviter` (host or guest); resolves once the attempt has settled, whatever came of it. */
export async function resumeWith(s: TestSession, inviter: TestPeer, reloaded: TestPeer) {
  const invite = await inviter.controller.createInvite()
  const result = await reloaded.controller.resume(invite.url)
  expect(result?.join).toBeDefined()
  const accepted = inviter.controller.acceptAnswer(result!.join!.answerCode)
  await s.settle()
  await accepted
  await s.settle(500)
  return result!
}

/** A host and its guests, each a page on a disk of its own, all connected. */
export async function journaledSession(seed: number, guestNames: string[]): Promise<{ s: TestSession; host: TestPeer; guests: TestPeer[]; disks: Map<string, Disk> }> {
  const s = new TestSession(seed)
  const disks = new Map<string, Disk>()
  const pageOf = (name: string) => {
    disks.set(name, disk())
    return page(s, name, name, disks.get(name)!)
  }
  const host = pageOf('host')
  await host.controller.start()
  const guests: TestPeer[] = []
  for (const name of guestNames) {
    guests.push(pageOf(name))
    await s.connect(host, guests.at(-1)!)
  }
  return { s, host, guests, disks }
}

/**
 * What a page's writes to `journal` meet, as IndexedDB under pressure: `fail` refuses the next
 * writes (an aborted transaction, or a full disk), `slowMs` makes each take that long on `clock`.
 * Every call is recorded with its clock time.
 */
export function faultyWrites(journal: MemoryJournal, clock: Clock) {
  const write = journal.write.bind(journal)
  const faults = { fail: 0, error: (): Error => new DOMException('The transaction was aborted.', 'AbortError'), slowMs: 0, calls: [] as Array<{ at: number; batch: JournalBatch }> }
  journal.write = async (key, batch) => {
    faults.calls.push({ at: clock.now(), batch })
    if (faults.fail > 0) {
      faults.fail--
      throw faults.error()
    }
    if (faults.slowMs > 0) await new Promise<void>((done) => clock.setTimeout(done, faults.slowMs))
    return write(key, batch)
  }
  return faults
}
