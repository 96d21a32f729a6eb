/**
 * The gate: who may send each wire message, in one table, checked before any handler
 * runs. A guest is not trusted (it may write any bytes on its links); what a link proves
 * is who is on its other end, so every rule is about the link a message came on and the
 * receiver's own state, never about what a field of the message claims.
 */
import type { PeerRole } from '../types.js'
import type { MessageOf, WireMessage, WireType } from '../wire/messages.js'

/** What the receiver knows about the link a message came on. */
export interface LinkFacts {
  /** The receiver's role. */
  role: PeerRole | null
  /** The peer on the other end, once admitted (host side) or greeted (guest side). */
  peerId: string | null
  /** Guest: this is the link to the host we follow (before its hello too). */
  hostLink: boolean
  /** The link was opened for an invite of ours and has not sent its join yet. */
  awaitingJoin: boolean
  /** Guest: the peer that joined through our invite to come back through us (we pass its knock to our host). */
  knocker: string | null
  /** Host: the sender's invite lets it only look and point. */
  viewer: boolean
  /** Host: whether we declined a change of this link's guest to that provider and have not sent it the provider's state since. */
  owes(providerId: string): boolean
  /** Whether a provider of that id takes view deltas on this page. */
  viewProvider(providerId: string): boolean
  /** Whether this hello may make its sender our host (an election we take part in decides). */
  helloRefusal(message: MessageOf<'hello'>): string | null
}

/** Why a message may not come from this link (a short reason), or null when it may. */
type Rule<T extends WireType> = (link: LinkFacts, message: MessageOf<T>) => string | null

const fromHost = (link: LinkFacts): string | null => (link.role === 'guest' && link.hostLink ? null : 'host-only')
const fromGuest = (link: LinkFacts): string | null => {
  if (link.role !== 'host') return 'to-host-only'
  return link.peerId === null ? 'not-admitted' : null
}
const fromPeer = (link: LinkFacts): string | null => (link.peerId !== null || link.hostLink ? null : 'not-admitted')

/** Every wire type, its sender rule. A type missing here would not compile. */
export const SENDER_RULES: { [T in WireType]: Rule<T> } = {
  // To a host; to a guest too, on a link for its own invite: a peer coming back through it.
  join: (link) => {
    if (link.role === null) return 'no-session'
    if (link.peerId !== null) return 'join-once'
    if (link.awaitingJoin) return null
    return link.role === 'host' ? 'not-invited' : 'to-host-only'
  },
  hello: (link, message) => (link.role === null ? 'no-session' : link.helloRefusal(message)),
  snapshot: fromHost,
  delta: fromHost,
  ack: fromHost,
  reset: fromHost,
  roster: fromHost,
  end: fromHost,
  connect: fromHost,
  relay: fromHost,
  // From our host as it steps down; to a host, from a peer of its that follows another now.
  handover: (link) => (link.role === 'host' ? fromPeer(link) : fromHost(link)),
  intent: fromGuest,
  resend: fromGuest,
  // One provider's state, only after we declined a change of the sender's to it: no free snapshots.
  resync: (link, message) => fromGuest(link) ?? (link.owes(message.p) ? null : 'not-owed'),
  signal: fromGuest,
  links: fromGuest,
  // A change of its own the new host lacks, handed over after a failover: like an intent.
  // Nobody's word is taken for another's change.
  forward: (link, message) => fromGuest(link) ?? (link.viewer ? 'viewer' : message.origin === link.peerId ? null : 'not-own-change'),
  candidate: fromPeer,
  back: fromPeer,
  // A survivor's word of whom it backs, on its own link: never from the host it elects a successor to.
  backing: (link) => (link.hostLink ? 'host-does-not-back' : fromPeer(link)),
  view: (link, message) => {
    const refusal = fromPeer(link)
    if (refusal) return refusal
    // Our host relays others' view deltas; anyone else speaks only for itself.
    if (message.origin !== link.peerId && !link.hostLink) return 'origin-not-sender'
    return link.viewProvider(message.p) ? null : 'not-a-view-provider'
  },
  // From the peer that joined through our invite, for itself, once (we may have become the host meanwhile); to a host, from a guest passing one on.
  knock: (link, message) => (link.knocker === message.user.id ? null : link.role === 'host' ? fromGuest(link) : 'not-knocking'),
  door: fromHost,
  bye: fromPeer,
  ping: () => null,
  pong: () => null,
}

export function checkSender(link: LinkFacts, message: WireMessage): string | null {
  return (SENDER_RULES[message.t] as Rule<WireType>)(link, message as never)
}
