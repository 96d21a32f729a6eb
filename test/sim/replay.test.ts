/** `SIM_SEED=n npx vitest run test/sim/replay.test.ts`: one seed, with its readable trace. */
import { expect, it } from 'vitest'
import { simulate } from './simulate.js'

const seed = Number(process.env.SIM_SEED)

it.skipIf(!Number.isFinite(seed))(`replays seed ${seed}`, async () => {
  const result = await simulate(seed)
  console.log(result.trace.join('\n'))
  console.log(result.failures.length ? `FAILURES:\n${result.failures.join('\n')}` : 'all invariants hold')
  expect(result.failures).toEqual([])
})
