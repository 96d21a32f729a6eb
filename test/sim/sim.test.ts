import { describe, expect, it } from 'vitest'
import { simulate } from './simulate.js'
import { REGRESSION_SEEDS, failingSeeds, seedsOf } from './seeds.js'

describe('deterministic fault-injection simulation', () => {
  it('replays a seed to the identical trace', async () => {
    const a = await simulate(4242)
    const b = await simulate(4242)
    expect(a.trace.length).toBeGreaterThan(20)
    expect(b.trace).toEqual(a.trace)
  })

  it('holds every invariant for the seeds that once found bugs', async () => {
    expect(await failingSeeds(REGRESSION_SEEDS)).toEqual([])
  })

  it('holds every invariant for random seeds (part 1 of 2)', async () => {
    expect(await failingSeeds(seedsOf(0, 2))).toEqual([])
  }, 900_000)
})
