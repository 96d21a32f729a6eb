import { describe, expect, it } from 'vitest'
import { hueDistance, hueOf, pickColour } from '../../src/session/colours.js'
import { TestSession } from '../helpers/session.js'

const minGap = (colours: string[]) => {
  let gap = 180
  for (let i = 0; i < colours.length; i++) for (let j = i + 1; j < colours.length; j++) gap = Math.min(gap, hueDistance(hueOf(colours[i]!), hueOf(colours[j]!)))
  return gap
}

/** Colours as a host hands them out, one user joining at a time. */
const handOut = (ids: string[]) => ids.reduce<string[]>((taken, id) => [...taken, pickColour(id, taken)], [])

describe('peer colours', () => {
  it('is the same colour for the same user and the same company', () => {
    expect(pickColour('u-alice', [])).toBe(pickColour('u-alice', []))
    expect(pickColour('u-alice', ['#2a7fd1'])).toBe(pickColour('u-alice', ['#2a7fd1']))
    expect(pickColour('u-alice', [])).toMatch(/^#[0-9a-f]{6}$/)
  })

  it('keeps every pair of a session at least 40° of hue apart up to 8 people, and 15° up to 12', () => {
    for (let trial = 0; trial < 300; trial++) {
      const ids = Array.from({ length: 12 }, (_, i) => `user-${trial}-${i}-${(trial * 7919 + i * 104729).toString(36)}`)
      const colours = handOut(ids)
      expect(minGap(colours.slice(0, 8)), ids.slice(0, 8).join()).toBeGreaterThanOrEqual(40)
      expect(minGap(colours), ids.join()).toBeGreaterThanOrEqual(15)
    }
  })

  it('moves a user whose own hue is taken (the two ids of the bug report had hues 13° apart)', () => {
    const hue = (colour: string) => Math.round(hueOf(colour))
    const first = pickColour('a', [])
    // Find an id whose preferred hue is within 20° of the first one's.
    const close = Array.from({ length: 500 }, (_, i) => `b${i}`).find((id) => hueDistance(hueOf(pickColour(id, [])), hueOf(first)) < 20)!
    expect(close).toBeDefined()
    const second = pickColour(close, [first])
    expect(hueDistance(hue(first), hue(second))).toBeGreaterThanOrEqual(40)
  })

  it('comes with the roster: one colour per user on every page, distinct, kept through a failover', async () => {
    const session = await TestSession.started(4)
    const views = session.peers.map((p) => Object.fromEntries(p.controller.getPeers().map((peer) => [peer.userId, peer.color])))
    for (const view of views) expect(view).toEqual(views[0])
    expect(minGap(Object.values(views[0]!))).toBeGreaterThanOrEqual(40)
    for (const peer of session.peers[1]!.controller.getPeers()) {
      expect(peer).toMatchObject({ userId: peer.id, userName: peer.name, connected: true })
    }
    await session.host.controller.leave()
    await session.settle(1_000)
    const after = session.guests.map((g) => Object.fromEntries(g.controller.getPeers().map((peer) => [peer.userId, peer.color])))
    const { [session.host.controller.getSelf().id]: _gone, ...kept } = views[0]!
    for (const view of after) expect(view).toEqual(kept)
  })
})
