import { urlAlphabet } from 'nanoid'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { systemRandom } from '../../src/runtime/random.js'

describe('systemRandom', () => {
  afterEach(() => vi.restoreAllMocks())

  it('makes ids of the asked size from the url-safe alphabet, none twice, from the CSPRNG a pool at a time', () => {
    const fill = vi.spyOn(crypto, 'getRandomValues')
    const ids = Array.from({ length: 2_000 }, (_, i) => systemRandom.id(i % 2 ? 16 : undefined))
    expect(new Set(ids).size).toBe(ids.length)
    for (const [i, id] of ids.entries()) {
      expect(id).toHaveLength(i % 2 ? 16 : 21)
      expect([...id].every((c) => urlAlphabet.includes(c))).toBe(true)
    }
    // 37,000 random bytes: a call per pool of 1 KiB, not one per id.
    expect(fill.mock.calls.length).toBeGreaterThan(0)
    expect(fill.mock.calls.length).toBeLessThan(ids.length / 20)
  })

  it('serves an id longer than the pool', () => {
    const id = systemRandom.id(3_000)
    expect(id).toHaveLength(3_000)
    expect(new Set(id).size).toBeGreaterThan(60)
  })
})
