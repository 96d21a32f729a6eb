import { afterEach, describe, expect, it, vi } from 'vitest'
import { atEndOfTask } from '../../src/transport/end-of-task.js'

describe('atEndOfTask', () => {
  afterEach(() => vi.restoreAllMocks())

  it('runs each item once after the synchronous code, in order, with those that join meanwhile; one that throws stops no other', async () => {
    const ran: string[] = []
    const item = (name: string, also?: () => void) => ({ endOfTask: () => (ran.push(name), also?.()) })
    const rethrown: Array<() => void> = []
    vi.spyOn(globalThis, 'queueMicrotask').mockImplementation((callback) => void rethrown.push(callback))
    const late = item('late')
    atEndOfTask(item('a', () => atEndOfTask(late)))
    atEndOfTask({ endOfTask: () => { ran.push('throws'); throw new Error('boom') } })
    atEndOfTask(item('b'))
    expect(ran).toEqual([])
    await Promise.resolve()
    expect(ran).toEqual(['a', 'throws', 'b', 'late'])
    // The error is not swallowed: it is thrown again in a microtask of its own.
    expect(rethrown).toHaveLength(1)
    expect(() => rethrown[0]!()).toThrow('boom')
    // The next task starts afresh.
    atEndOfTask(item('next'))
    await Promise.resolve()
    expect(ran.at(-1)).toBe('next')
    expect(ran.filter((name) => name === 'a')).toHaveLength(1)
  })
})
