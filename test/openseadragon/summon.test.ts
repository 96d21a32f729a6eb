/** "Bring everyone here": which summons a page obeys, and what counts as a view from a peer. */
import { describe, expect, it } from 'vitest'
import { nextSummon, SummonGate, viewStateIn } from '../../src/openseadragon/summon.js'

describe('SummonGate', () => {
  it('obeys only the host, once per summon; another summon, or the next host’s, is new', () => {
    const gate = new SummonGate()
    expect(gate.check('guest', 5, 'host')).toBe('refused')
    expect(gate.check('host', 5, 'host')).toBe('new')
    expect(gate.check('host', 5, 'host')).toBe('again')
    expect(gate.check('guest', 5, 'host')).toBe('refused')
    expect(gate.check('host', 6, 'host')).toBe('new')
    // The host's id as the roster has it decides; before any roster, nobody may summon.
    expect(gate.check('host', 7, undefined)).toBe('refused')
    expect(gate.check('next', 6, 'next')).toBe('new')
  })

  it('numbers summons upwards, past any from before a reload', () => {
    expect(nextSummon(0, 1_700_000_000_000.5)).toBe(1_700_000_000_000)
    expect(nextSummon(1_700_000_000_000, 1_700_000_000_000)).toBe(1_700_000_000_001)
  })
})

describe('viewStateIn', () => {
  it('takes finite numbers and a non-empty rectangle; anything else a peer might send is no view', () => {
    expect(viewStateIn({ viewerId: 'v', x: 0.1, y: 0.2, w: 0.5, h: 0.4, r: 90, summon: 3 })).toEqual({ x: 0.1, y: 0.2, w: 0.5, h: 0.4, r: 90 })
    for (const bad of [{ x: '0', y: 0, w: 1, h: 1, r: 0 }, { x: 0, y: 0, w: 0, h: 1, r: 0 }, { x: 0, y: 0, w: 1, h: 1 }, { x: Infinity, y: 0, w: 1, h: 1, r: 0 }, { x: 0, y: 0, w: 1, h: -1, r: 0 }]) {
      expect(viewStateIn(bad)).toBeUndefined()
    }
  })
})
