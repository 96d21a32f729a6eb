import { describe, expect, it } from 'vitest'
import { simulate } from './simulate.js'
import { REGRESSION_SEEDS } from './regressions.js'

const first = Number(process.env.SIM_FROM ?? 1)
const count = Number(process.env.SIM_SEEDS ?? 300)

async function runSeeds(seeds: Iterable<number>): Promise<string[]> {
  const failed: string[] = []
  for (const seed of seeds) {
    const result = await simulate(seed)
    if (result.failures.length) {
      failed.push(`seed ${seed}: ${result.failures.join('; ')}\n  replay: SIM_SEED=${seed} npx vitest run test/sim/replay.test.ts`)
    }
  }
  return failed
}

describe('deterministic fault-injection simulation', () => {
  it('replays a seed to the identical trace', async () => {
    const a = await simulate(4242)
    const b = await simulate(4242)
    expect(a.trace.length).toBeGreaterThan(20)
    expect(b.trace).toEqual(a.trace)
  })

  it('holds every invariant for the seeds that once found bugs', async () => {
    expect(await runSeeds(REGRESSION_SEEDS)).toEqual([])
  })

  it(`holds every invariant for seeds ${first}..${first + count - 1}`, async () => {
    expect(await runSeeds(Array.from({ length: count }, (_, i) => first + i))).toEqual([])
  }, 600_000)
})
