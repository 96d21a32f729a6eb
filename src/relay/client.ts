/**
 * The relay client: publishes a sealed offer, fetches it on the guest side, carries the
 * sealed answer back (see http-client.ts). Every failure is a RelayError;
 * `relay-unavailable` (down, slow, 5xx, full) means the caller should fall back to the
 * paste flow.
 *
 * What this module holds is small: the client's contract and a factory whose methods load
 * the real client (http-client.ts, with the sealing code) on their first call, so that a
 * page without a relay never loads it. All the methods are async, so nothing changes for a
 * caller; a bad endpoint still throws at once.
 */
import { RelayError } from './errors.js'

/** How to reach a signalling relay (`relay/`, `npm run relay`). */
export interface RelayClientOptions {
  /** The relay's base URL, e.g. `https://relay.example.org` (requests go to `<endpoint>/v1/…`). */
  endpoint: string
  /** Defaults to the global `fetch`. */
  fetch?: typeof fetch
  /** Per request, default 8000 ms; a long-poll gets its wait on top. */
  timeoutMs?: number
  /** How long each long-poll asks the relay to hold, default 25 s (the relay may cap it). */
  waitSeconds?: number
}

/** Carries sealed invites through a signalling relay; the relay never sees an offer, an answer or the key. `createRelayClient` makes one. */
export interface RelayClient {
  /** The relay's base URL, without a trailing slash. */
  readonly endpoint: string
  /** Seals the offer under a fresh key and stores it: share `relayFragment(id, key)`. */
  publishOffer(offerBlob: string, ttlSeconds: number): Promise<{
    /** Names the sealed offer on the relay. */
    id: string
    /** Opens it; it travels only in the link's fragment. */
    key: string
  }>
  /** Guest: the offer blob behind a relay link. */
  fetchOffer(id: string, key: string): Promise<string>
  /** Guest: seals and delivers the answer; a second answer to one invite is `relay-answered`. */
  postAnswer(id: string, key: string, answerBlob: string): Promise<void>
  /**
   * Host: resolves with the guest's answer blob. Long-polls until it comes, the invite
   * expires (`relay-expired`) or `signal` aborts (rejects with the signal's reason).
   */
  waitForAnswer(id: string, key: string, options?: { signal?: AbortSignal }): Promise<string>
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
  let loading: Promise<RelayClient> | undefined
  const client = (): Promise<RelayClient> =>
    (loading ??= import('./http-client.js').then(
      ({ httpRelayClient }) => httpRelayClient(endpoint, settings),
      (cause: unknown) => {
        // Offline, or a deploy replaced the chunk: the paste flow still works. Try again next call.
        loading = undefined
        throw new RelayError('relay-unavailable', 'the relay client could not be loaded', { cause })
      },
    ))
  return {
    endpoint,
    publishOffer: async (offerBlob, ttlSeconds) => (await client()).publishOffer(offerBlob, ttlSeconds),
    fetchOffer: async (id, key) => (await client()).fetchOffer(id, key),
    postAnswer: async (id, key, answerBlob) => (await client()).postAnswer(id, key, answerBlob),
    waitForAnswer: async (id, key, waitOptions) => (await client()).waitForAnswer(id, key, waitOptions),
  }
}
