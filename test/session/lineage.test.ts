import { describe, expect, it } from 'vitest'
import { epochAt, extended } from '../../src/session/lineage.js'

describe('lineage', () => {
  it('names the epoch that issued each sequence number, and none before its first entry', () => {
    const lineage = extended(extended([[1, 0]], 2, 3), 3, 4)
    expect(lineage).toEqual([[1, 0], [2, 3], [3, 4]])
    expect([1, 3, 4, 5, 99].map((seq) => epochAt(lineage, seq))).toEqual([1, 1, 2, 3, 3])
    expect(epochAt([[4, 10]], 10)).toBeUndefined()
    expect(epochAt([], 1)).toBeUndefined()
  })

  it('drops what the new host never held: epochs that began past its history, and its own older claims', () => {
    // Elected at #3, following a lineage whose epoch 2 began after #5: that epoch is not in its history.
    expect(extended([[1, 0], [2, 5]], 3, 3)).toEqual([[1, 0], [3, 3]])
    expect(extended([[1, 0], [2, 3]], 2, 7)).toEqual([[1, 0], [2, 7]])
  })

  it('keeps the newest 64 epochs', () => {
    let lineage = extended([], 1, 0)
    for (let epoch = 2; epoch <= 100; epoch++) lineage = extended(lineage, epoch, epoch * 10)
    expect(lineage).toHaveLength(64)
    expect(lineage.at(-1)).toEqual([100, 1000])
    expect(epochAt(lineage, 1001)).toBe(100)
    expect(epochAt(lineage, 10)).toBeUndefined()
  })
})
