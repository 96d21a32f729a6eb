/**
 * The soak: a hostile guest streams one message of every wire type, and those that cost a
 * host the most to keep or answer, five times a second for ten simulated minutes, while
 * the honest peers work. Every honest peer's tracked bytes stay within budget throughout,
 * plateau rather than grow, and the session goes on.
 */
import { describe, expect, it } from 'vitest'
import { seededRandom } from '../../src/testing.js'
import { TestSession } from '../helpers/session.js'
import { HostileGuest } from './hostile.js'
import { overBudget } from './invariants.js'

const MINUTES = 10
const limits = { dedupeSize: 400, replayLogSize: 200, replayLogBytes: 64 * 1024, viewStateSize: 32, declinedSize: 64, reorderBufferSize: 64, reorderBufferBytes: 64 * 1024 }

describe('soak', () => {
  it(`a hostile guest flooding every message type for ${MINUTES} simulated minutes leaves every honest peer within budget`, async () => {
    const s = new TestSession(21)
    const host = s.peer('host', { limits })
    await host.controller.start()
    const honest = [host, s.peer('g1', { limits }), s.peer('g2', { limits })]
    for (const guest of honest.slice(1)) await s.connect(host, guest)
    const mallory = s.peer('mallory', { limits })
    // A viewer: every change it asks for is declined, and remembered as declined.
    const inviteId = await s.connect(host, mallory, 'viewer')
    const hostile = new HostileGuest(s, mallory, seededRandom(99), inviteId, () => {})
    const total: number[] = []
    for (let second = 1; second <= MINUTES * 60; second++) {
      for (let i = 0; i < 5; i++) hostile.flood()
      honest[second % 3]!.kv.set(`k${second % 50}`, second)
      await s.settle(1_000)
      if (second % 30 === 0) {
        for (const p of honest) expect(overBudget(p)).toEqual([])
        total.push(honest.reduce((sum, p) => sum + p.controller.getStats().bytes, 0))
      }
    }
    hostile.stop()
    // The flood reached the budgets it aimed at: they held by evicting, not by never filling.
    const caches = host.controller.getStats().caches
    expect(caches.declined.entries).toBeGreaterThanOrEqual(limits.declinedSize)
    expect(caches.viewState.entries).toBeGreaterThanOrEqual(limits.viewStateSize)
    expect(host.events.filter((e) => e.type === 'session-diagnostic').length).toBeGreaterThan(MINUTES * 60 * 5)
    await s.settle(5_000)
    // Bytes plateau once every cache is full (the dedupe window fills last, at one change a
    // second): the last two minutes hold no more than minute eight did, give or take 5 %.
    const atEight = total[(8 * 60) / 30 - 1]!
    expect(Math.max(...total.slice((8 * 60) / 30))).toBeLessThanOrEqual(atEight * 1.05)
    expect(host.controller.getRole()).toBe('host')
    for (const p of honest) {
      expect(p.controller.getState()).toBe('connected')
      expect(p.kv.store()).toEqual(host.kv.store())
    }
  }, 120_000)
})
