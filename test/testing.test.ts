/**
 * The read-only views of src/testing.ts: what tests and benchmarks use instead of the
 * controller's private fields.
 */
import { describe, expect, it } from 'vitest'
import { boundedSizes, linkOf, onIntentSettled } from '../src/testing.js'
import { TestSession } from './helpers/session.js'

describe('session-sync/testing', () => {
  it('linkOf: the direct link to a peer in the current session, and none otherwise', async () => {
    const s = await TestSession.started(2)
    const [guest] = s.guests
    const link = linkOf(s.host.controller, guest!.controller.getSelf().id)
    expect(link?.open).toBe(true)
    expect(linkOf(s.host.controller, 'nobody')).toBeUndefined()
    await s.host.controller.end()
    expect(linkOf(s.host.controller, guest!.controller.getSelf().id)).toBeUndefined()
    expect(() => linkOf({} as never, 'x')).toThrow(TypeError)
  })

  it('onIntentSettled: each of this guest\'s intents once the host confirms it, until stopped', async () => {
    const s = await TestSession.started(2)
    const [guest] = s.guests
    expect(() => onIntentSettled(s.peer('idle').controller, () => {})).toThrow()
    const settled: string[] = []
    const stop = onIntentSettled(guest!.controller, (id) => settled.push(id))
    const first = guest!.kv.set('a', 1)
    expect(guest!.controller.pendingIntents).toBe(1)
    await s.settle()
    expect(settled).toEqual([first])
    stop()
    guest!.kv.set('b', 2)
    await s.settle()
    expect(settled).toEqual([first])
    expect(guest!.controller.pendingIntents).toBe(0)
  })

  it('boundedSizes: the sizes of the caches, -1 for a session\'s when there is none', async () => {
    const s = await TestSession.started(2)
    const [guest] = s.guests
    guest!.kv.set('a', 1)
    await s.settle()
    expect(boundedSizes(guest!.controller)).toMatchObject({ seen: 1, outbox: 0, replay: 1, reorder: 0, earlyDeltas: 0 })
    expect(boundedSizes(s.host.controller)).toMatchObject({ seen: 1, replay: 1, usedInvites: 1 })
    expect(boundedSizes(s.peer('idle').controller)).toMatchObject({ seen: -1, outbox: -1, replay: -1, formerNames: 0, usedInvites: 0 })
  })
})
