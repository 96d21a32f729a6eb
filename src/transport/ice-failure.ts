/**
 * Why ICE found no path between two peers, told from the candidates both sides offered
 * (non-trickle: every candidate is in the SDP), so a failed connection says what is
 * missing instead of "connection failed". What the NAT suite (e2e/nat/) showed:
 * - no srflx candidate on either side and no ICE servers here: peers on different
 *   networks, no STUN → `ice-no-servers`;
 * - public (srflx) addresses known, no relay candidate: a NAT that maps each destination
 *   to a new port (symmetric) on at least one side → `ice-needs-turn`;
 * - a relay candidate was there and still no path → `ice-failed` (the relay itself failed).
 */
import { TransportError } from '../errors.js'

export const ICE_FAILURES = {
  'ice-no-servers':
    'No ICE servers configured — same-network peers only. The peers are on different networks: configure a STUN server (and a TURN server for strict NATs) in iceServers.',
  'ice-needs-turn':
    'The peers found their public addresses but could not reach each other directly: one of them is behind a NAT that allows no direct connection (a symmetric NAT). A TURN server is needed: add one to iceServers.',
  'ice-failed': 'The peers could not connect, not even through the TURN relay: check that the TURN server is reachable and its credentials are valid.',
  'ice-unanswered': 'The peers are on different networks and no public address was found: the STUN/TURN servers did not answer.',
} as const

export type IceFailureCode = keyof typeof ICE_FAILURES

/** simple-peer's codes for an ICE or DTLS connection that went to `failed`. */
const CONNECTION_FAILURES = new Set(['ERR_ICE_CONNECTION_FAILURE', 'ERR_CONNECTION_FAILURE'])

/** The error for a connection that failed before it opened; `undefined` when it did not fail in ICE (cancelled, closed). */
export function iceFailureError(cause: Error | undefined, sdps: { local?: string; remote?: string }, hasIceServers: boolean): TransportError | undefined {
  const code = (cause as (Error & { code?: string }) | undefined)?.code
  if (!code || !CONNECTION_FAILURES.has(code)) return undefined
  const failure = classify(candidateTypes(sdps.local), candidateTypes(sdps.remote), hasIceServers)
  return new TransportError(failure, ICE_FAILURES[failure], { cause })
}

export function isIceFailure(error: unknown): error is TransportError & { code: IceFailureCode } {
  return error instanceof TransportError && error.code in ICE_FAILURES
}

function classify(local: Set<string>, remote: Set<string>, hasIceServers: boolean): IceFailureCode {
  const offered = new Set([...local, ...remote])
  if (offered.has('relay')) return 'ice-failed'
  if (offered.has('srflx')) return 'ice-needs-turn'
  return hasIceServers ? 'ice-unanswered' : 'ice-no-servers'
}

function candidateTypes(sdp = ''): Set<string> {
  return new Set([...sdp.matchAll(/^a=candidate:.* typ (\S+)/gm)].map((match) => match[1]!))
}
