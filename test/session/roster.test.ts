/**
 * A roster is the host's word on who else is in the session, held to what the guest knows
 * itself: the peer it follows is listed as host, each peer once, and nobody it knows was removed.
 * A host is trusted while it hosts, but one that two colluding guests made host (their majority)
 * may send any roster; an honest host's passes unchanged.
 */
import { describe, expect, it } from 'vitest'
import { type Forged, TestSession, type TestPeer, forge } from '../helpers/session.js'

const info = (name: string, role: 'host' | 'guest' = 'guest') => ({ id: `u-${name}`, name, role })

describe('a roster from the host', () => {
  it('lists each peer once and none the guest knows was removed (seed 1777969)', async () => {
    const s = await TestSession.started(4)
    const [g1] = s.guests as [TestPeer, TestPeer, TestPeer]
    s.host.controller.kick('u-g3')
    await s.settle()
    const roster: Forged = {
      t: 'roster', rank: ['u-host', 'u-g1', 'u-g2', 'u-g3', 'u-g2', 'u-g3', 'u-g3'], mesh: true,
      peers: [info('host', 'host'), info('g1'), info('g2'), info('g3'), info('g2')],
    }
    forge(s, 'host', 'g1', roster)
    await s.settle()
    expect(g1.controller.getPeers().map((p) => p.id)).toEqual(['u-host', 'u-g1', 'u-g2'])
  })

  it('lists the peer the guest follows as its host, first, whatever the role fields say (seed 1773682)', async () => {
    const s = await TestSession.started(3)
    const [g1] = s.guests as [TestPeer, TestPeer]
    // An earlier roster, replayed as if another peer hosted: g2 first and host, our host a guest.
    forge(s, 'host', 'g1', { t: 'roster', rank: ['u-g2', 'u-host', 'u-g1'], mesh: true, peers: [info('g2', 'host'), info('host'), info('g1')] })
    await s.settle()
    expect(g1.controller.getPeers().map(({ id, role, rank }) => ({ id, role, rank }))).toEqual([
      { id: 'u-host', role: 'host', rank: 0 },
      { id: 'u-g2', role: 'guest', rank: 1 },
      { id: 'u-g1', role: 'guest', rank: 2 },
    ])
  })
})
