/**
 * `SIM_SEED=n npx vitest run test/sim/replay.test.ts`: one seed, with its readable trace.
 * `SIM_MODES=none` replays it with every mode off (as the seeds in REGRESSION_SEEDS run),
 * `SIM_MODES=classic` with the split, background and crowd modes off (CLASSIC_REGRESSION_SEEDS),
 * `SIM_MODES=splits` with silent closes off (SPLIT_REGRESSION_SEEDS), `SIM_MODES=closes` with
 * one-way cuts off (MODE_REGRESSION_SEEDS), `SIM_MODES=cuts` with compacting journals off
 * (ONE_WAY_REGRESSION_SEEDS), `SIM_MODES=compacts` with disk faults off (COMPACT_REGRESSION_SEEDS).
 */
import { expect, it } from 'vitest'
import { type ModeSet, modesFor, simulate } from './simulate.js'

const seed = Number(process.env.SIM_SEED)

it.skipIf(!Number.isFinite(seed))(`replays seed ${seed}`, async () => {
  const result = await simulate(seed, undefined, modesFor(seed, (process.env.SIM_MODES ?? 'all') as ModeSet))
  console.log(`modes: ${JSON.stringify(result.modes)}\n${result.trace.join('\n')}`)
  console.log(result.failures.length ? `FAILURES:\n${result.failures.join('\n')}` : 'all invariants hold')
  expect(result.failures).toEqual([])
})
