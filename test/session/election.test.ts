import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { canGather, chooseWinner, outranks, quorumOf, rankIn } from '../../src/session/election.js'

const succession = ['host', 'g1', 'g2', 'g3', 'g4']
const anyone = () => true

describe('election rules', () => {
  it('counts the lost host in the electorate unless it handed over', () => {
    expect(quorumOf({ succession, lostHost: 'host', handedOver: false })).toEqual({ members: new Set(succession), needed: 3 })
    const handedOver = quorumOf({ succession, lostHost: 'host', handedOver: true })
    expect([...handedOver.members]).toEqual(['g1', 'g2', 'g3', 'g4'])
    expect(handedOver.needed).toBe(3)
  })

  it('lets a lone guest of two go on only when the host said goodbye', () => {
    expect(quorumOf({ succession: ['host', 'g1'], lostHost: 'host', handedOver: true }).needed).toBe(1)
    expect(quorumOf({ succession: ['host', 'g1'], lostHost: 'host', handedOver: false }).needed).toBe(2)
  })

  it('picks the best-ranked eligible candidate, never a viewer or one passed over', () => {
    expect(chooseWinner(['g3', 'g1', 'g2'], succession, anyone)).toBe('g1')
    expect(chooseWinner(['g3', 'g1', 'g2'], succession, (id) => id !== 'g1')).toBe('g2')
    expect(chooseWinner(['g3', 'g1'], succession, anyone, new Set(['g1']))).toBe('g3')
    expect(chooseWinner(['g1'], succession, () => false)).toBeUndefined()
  })

  it('lets a candidate gather a majority only of the members it is linked to, itself included', () => {
    const quorum = quorumOf({ succession, lostHost: 'host', handedOver: false })
    expect(canGather('g1', ['g2'], quorum)).toBe(false)
    expect(canGather('g1', ['g2', 'g3'], quorum)).toBe(true)
    expect(canGather('g1', ['g2', 'stranger', 'g2'], quorum)).toBe(false)
    expect(canGather('g1', undefined, quorum)).toBe(true)
  })

  it('ranks peers missing from the succession last, ids breaking ties', () => {
    expect(rankIn(succession, 'stranger')).toBe(Number.MAX_SAFE_INTEGER)
    expect(chooseWinner(['zed', 'amy'], succession, anyone)).toBe('amy')
    expect(chooseWinner(['zed', 'g4'], succession, anyone)).toBe('g4')
  })

  it('orders host claims by epoch, then by the smaller id', () => {
    expect(outranks({ epoch: 3, hostId: 'z' }, { epoch: 2, hostId: 'a' })).toBe(true)
    expect(outranks({ epoch: 2, hostId: 'a' }, { epoch: 2, hostId: 'b' })).toBe(true)
    expect(outranks({ epoch: 2, hostId: 'b' }, { epoch: 2, hostId: 'b' })).toBe(false)
  })

  it('never lets two disjoint groups of an electorate both reach its quorum', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 12 }), fc.boolean(), fc.array(fc.boolean(), { maxLength: 12 }), (ids, handedOver, sides) => {
        const { members, needed } = quorumOf({ succession: ids, lostHost: ids[0]!, handedOver })
        const left = [...members].filter((_, i) => sides[i])
        const right = [...members].filter((_, i) => !sides[i])
        expect(left.length >= needed && right.length >= needed).toBe(false)
      }),
    )
  })

  it('is a total order: exactly one of two different claims outranks the other', () => {
    fc.assert(
      fc.property(fc.nat(5), fc.string({ minLength: 1 }), fc.nat(5), fc.string({ minLength: 1 }), (ea, a, eb, b) => {
        fc.pre(ea !== eb || a !== b)
        expect(outranks({ epoch: ea, hostId: a }, { epoch: eb, hostId: b })).not.toBe(outranks({ epoch: eb, hostId: b }, { epoch: ea, hostId: a }))
      }),
    )
  })
})
