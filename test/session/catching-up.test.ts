/**
 * `session-catching-up`: the Backlog's bounds alone (with hysteresis, and the slow-queue
 * path), then a guest whose provider is slow while the host streams small changes.
 */
import { describe, expect, it } from 'vitest'
import type { SessionDeltaMeta } from '../../src/index.js'
import { Backlog } from '../../src/session/backlog.js'
import { KvProvider } from '../helpers/kv-provider.js'
import { eventsOf, TestSession } from '../helpers/session.js'

function backlog() {
  let now = 0
  const reports: Array<[boolean, number]> = []
  const b = new Backlog({ behindAt: 100, caughtUpAt: 10, busyMs: 1_000 }, { now: () => now, setTimeout: () => 0, clearTimeout: () => {} } as never, (behind, pending) => reports.push([behind, pending]))
  return { b, reports, at: (ms: number) => void (now = ms) }
}

describe('Backlog', () => {
  it('is behind from behindAt waiting, caught up only at caughtUpAt: a queue hovering between does not flicker', () => {
    const { b, reports } = backlog()
    for (let n = 1; n <= 99; n++) b.grew(n)
    expect(reports).toEqual([])
    b.grew(100)
    b.grew(101)
    expect(reports).toEqual([[true, 100]])
    for (let n = 100; n >= 11; n--) b.shrank(n)
    // Up and down between the bounds: still behind, said once.
    for (let i = 0; i < 5; i++) {
      b.grew(50)
      b.shrank(49)
    }
    expect(reports).toEqual([[true, 100]])
    b.shrank(10)
    expect(reports).toEqual([[true, 100], [false, 10]])
    expect(b.behind).toBe(false)
  })

  it('a few slow messages that have waited busyMs without a break are behind too; a queue that emptied meanwhile starts its wait again', () => {
    const { b, reports, at } = backlog()
    at(1_000)
    for (let n = 1; n <= 20; n++) b.grew(n)
    at(1_999)
    b.sliced(20, 1_999)
    expect(reports).toEqual([])
    // Down to the bound and up again: the wait counts from there.
    b.shrank(10)
    at(2_500)
    b.grew(11)
    b.sliced(11, 3_000)
    expect(reports).toEqual([])
    b.sliced(11, 3_500)
    expect(reports).toEqual([[true, 11]])
    b.shrank(10)
    expect(reports).toEqual([[true, 11], [false, 10]])
    // Few waiting, however long: not behind.
    b.sliced(5, 10_000)
    expect(reports).toHaveLength(2)
  })
})

/** A provider whose changes, on the page that sets `hold`, wait until it is released. */
class SlowKv extends KvProvider {
  private gate: Promise<void> | null = null
  private open: (() => void) | null = null

  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve))
  }

  release(): void {
    this.open?.()
    this.gate = null
  }

  override applyDelta(delta: Parameters<KvProvider['applyDelta']>[0], meta: SessionDeltaMeta) {
    const gate = this.gate
    // The contract lets applyDelta be async; KvProvider's own type says it never is.
    return gate ? (gate.then(() => super.applyDelta(delta, meta)) as never) : super.applyDelta(delta, meta)
  }
}

describe('session-catching-up', () => {
  it('a guest behind on a long stream of the host’s small changes says so, then that it caught up; a short burst says nothing', async () => {
    const s = new TestSession()
    const host = s.peer('host')
    const guest = s.peer('g1')
    const slow = { host: new SlowKv('slow'), guest: new SlowKv('slow') }
    host.controller.registerProvider(slow.host)
    guest.controller.registerProvider(slow.guest)
    await host.controller.start()
    await s.connect(host, guest)

    for (let i = 0; i < 50; i++) slow.host.set(`burst${i}`, i)
    await s.settle()
    expect(slow.guest.applied).toHaveLength(50)
    expect(eventsOf(guest, 'session-catching-up')).toEqual([])

    slow.guest.hold()
    for (let i = 0; i < 300; i++) slow.host.set(`k${i}`, i)
    await s.settle()
    expect(eventsOf(guest, 'session-catching-up')).toEqual([{ behind: true, pending: 100 }])
    expect(guest.controller.getState()).toBe('connected')
    slow.guest.release()
    await s.settle()
    expect(slow.guest.applied).toHaveLength(350)
    expect(eventsOf(guest, 'session-catching-up')).toEqual([{ behind: true, pending: 100 }, { behind: false, pending: 10 }])
    expect(eventsOf(host, 'session-catching-up')).toEqual([])
  })
})
