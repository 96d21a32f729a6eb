import { CLASSIC_REGRESSION_SEEDS, COLLUDE_REGRESSION_SEEDS, COMPACT_REGRESSION_SEEDS, DISK_FAULT_REGRESSION_SEEDS, MODE_REGRESSION_SEEDS, ONE_WAY_REGRESSION_SEEDS, REGRESSION_SEEDS, SPLIT_REGRESSION_SEEDS } from './regressions.js'
import { type ModeSet, modesFor, simulate } from './simulate.js'

/** How many random seeds a test run covers (SIM_SEEDS to change), split over the sim test files. */
export const SEEDS = Number(process.env.SIM_SEEDS ?? 10_000)
export const FIRST_SEED = Number(process.env.SIM_FROM ?? 1)

/** Seeds of part `part` (0-based) of `parts`: interleaved, so each part gets a fair mix. */
export function seedsOf(part: number, parts: number): number[] {
  return Array.from({ length: SEEDS }, (_, i) => FIRST_SEED + i).filter((_, i) => i % parts === part)
}

/**
 * Runs seeds with the modes of `set` (see `ModeSet`); returns one line per failing seed,
 * with the command that replays it.
 */
export async function failingSeeds(seeds: Iterable<number>, set: ModeSet = 'all'): Promise<string[]> {
  const failed: string[] = []
  for (const seed of seeds) {
    const result = await simulate(seed, undefined, modesFor(seed, set))
    if (result.failures.length) {
      const replay = `SIM_SEED=${seed}${set === 'all' ? '' : ` SIM_MODES=${set}`} npx vitest run test/sim/replay.test.ts`
      failed.push(`seed ${seed}: ${result.failures.join('; ')}\n  replay: ${replay}`)
    }
  }
  return failed
}

export { CLASSIC_REGRESSION_SEEDS, COLLUDE_REGRESSION_SEEDS, COMPACT_REGRESSION_SEEDS, DISK_FAULT_REGRESSION_SEEDS, MODE_REGRESSION_SEEDS, ONE_WAY_REGRESSION_SEEDS, REGRESSION_SEEDS, SPLIT_REGRESSION_SEEDS }
