import { describe, expect, it } from 'vitest'
import { TransportError } from '../../src/errors.js'
import { ICE_FAILURES, iceFailureError, isIceFailure } from '../../src/transport/ice-failure.js'
import { offerWith } from './sdp-samples.js'

const HOST = '1 1 udp 2122260223 192.0.2.10 50000 typ host generation 0'
const SRFLX = '2 1 udp 1686052607 203.0.113.2 50000 typ srflx raddr 0.0.0.0 rport 0 generation 0'
const RELAY = '3 1 udp 41885439 203.0.113.1 49200 typ relay raddr 0.0.0.0 rport 0 generation 0'
const OTHER_HOST = '1 1 udp 2122260223 198.51.100.10 50001 typ host generation 0'
const OTHER_SRFLX = '2 1 udp 1686052607 203.0.113.3 61000 typ srflx raddr 0.0.0.0 rport 0 generation 0'

/** simple-peer's error when ICE goes to `failed`. */
const iceFailed = () => Object.assign(new Error('Ice connection failed.'), { code: 'ERR_ICE_CONNECTION_FAILURE' })

function failure(local: string[], remote: string[], hasIceServers: boolean) {
  return iceFailureError(iceFailed(), { local: offerWith(local), remote: offerWith(remote) }, hasIceServers)
}

describe('iceFailureError names what was missing, from both sides\' candidates', () => {
  it('host candidates only and no servers here: no ICE servers', () => {
    const error = failure([HOST], [OTHER_HOST], false)
    expect(error).toBeInstanceOf(TransportError)
    expect(error?.code).toBe('ice-no-servers')
    expect(error?.message).toMatch(/^No ICE servers configured — same-network peers only\./)
  })

  it('public addresses on both sides but no relay: a TURN server is needed', () => {
    expect(failure([HOST, SRFLX], [OTHER_HOST, OTHER_SRFLX], true)?.code).toBe('ice-needs-turn')
    // Only the other side's STUN worked: still no relay anywhere.
    expect(failure([HOST], [OTHER_HOST, OTHER_SRFLX], false)?.code).toBe('ice-needs-turn')
  })

  it('a relay candidate on either side and still no path: the relay failed', () => {
    expect(failure([HOST, SRFLX, RELAY], [OTHER_HOST], true)?.code).toBe('ice-failed')
    expect(failure([HOST], [OTHER_HOST, RELAY], true)?.code).toBe('ice-failed')
  })

  it('servers configured yet no public address anywhere: the servers did not answer', () => {
    expect(failure([HOST], [OTHER_HOST], true)?.code).toBe('ice-unanswered')
  })

  it('keeps the cause, and every code has its message', () => {
    const cause = iceFailed()
    const error = iceFailureError(cause, { local: offerWith([HOST]), remote: offerWith([OTHER_HOST]) }, false)
    expect(error?.cause).toBe(cause)
    expect(isIceFailure(error)).toBe(true)
    for (const message of Object.values(ICE_FAILURES)) expect(message.length).toBeGreaterThan(40)
  })

  it('is not an ICE failure when the attempt was closed or cancelled', () => {
    expect(iceFailureError(undefined, {}, true)).toBeUndefined()
    expect(iceFailureError(Object.assign(new Error('closed'), { code: 'ERR_DATA_CHANNEL' }), {}, true)).toBeUndefined()
    expect(isIceFailure(new TransportError('connect-failed', 'x'))).toBe(false)
    expect(isIceFailure(new Error('ice-needs-turn'))).toBe(false)
  })
})
