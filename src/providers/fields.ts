/**
 * The delta fields the controller owns, at the two edges where a provider meets the wire.
 * A provider may name its viewer `viewerUniqueId` (the published contract) or `viewerId`
 * (the short form); on the wire it is always `viewerId`, and a provider gets both back.
 * `providerId`, `intentId`, `sourceUserId` and `seq` are the controller's to fill: what a
 * provider emits in them does not travel (a peer could put anything there).
 */
import type { SessionDelta } from './contract.js'

/**
 * A delta as it travels: the controller's fields out, the viewer under its one wire name.
 * A delta with none of them (most) is its own payload, not a copy: a caller that keeps it
 * past the emit (rather than encoding it at once) copies it.
 */
export function wirePayload(delta: SessionDelta): Record<string, unknown> {
  if (delta.providerId === undefined && delta.intentId === undefined && delta.sourceUserId === undefined && delta.seq === undefined && delta.viewerUniqueId === undefined) return delta
  const { providerId: _p, intentId: _i, sourceUserId: _s, seq: _q, viewerUniqueId, ...rest } = delta
  if (rest.viewerId === undefined && viewerUniqueId !== undefined) rest.viewerId = viewerUniqueId
  return rest
}

export interface Delivery {
  providerId: string
  /** The user whose change it is. */
  origin: string
  /** Absent for a view delta. */
  intentId?: string
  seq?: number
}

/**
 * A delta as a provider receives it: what travelled, with the controller's fields filled in.
 * Built by assignment (not spreads of spreads): it is made for every change a peer applies.
 */
export function providerDelta(payload: Record<string, unknown>, delivery: Delivery): SessionDelta {
  const delta: Record<string, unknown> = { ...payload }
  if (typeof delta.viewerId === 'string') delta.viewerUniqueId = delta.viewerId
  delta.providerId = delivery.providerId
  delta.sourceUserId = delivery.origin
  if (delivery.intentId !== undefined) delta.intentId = delivery.intentId
  else if (Object.hasOwn(delta, 'intentId')) delete delta.intentId
  if (delivery.seq !== undefined) delta.seq = delivery.seq
  else if (Object.hasOwn(delta, 'seq')) delete delta.seq
  return delta as SessionDelta
}
