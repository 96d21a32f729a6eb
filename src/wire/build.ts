/**
 * A builder per wire message: `wire.delta({ seq, … })` stamps the protocol version and
 * type, so no message is written out as a literal anywhere else.
 */
import { PROTOCOL_VERSION, WIRE_TYPES, type MessageOf, type WireType } from './messages.js'

type Body<T extends WireType> = Omit<MessageOf<T>, 'v' | 't'>
type Builders = { readonly [T in WireType]: (body: Body<T>) => MessageOf<T> }

const generic = Object.fromEntries(WIRE_TYPES.map((t) => [t, (body: object) => ({ v: PROTOCOL_VERSION, t, ...body })])) as unknown as Builders

/**
 * The two messages of nearly every change (a view delta, a host's delta) are built field by
 * field: one shape each, where the shared builder's spread meets every message's shape.
 */
export const wire: Builders = {
  ...generic,
  view: ({ origin, n, p, d }) => ({ v: PROTOCOL_VERSION, t: 'view', origin, n, p, d }),
  delta: ({ seq, epoch, id, origin, changes }) => ({ v: PROTOCOL_VERSION, t: 'delta', seq, epoch, id, origin, changes }),
}
