import { describe, it } from 'vitest'
import { MemoryNetwork } from '../../src/transport/memory.js'
import { conformanceCases, type Capability, type ConformanceEnv } from './conformance.js'

const MAX_MESSAGE_BYTES = 4 * 1024 * 1024
const supports = new Set<Capability>()

function memoryEnv(): ConformanceEnv {
  // Finite bandwidth, so a 3 MB bulk message is in flight long enough to be overtaken.
  const network = new MemoryNetwork({ seed: 7, bytesPerMs: 1000, maxMessageBytes: MAX_MESSAGE_BYTES })
  const clock = network.clock
  return {
    offerer: network.transport('a'),
    answerer: network.transport('b'),
    maxMessageBytes: MAX_MESSAGE_BYTES,
    supports,
    async until(condition, what) {
      const deadline = clock.now() + 60_000
      for (;;) {
        await clock.advance(0) // lets promise reactions settle before looking
        if (condition()) return
        if (clock.now() > deadline || !(await clock.step())) throw new Error(`Never happened: ${what}`)
      }
    },
    sleep: (ms) => clock.advance(ms),
  }
}

describe('memory transport conformance', () => {
  for (const { name, requires = [], run } of conformanceCases) {
    const missing = requires.filter((capability) => !supports.has(capability))
    if (missing.length > 0) it.skip(`${name} (not supported: ${missing.join(', ')})`, () => {})
    else it(name, () => run(memoryEnv()))
  }
})
