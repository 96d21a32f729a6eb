/**
 * The whole session protocol: one versioned, discriminated union on `t`. Each schema is
 * also the message's type, so what validation accepts is exactly what the core handles.
 */
import * as v from 'valibot'
import { MAX_PAYLOAD_DEPTH, nestsWithin } from './shape.js'
import { PROTOCOL_VERSION } from './version.js'

// Its own module, so the package can export it without the schemas.
export { PROTOCOL_VERSION }

export const MAX_ID = 64
const MAX_NAME = 80
const MAX_PEERS = 256
/** User ids a host removed, as far back as its hello and roster list them. */
export const MAX_REMOVED = 256
/** User ids that said goodbye to a host lately, as far back as its hello and roster list them. */
export const MAX_LEFT = 64
export const MAX_CHANGES = 256
export const MAX_REASON = 200
/** Epochs a hello's lineage lists, the newest. */
export const MAX_LINEAGE = 64
/** Intent ids a snapshot says its state reflects. */
export const MAX_SNAPSHOT_IDS = 100_000
const MAX_SIGNAL = 16 * 1024

const id = v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_ID))
const count = v.pipe(v.number(), v.safeInteger(), v.minValue(0))
const reason = v.pipe(v.string(), v.maxLength(MAX_REASON))
/**
 * A provider's whole state, from the host: not walked again here (a 10 MiB bootstrap would
 * pay for it); the host checked each provider's snapshot when it collected it.
 */
const state = v.unknown()
/** A viewer id inside a payload: the key of per-viewer state and of last-write-wins, so bounded like every id. */
const isViewerId = (w: unknown) => w == null || (typeof w === 'string' && w.length <= MAX_ID)
/** A payload's viewer, under either name, absent or an id (checked for every change received: no array, no callback). */
export const viewerKey = (d: Record<string, unknown>) => isViewerId(d.viewerId) && isViewerId(d.viewerUniqueId)
/** A provider's own payload: any JSON object. Its shape is the provider's business. */
const payload = v.pipe(
  v.record(v.string(), v.unknown()),
  v.check((d) => nestsWithin(d), `nested deeper than ${MAX_PAYLOAD_DEPTH}`),
  v.check(viewerKey, `viewer id longer than ${MAX_ID} characters`),
)
const role = v.picklist(['host', 'guest'])
/** A resume token's hash (SHA-256, first 128 bits, base64url): what the host's successors keep of a guest's token. */
const tokenHash = v.pipe(v.string(), v.regex(/^[\w-]{22}$/))
/** Per admitted guest, the hash of the resume token it holds and its access: a new host checks a returning guest's token by it. */
const resumeKeys = v.optional(v.pipe(v.array(v.tuple([id, tokenHash, v.picklist(['editor', 'viewer'])])), v.maxLength(MAX_PEERS)))

export const peerInfoSchema = v.object({
  id,
  name: v.pipe(v.string(), v.maxLength(MAX_NAME)),
  role,
  // What the host lets this guest do; absent = editor. (A line comment: TypeDoc sees the
  // inferred PeerInfo's properties twice and warns about a doc comment here; the PeerInfo alias documents it.)
  access: v.optional(v.picklist(['editor', 'viewer'])),
  // The colour the host gave this user for the session (peers/colours.ts); a line comment, as for access.
  color: v.optional(v.pipe(v.string(), v.regex(/^#[0-9a-f]{6}$/))),
})
/**
 * Who a peer is: `id`, its user id (the `origin` of its changes); `name`, shown to the
 * others; `role`, host or guest; `access`, what the host lets a guest do (`editor` or
 * `viewer`; absent = editor); `color`, the colour the host gave this user for the session
 * (`#rrggbb`).
 */
export type PeerInfo = v.InferOutput<typeof peerInfoSchema>

const header = <T extends string>(t: T) => ({ v: v.literal(PROTOCOL_VERSION), t: v.literal(t) })

/** Guest → host, first message on a fresh link: which invite it redeems and who it is. */
const join = v.object({
  ...header('join'),
  inviteId: id,
  user: peerInfoSchema,
  /**
   * A reloaded peer back with its journal: it holds the session up to `seq` of `epoch`, and
   * needs only what came after. `token`, the secret its host gave it at admission, lets its
   * new link replace an old one the host still holds (a crash, a sleep: no goodbye was sent).
   */
  resume: v.optional(v.object({ epoch: count, seq: count, token: v.optional(id) })),
})

/** Host → guest: the session as it stands; a snapshot follows. */
const hello = v.object({
  ...header('hello'),
  sessionId: id,
  epoch: count,
  hostId: id,
  /** [host, ...guests in join order]: the failover succession. */
  rank: v.pipe(v.array(id), v.maxLength(MAX_PEERS)),
  peers: v.pipe(v.array(peerInfoSchema), v.maxLength(MAX_PEERS)),
  /** Full mesh (guests link to each other) or host star. */
  mesh: v.boolean(),
  /** The host's sequence number, and after a failover the digest of its state at it. */
  seq: count,
  digest: v.optional(v.pipe(v.string(), v.maxLength(64))),
  /** The sequence number the digest describes (the host's own pending changes follow the hello). */
  digestSeq: v.optional(count),
  /**
   * The host's history by epoch, oldest first: `[epoch, after]`, epoch `epoch` began after
   * sequence number `after`. A delta `(epoch e, seq s)` is in it when the entry covering `s`
   * is `e`'s: a follower tells its own changes the host lacks from those it has.
   */
  lineage: v.optional(v.pipe(v.array(v.tuple([count, count])), v.maxLength(MAX_LINEAGE))),
  /** User ids removed from the session (most recent last): a host after a failover keeps them out too. */
  removed: v.optional(v.pipe(v.array(id), v.maxLength(MAX_REMOVED))),
  /** User ids that said goodbye to the host lately: out of the electorate for guests their goodbye missed. */
  left: v.optional(v.pipe(v.array(id), v.maxLength(MAX_LEFT))),
  /** To a guest just admitted: its resume token, secret, single-use (a later admission gives a new one). */
  token: v.optional(id),
  keys: resumeKeys,
})

/** Host → guest: every provider's state at host sequence `seq`. */
const snapshot = v.object({
  ...header('snapshot'),
  seq: count,
  /** Intent ids the state already reflects (the most recent), so a guest dedupes exactly after it. */
  ids: v.pipe(v.array(id), v.maxLength(MAX_SNAPSHOT_IDS)),
  entries: v.array(v.object({ p: id, w: v.nullable(id), d: state })),
})

/** Any peer → others: a view delta, last write wins per (origin, provider, viewer). */
const view = v.object({ ...header('view'), origin: id, n: count, p: id, d: payload })

/** Guest → host: a mutating change the guest asks the host to apply. */
const intent = v.object({ ...header('intent'), id, p: id, d: payload })

/** Host → all: authoritative changes, ordered by `seq`, tagged with the originating user. */
const delta = v.object({
  ...header('delta'),
  seq: count,
  epoch: count,
  id,
  origin: id,
  changes: v.pipe(v.array(v.object({ p: id, d: payload })), v.minLength(1), v.maxLength(MAX_CHANGES)),
})

/** Survivor → new host: a delta the old host authorised that the new host lacks; re-issue it. */
const forward = v.object({
  ...header('forward'),
  id,
  origin: id,
  changes: v.pipe(v.array(v.object({ p: id, d: payload })), v.minLength(1), v.maxLength(MAX_CHANGES)),
})

/**
 * Host → guest: the intent was handled without a delta (refused or a no-op), or, `ok` with `seq`,
 * was already in the host's history, at or below `seq` (sent again: its delta may still be on its way).
 */
const ack = v.object({ ...header('ack'), id, ok: v.boolean(), reason: v.optional(reason), seq: v.optional(count) })

/** Guest → host: I missed deltas from `from` on; resend them or a snapshot. */
const resend = v.object({ ...header('resend'), from: count })

/** Guest → host, after the host refused or failed on its change to provider `p`: send me that provider's state again. */
const resync = v.object({ ...header('resync'), p: id })

/**
 * Host → guest: provider `p`'s state at host sequence `seq` (per viewer for a per-viewer
 * provider), in answer to a resync. It replaces that provider's state only; every other
 * provider goes on with its deltas. No entries: the provider's snapshot failed.
 */
const reset = v.object({ ...header('reset'), seq: count, p: id, entries: v.array(v.object({ w: v.nullable(id), d: state })) })

/** Host → guests: who is in the session now. */
const roster = v.object({
  ...header('roster'),
  rank: v.pipe(v.array(id), v.maxLength(MAX_PEERS)),
  peers: v.pipe(v.array(peerInfoSchema), v.maxLength(MAX_PEERS)),
  mesh: v.boolean(),
  removed: v.optional(v.pipe(v.array(id), v.maxLength(MAX_REMOVED))),
  left: v.optional(v.pipe(v.array(id), v.maxLength(MAX_LEFT))),
  keys: resumeKeys,
})

/** Peer-assisted signalling, host → guest: open a link to `peer`; you make the offer. */
const connect = v.object({ ...header('connect'), peer: id })

const signalKind = v.picklist(['offer', 'answer'])
const signalText = v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_SIGNAL))

/** Guest → host: deliver this offer or answer to `to`. */
const signal = v.object({ ...header('signal'), to: id, kind: signalKind, signal: signalText })

/** Host → guest: an offer or answer from `from`, relayed. Guests take these from their host only. */
const relay = v.object({ ...header('relay'), from: id, kind: signalKind, signal: signalText })

/**
 * A peer coming back through a guest (a reloaded page with an invite of that guest's, not the
 * host's): its offer of a link to the host and its word, with the token that proves it is the
 * same peer. Resumer → that guest, then that guest → its host, unchanged.
 */
const knock = v.object({
  ...header('knock'),
  user: peerInfoSchema,
  resume: v.object({ epoch: count, seq: count, token: id }),
  signal: signalText,
})

/**
 * Host → the guest a knock came through, then that guest → the resumer: the host's answer to
 * its offer, and the id to name in its join on that link; or why not. From the guest alone,
 * neither: send your knock (your offer to my host).
 */
const door = v.object({
  ...header('door'),
  peer: id,
  signal: v.optional(signalText),
  inviteId: v.optional(id),
  reason: v.optional(reason),
})

/** Survivor → survivors, when the host is lost: I stand, at this epoch, having applied up to `seq`. */
const candidate = v.object({
  ...header('candidate'),
  epoch: count,
  seq: count,
  /** Reply from a peer that still hears the host: not a candidacy. */
  alive: v.optional(v.boolean()),
  /** The survivors it holds links to: only they can back it (absent: taken to be enough). */
  linked: v.optional(v.pipe(v.array(id), v.maxLength(MAX_PEERS))),
})

/** Host → its guests, as it steps down: follow `hostId`, host of `epoch`, whose hello may come before or after this. */
const handover = v.object({ ...header('handover'), epoch: count, hostId: id })

/** Survivor → the winner it chose: I back you as host after the host of `epoch`. One winner per election. */
const back = v.object({ ...header('back'), epoch: count })

/**
 * Survivor → the other survivors it is linked to, as it backs a winner: whom it backs after the
 * host of `epoch`. Lets a guest count a winner's majority itself rather than take its hello's word.
 */
const backing = v.object({ ...header('backing'), epoch: count, for: id })

/** Guest → host: the peers I now hold direct links to (the host forwards view deltas to the rest). */
const links = v.object({ ...header('links'), peers: v.pipe(v.array(id), v.maxLength(MAX_PEERS)) })

/** I am leaving (guest) — or, from the host, the session is over. */
const bye = v.object({ ...header('bye'), reason })
const end = v.object({ ...header('end'), reason })

const ping = v.object({ ...header('ping'), n: count })
const pong = v.object({ ...header('pong'), n: count })

export const wireMessageSchema = v.variant('t', [
  join, hello, snapshot, view, intent, delta, ack, resend, roster, bye, end, ping, pong, connect, signal, relay, links, candidate, back, backing, handover, forward, resync, reset, knock, door,
])

export type WireMessage = v.InferOutput<typeof wireMessageSchema>
export type WireType = WireMessage['t']
export type MessageOf<T extends WireType> = Extract<WireMessage, { t: T }>

export const WIRE_TYPES: readonly WireType[] = wireMessageSchema.options.map((o) => o.entries.t.literal)

