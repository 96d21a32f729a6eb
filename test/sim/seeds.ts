import { REGRESSION_SEEDS } from './regressions.js'
import { simulate } from './simulate.js'

/** How many random seeds a test run covers (SIM_SEEDS to change), split over the sim test files. */
export const SEEDS = Number(process.env.SIM_SEEDS ?? 10_000)
export const FIRST_SEED = Number(process.env.SIM_FROM ?? 1)

/** Seeds of part `part` (0-based) of `parts`: interleaved, so each part gets a fair mix. */
export function seedsOf(part: number, parts: number): number[] {
  return Array.from({ length: SEEDS }, (_, i) => FIRST_SEED + i).filter((_, i) => i % parts === part)
}

/** Runs seeds; returns one line per failing seed, with the command that replays it. */
export async function failingSeeds(seeds: Iterable<number>): Promise<string[]> {
  const failed: string[] = []
  for (const seed of seeds) {
    const result = await simulate(seed)
    if (result.failures.length) {
      failed.push(`seed ${seed}: ${result.failures.join('; ')}\n  replay: SIM_SEED=${seed} npx vitest run test/sim/replay.test.ts`)
    }
  }
  return failed
}

export { REGRESSION_SEEDS }
