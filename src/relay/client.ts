/**
 * The relay client: publishes sealed offers (one per seat), fetches one on the guest
 * side, carries the sealed answer back (see http-client.ts); the host's retrying listener
 * over it is listener.ts. Every failure is a RelayError; `relay-unavailable` (down, slow,
 * 5xx, full) means "try again later, or use the paste flow".
 *
 * What this module holds is small: the client's contract and a factory whose methods load
 * the real client (http-client.ts, with the sealing code) on their first call, so that a
 * page without a relay never loads it. All the methods are async, so nothing changes for a
 * caller; a bad endpoint still throws at once.
 */
import { loadOnce } from '../runtime/load-once.js'
import { RelayError } from './errors.js'

/** How to reach a signalling relay (`relay/`, `npm run relay`). */
export interface RelayClientOptions {
  /** The relay's base URL, e.g. `https://relay.example.org` (requests go to `<endpoint>/v1/…`). */
  endpoint: string
  /** Defaults to the global `fetch`. */
  fetch?: typeof fetch
  /** Per request, default 8000 ms; a long-poll gets its wait on top. */
  timeoutMs?: number
  /** How long each long-poll asks the relay to hold, default 25 s (the relay cuts it to its maximum). */
  waitSeconds?: number
}

/** What a published invite's guest sees before joining (sealed on the relay). */
export interface RelayInviteMeta {
  /** Who invites: the host's id and display name. */
  from: {
    /** The host's user id. */
    id: string
    /** The host's display name. */
    name: string
  }
  /** What the invite lets its guests do. */
  access: 'editor' | 'viewer'
}

/** A published invite as its host holds it: `key` goes into the link, `token` never leaves the host. */
export interface RelayPublished {
  /** Names the invite on the relay. */
  id: string
  /** Seals and opens its offers and answers; it travels only in the link's fragment. */
  key: string
  /** Proves the host to the relay (to watch and revoke); never shared. */
  token: string
}

/** One free seat's offer, as a guest reads it. */
export interface RelayOffer {
  /** The seat's offer blob. */
  offer: string
  /** Which seat of the invite it is. */
  slot: number
  /** Who invites, and with what access. */
  meta: RelayInviteMeta
  /** By the relay's clock, ms since the epoch. */
  expiresAt: number
  /** Seats the invite has. */
  seats: number
  /** Seats still free, this one included. */
  open: number
}

/** What one host long-poll brought: answers (still sealed) and invites the relay no longer holds. */
export interface RelayWatchResult {
  /** Answers that arrived: for which invite and seat, still sealed (`openAnswer`). */
  answers: Array<{
    /** The invite. */
    id: string
    /** The seat. */
    slot: number
    /** The sealed answer. */
    sealed: string
  }>
  /** Invites the relay no longer holds, and why. */
  gone: Array<{
    /** The invite. */
    id: string
    /** Why it is gone. */
    reason: 'expired' | 'revoked' | 'not-found'
  }>
}

/** Carries sealed invites through a signalling relay; the relay never sees an offer, an answer or the key. `createRelayClient` makes one. */
export interface RelayClient {
  /** The relay's base URL, without a trailing slash. */
  readonly endpoint: string
  /** Seals one offer per seat under a fresh key and stores them: share `relayFragment(id, key)`. */
  publish(offerBlobs: string[], meta: RelayInviteMeta, ttlSeconds: number): Promise<RelayPublished>
  /** Guest: a free seat's offer behind a relay link, and who invites. */
  fetchOffer(id: string, key: string): Promise<RelayOffer>
  /** Guest: seals, authenticates and delivers the answer for a seat; a taken seat is `relay-answered`. */
  postAnswer(id: string, key: string, slot: number, answerBlob: string): Promise<void>
  /** Host: withdraws an invite (its link stops working at once). */
  revoke(invite: RelayPublished): Promise<void>
  /**
   * Host: one long-poll for all of its open invites, acknowledging (`ack`) the seats whose
   * answers it already has (the relay keeps an answer until then). Resolves with what arrived, or null
   * when the wait ended with nothing; rejects with a RelayError (the caller retries).
   */
  watch(invites: Array<RelayPublished & { ack?: readonly number[] }>, options?: { signal?: AbortSignal; waitSeconds?: number }): Promise<RelayWatchResult | null>
  /** Host: opens a sealed answer from `watch`; `relay-damaged` when it does not open. */
  openAnswer(invite: RelayPublished, sealed: string): Promise<string>
}

/**
 * A relay client for `options.endpoint`. Its HTTP and sealing code loads on the first call, so a page that never uses the relay never loads it.
 *
 * @throws RangeError when the endpoint is not an http(s) URL.
 */
export function createRelayClient(options: RelayClientOptions): RelayClient {
  const endpoint = options.endpoint.replace(/\/+$/, '')
  if (!/^https?:\/\//i.test(endpoint)) throw new RangeError(`The relay endpoint must be an http(s) URL, got ${JSON.stringify(options.endpoint)}`)
  // As at construction: the fetch there was then, whatever the page does to the global later.
  const settings: RelayClientOptions = { ...options, fetch: options.fetch ?? globalThis.fetch }
  // Offline, or a deploy replaced the chunk: the paste flow still works, and the next call tries again.
  const client = loadOnce(
    () => import('./http-client.js'),
    ({ httpRelayClient }) => httpRelayClient(endpoint, settings),
    (cause) => new RelayError('relay-unavailable', 'the relay client could not be loaded', { cause }),
  )
  return {
    endpoint,
    publish: async (offerBlobs, meta, ttlSeconds) => (await client()).publish(offerBlobs, meta, ttlSeconds),
    fetchOffer: async (id, key) => (await client()).fetchOffer(id, key),
    postAnswer: async (id, key, slot, answerBlob) => (await client()).postAnswer(id, key, slot, answerBlob),
    revoke: async (invite) => (await client()).revoke(invite),
    watch: async (invites, watchOptions) => (await client()).watch(invites, watchOptions),
    openAnswer: async (invite, sealed) => (await client()).openAnswer(invite, sealed),
  }
}
