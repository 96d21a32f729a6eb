import { describe, expect, it } from 'vitest'
import { providerDelta, wirePayload } from '../../src/providers/fields.js'

describe('the controller\'s delta fields', () => {
  it('sends a contract delta with the viewer under one name and none of the session\'s fields', () => {
    const contract = { providerId: 'notes', viewerUniqueId: 'left', intentId: '', sourceUserId: '', kind: 'set', payload: { a: 1 } }
    expect(wirePayload(contract)).toEqual({ viewerId: 'left', kind: 'set', payload: { a: 1 } })
    // The short form travels as it is; given both, the short form is the one that routes.
    expect(wirePayload({ viewerId: 'right', x: 1 })).toEqual({ viewerId: 'right', x: 1 })
    expect(wirePayload({ viewerId: 'right', viewerUniqueId: 'left' })).toEqual({ viewerId: 'right' })
    // Whatever a provider writes in them, seq and sourceUserId never travel.
    expect(wirePayload({ seq: 7, sourceUserId: 'someone-else', intentId: 'chosen', k: 'v' })).toEqual({ k: 'v' })
  })

  it('delivers both viewer names and fills in provider, author, intent and sequence number', () => {
    const received = { viewerId: 'left', kind: 'set', payload: { a: 1 } }
    expect(providerDelta(received, { providerId: 'notes', origin: 'u-bo', intentId: 'i1', seq: 4 })).toEqual({
      viewerId: 'left', viewerUniqueId: 'left', kind: 'set', payload: { a: 1 }, providerId: 'notes', sourceUserId: 'u-bo', intentId: 'i1', seq: 4,
    })
    // A view delta: no intent, no sequence number, even if a peer wrote some.
    expect(providerDelta({ viewerId: 'left', intentId: 'forged', seq: 99, sourceUserId: 'forged' }, { providerId: 'pointer', origin: 'u-bo' })).toEqual({
      viewerId: 'left', viewerUniqueId: 'left', providerId: 'pointer', sourceUserId: 'u-bo',
    })
    // A global provider's delta names no viewer.
    expect(providerDelta({ k: 'v' }, { providerId: 'title', origin: 'u-ada', intentId: 'i2' })).toEqual({ k: 'v', providerId: 'title', sourceUserId: 'u-ada', intentId: 'i2' })
  })
})
