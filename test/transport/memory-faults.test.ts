/**
 * MemoryNetwork's faults keep a reliable channel's order: what a block holds arrives before
 * anything sent after it, whatever other fault the direction gets meanwhile.
 */
import { expect, it } from 'vitest'
import { MemoryNetwork } from '../../src/transport/memory.js'
import type { Link, LinkMessage } from '../../src/transport/transport.js'

async function linked(network: MemoryNetwork): Promise<[Link, Link]> {
  const pending = await network.transport('a').createOffer()
  const answered = await network.transport('b').acceptOffer(pending.offer)
  const ends = Promise.all([pending.complete(answered.answer), answered.link])
  await network.clock.advance(100)
  return ends
}

it('slow: a delay added to a blocked direction keeps the block, and what it held arrives first, in order (seed 1542830)', async () => {
  const network = new MemoryNetwork({ seed: 3 })
  const [a, b] = await linked(network)
  const got: LinkMessage[] = []
  b.on('message', (message) => got.push(message))
  network.block('a', 'b')
  a.send('roster')
  network.slow('a', 'b', 50)
  a.send('ping')
  await network.clock.advance(1_000)
  expect(got).toEqual([])
  network.unblock('a', 'b')
  a.send('pong')
  await network.clock.advance(1_000)
  expect(got).toEqual(['roster', 'ping', 'pong'])
})

it('slow: a delay added to a direction a partition blocks keeps the block; heal() delivers what it held first, in order (seed 1557741)', async () => {
  const network = new MemoryNetwork({ seed: 5 })
  const [a, b] = await linked(network)
  const got: LinkMessage[] = []
  b.on('message', (message) => got.push(message))
  network.partition(['a'], ['b'])
  a.send('roster')
  network.slow('a', 'b', 50)
  a.send('goodbye')
  await network.clock.advance(1_000)
  expect(got).toEqual([])
  network.heal()
  await network.clock.advance(1_000)
  expect(got).toEqual(['roster', 'goodbye'])
})
