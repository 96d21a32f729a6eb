import { describe, expect, it } from 'vitest'
import { epochAt, extended, ofDeltas, spliced } from '../../src/session/lineage.js'

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

  it("splices a history that is one lineage's up to a sequence number and another's after it", () => {
    // Ours (epoch 4 from #1) up to #1; the host's after: epoch 1 issued #2, epoch 2 from #3.
    const host: Array<[number, number]> = [[1, 0], [2, 2]]
    expect(spliced([[4, 0]], 1, host)).toEqual([[4, 0], [1, 1], [2, 2]])
    expect([1, 2, 3].map((seq) => epochAt(spliced([[4, 0]], 1, host), seq))).toEqual([4, 1, 2])
    // Where the two agree, the host's lineage itself; nothing of ours at all, the host's.
    expect(spliced([[1, 0]], 1, host)).toEqual(host)
    expect(spliced([[3, 0]], 0, host)).toEqual(host)
    // Past the host's last epoch change, ours then the host's epoch.
    expect(spliced([[1, 0], [3, 5]], 7, host)).toEqual([[1, 0], [3, 5], [2, 7]])
  })

  it("a journal's deltas: their epochs, and before them epoch 0, which agrees with nobody's history", () => {
    const lineage = ofDeltas([{ epoch: 1, seq: 5 }, { epoch: 1, seq: 6 }, { epoch: 3, seq: 7 }])
    expect(lineage).toEqual([[0, 0], [1, 4], [3, 6]])
    expect([4, 5, 6, 7, 8].map((seq) => epochAt(lineage, seq))).toEqual([0, 1, 1, 3, 3])
    expect(ofDeltas([])).toEqual([[0, 0]])
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
