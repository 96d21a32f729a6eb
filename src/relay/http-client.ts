/**
 * The relay client's work: publishes a sealed offer, fetches it on the guest side, carries
 * the sealed answer back. Only `fetch` and WebCrypto, so it runs in browsers and Node alike.
 * Every failure is a RelayError; `relay-unavailable` (down, slow, 5xx, full) means the
 * caller should fall back to the paste flow. Loaded by client.ts on first use, with the
 * sealing code: a page that never meets a relay never loads either.
 */
import type { RelayClient, RelayClientOptions } from './client.js'
import { RelayError } from './errors.js'
import { checkRelayRef, isRelayId } from './fragment.js'
import { newRelayKey, open, seal } from './seal.js'

const DEFAULT_TIMEOUT_MS = 8_000
const DEFAULT_WAIT_SECONDS = 25
/** A relay that answers a long-poll at once is not polled faster than this. */
const MIN_POLL_INTERVAL_MS = 1_000
/** Consecutive `relay-unavailable` long-polls tolerated (a relay restart) before giving up. */
const WAIT_RETRIES = 2
const MAX_RESPONSE_BYTES = 64 * 1024

interface Reply {
  status: number
  data: unknown
}

/** `endpoint` as client.ts checked it: an http(s) URL without trailing slashes. */
export function httpRelayClient(endpoint: string, options: RelayClientOptions): RelayClient {
  const doFetch = options.fetch ?? globalThis.fetch
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const waitSeconds = options.waitSeconds ?? DEFAULT_WAIT_SECONDS

  async function request(method: 'GET' | 'POST', path: string, body?: unknown, signal?: AbortSignal, extraMs = 0): Promise<Reply> {
    signal?.throwIfAborted()
    const controller = new AbortController()
    const limitMs = timeoutMs + extraMs
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      controller.abort()
    }, limitMs)
    const onAbort = () => controller.abort()
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      let response: Response
      let text: string
      try {
        response = await doFetch(`${endpoint}${path}`, {
          method,
          // text/plain keeps this a CORS "simple request": no preflight round trip.
          headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'text/plain;charset=UTF-8' },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: controller.signal,
          credentials: 'omit',
          cache: 'no-store',
          redirect: 'error',
          referrerPolicy: 'no-referrer',
        })
        text = await readCapped(response)
      } catch (cause) {
        if (signal?.aborted) throw abortReason(signal)
        if (cause instanceof RelayError) throw cause
        throw new RelayError('relay-unavailable', timedOut ? `no reply within ${limitMs} ms` : 'network error', { cause })
      }
      const data = parseJson(text)
      if (response.status >= 200 && response.status < 300) return { status: response.status, data }
      throw relayErrorForStatus(response.status, errorCodeOf(data), retryAfterOf(response))
    } finally {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    }
  }

  return {
    endpoint,

    async publishOffer(offerBlob, ttlSeconds) {
      if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) throw new RangeError(`ttlSeconds must be a positive integer, got ${ttlSeconds}`)
      const key = newRelayKey()
      const offer = await seal('offer', '', key, offerBlob)
      const reply = await request('POST', '/v1/invites', { offer, ttlSeconds })
      const id = stringField(reply, 'id')
      if (!isRelayId(id)) throw new RelayError('relay-unavailable', 'the relay answered with a malformed id')
      return { id, key }
    },

    async fetchOffer(id, key) {
      checkRelayRef(id, key)
      const reply = await request('GET', `/v1/invites/${id}`)
      return open('offer', id, key, stringField(reply, 'offer'))
    },

    async postAnswer(id, key, answerBlob) {
      checkRelayRef(id, key)
      const answer = await seal('answer', id, key, answerBlob)
      await request('POST', `/v1/invites/${id}/answer`, { answer })
    },

    async waitForAnswer(id, key, waitOptions = {}) {
      checkRelayRef(id, key)
      const { signal } = waitOptions
      let failures = 0
      for (;;) {
        const started = Date.now()
        let reply: Reply
        try {
          reply = await request('GET', `/v1/invites/${id}/answer?wait=${waitSeconds}`, undefined, signal, waitSeconds * 1000)
        } catch (error) {
          if (!(error instanceof RelayError) || error.code !== 'relay-unavailable' || ++failures > WAIT_RETRIES) throw error
          await delay(1000 * failures, signal)
          continue
        }
        failures = 0
        if (reply.status === 200) return open('answer', id, key, stringField(reply, 'answer'))
        // 204: nothing yet, ask again (but never hammer a relay that does not hold).
        await delay(MIN_POLL_INTERVAL_MS - (Date.now() - started), signal)
      }
    },
  }
}

function stringField(reply: Reply, name: string): string {
  const value = typeof reply.data === 'object' && reply.data !== null ? (reply.data as Record<string, unknown>)[name] : undefined
  if (typeof value !== 'string') throw new RelayError('relay-unavailable', `the relay's reply has no "${name}"`)
  return value
}

function parseJson(text: string): unknown {
  if (text === '') return undefined
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

/** The relay's error code, as detail for the message; never its free text. */
function errorCodeOf(data: unknown): string | undefined {
  const code = typeof data === 'object' && data !== null ? (data as Record<string, unknown>).error : undefined
  return typeof code === 'string' && /^[a-z][a-z-]{0,39}$/.test(code) ? `relay says "${code}"` : undefined
}

function retryAfterOf(response: Response): number | undefined {
  const value = response.headers.get('retry-after')
  if (value === null || !/^\d{1,6}$/.test(value.trim())) return undefined
  return Number(value.trim())
}

/** Reads at most MAX_RESPONSE_BYTES: a relay cannot make a page buffer without bound. */
async function readCapped(response: Response): Promise<string> {
  if (!response.body) return ''
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > MAX_RESPONSE_BYTES) {
      await reader.cancel().catch(() => undefined)
      throw new RelayError('relay-unavailable', 'the relay sent an oversized reply')
    }
    chunks.push(value)
  }
  const all = new Uint8Array(size)
  let at = 0
  for (const chunk of chunks) {
    all.set(chunk, at)
    at += chunk.byteLength
  }
  return new TextDecoder().decode(all)
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted.', 'AbortError')
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal))
    if (ms <= 0) return resolve()
    const onAbort = () => {
      clearTimeout(timer)
      reject(abortReason(signal!))
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/** The error for an HTTP status the relay answered with (not 2xx). */
export function relayErrorForStatus(status: number, detail?: string, retryAfterSeconds?: number): RelayError {
  const options = { status, retryAfterSeconds }
  switch (status) {
    case 404:
      return new RelayError('relay-not-found', detail, options)
    case 410:
      return new RelayError('relay-expired', detail, options)
    case 409:
      return new RelayError('relay-answered', detail, options)
    case 413:
      return new RelayError('relay-too-large', detail, options)
    case 429:
      return new RelayError('relay-rate-limited', detail, options)
    default:
      if (status >= 400 && status < 500) return new RelayError('relay-bad-request', detail ?? `HTTP ${status}`, options)
      return new RelayError('relay-unavailable', detail ?? `HTTP ${status}`, options)
  }
}
