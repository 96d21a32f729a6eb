/**
 * A builder per wire message: `wire.delta({ seq, … })` stamps the protocol version and
 * type, so no message is written out as a literal anywhere else.
 */
import { PROTOCOL_VERSION, WIRE_TYPES, type MessageOf, type WireType } from './messages.js'

type Body<T extends WireType> = Omit<MessageOf<T>, 'v' | 't'>
type Builders = { readonly [T in WireType]: (body: Body<T>) => MessageOf<T> }

export const wire = Object.fromEntries(
  WIRE_TYPES.map((t) => [t, (body: object) => ({ v: PROTOCOL_VERSION, t, ...body })]),
) as unknown as Builders
