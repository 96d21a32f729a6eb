/**
 * The relay client's work: publishes sealed offers, fetches one on the guest side, carries
 * the sealed, authenticated answer back, and long-polls for many invites at once. Only `fetch` and WebCrypto, so it runs in browsers and Node alike.
 * Every failure is a RelayError; `relay-unavailable` (down, slow, 5xx, full) means the
 * caller should fall back to the paste flow. Loaded by client.ts on first use, with the
 * sealing code: a page that never meets a relay never loads either.
 */
import type { RelayClient, RelayClientOptions, RelayInviteMeta, RelayWatchResult } from './client.js'
import { RelayError } from './errors.js'
import { checkRelayRef, isRelayId } from './fragment.js'
import { answerKeyFor, answerMac, newHostToken, newRelayKey, open, seal } from './seal.js'

const DEFAULT_TIMEOUT_MS = 8_000
const DEFAULT_WAIT_SECONDS = 25
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

  async function request(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, signal?: AbortSignal, extraMs = 0, headers: Record<string, string> = {}): Promise<Reply> {
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
          headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'text/plain;charset=UTF-8' }), ...headers },
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

    async publish(offerBlobs, meta, ttlSeconds) {
      if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) throw new RangeError(`ttlSeconds must be a positive integer, got ${ttlSeconds}`)
      if (offerBlobs.length < 1) throw new RangeError('An invite needs at least one offer')
      const key = newRelayKey()
      const [offers, sealedMeta, answerKey, { token, hostKey }] = await Promise.all([
        Promise.all(offerBlobs.map((blob) => seal('offer', '', key, blob))),
        seal('meta', '', key, JSON.stringify(meta)),
        answerKeyFor(key),
        newHostToken(),
      ])
      const reply = await request('POST', '/v1/invites', { offers, meta: sealedMeta, ttlSeconds, hostKey, answerKey })
      const id = stringField(reply, 'id')
      if (!isRelayId(id)) throw new RelayError('relay-unavailable', 'the relay answered with a malformed id')
      return { id, key, token }
    },

    async fetchOffer(id, key) {
      checkRelayRef(id, key)
      const reply = await request('GET', `/v1/invites/${id}`)
      const [offer, metaText] = await Promise.all([open('offer', '', key, stringField(reply, 'offer')), open('meta', '', key, stringField(reply, 'meta'))])
      return {
        offer,
        meta: parseMeta(metaText),
        slot: numberField(reply, 'slot'),
        expiresAt: numberField(reply, 'expiresAt'),
        seats: numberField(reply, 'seats'),
        open: numberField(reply, 'open'),
      }
    },

    async postAnswer(id, key, slot, answerBlob) {
      checkRelayRef(id, key)
      const answer = await seal('answer', id, key, answerBlob)
      await request('POST', `/v1/invites/${id}/answer`, { answer, slot, mac: await answerMac(key, id, slot, answer) })
    },

    async revoke(invite) {
      await request('DELETE', `/v1/invites/${invite.id}`, undefined, undefined, 0, { authorization: `Bearer ${invite.token}` })
    },

    async watch(invites, watchOptions = {}) {
      const list = invites.map(({ id, token, ack }) => ({ id, token, ...(ack?.length ? { ack } : {}) }))
      const wait = watchOptions.waitSeconds ?? waitSeconds
      const reply = await request('POST', `/v1/answers?wait=${wait}`, { invites: list }, watchOptions.signal, wait * 1000)
      if (reply.status === 204) return null
      const data = (reply.data ?? {}) as { answers?: unknown; gone?: unknown }
      if (!Array.isArray(data.answers) || !Array.isArray(data.gone)) throw new RelayError('relay-unavailable', 'the relay sent a malformed reply')
      const known = new Set(list.map((i) => i.id))
      return {
        answers: data.answers
          .filter((a): a is { id: string; slot: number; answer: string } => typeof a?.id === 'string' && known.has(a.id) && Number.isInteger(a.slot) && typeof a.answer === 'string')
          .map(({ id, slot, answer }) => ({ id, slot, sealed: answer })),
        gone: data.gone.filter(
          (g): g is RelayWatchResult['gone'][number] => typeof g?.id === 'string' && known.has(g.id) && ['expired', 'revoked', 'not-found'].includes(g.reason),
        ),
      }
    },

    openAnswer(invite, sealed) {
      return open('answer', invite.id, invite.key, sealed)
    },
  }
}

function numberField(reply: Reply, name: string): number {
  const value = typeof reply.data === 'object' && reply.data !== null ? (reply.data as Record<string, unknown>)[name] : undefined
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new RelayError('relay-unavailable', `the relay's reply has no "${name}"`)
  return value
}

/** The sealed meta opened fine, so it is the host's; still, only the fields we show, as text. */
function parseMeta(text: string): RelayInviteMeta {
  let raw: { from?: { id?: unknown; name?: unknown }; access?: unknown }
  try {
    raw = JSON.parse(text) as typeof raw
  } catch (cause) {
    throw new RelayError('relay-damaged', 'the invite details are not JSON', { cause })
  }
  return {
    from: { id: String(raw?.from?.id ?? ''), name: String(raw?.from?.name ?? '').slice(0, 200) },
    access: raw?.access === 'viewer' ? 'viewer' : 'editor',
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

/** The error for an HTTP status the relay answered with (not 2xx). */
export function relayErrorForStatus(status: number, detail?: string, retryAfterSeconds?: number): RelayError {
  const options = { status, retryAfterSeconds }
  switch (status) {
    case 404:
      return new RelayError('relay-not-found', detail, options)
    case 410:
      return new RelayError(detail === 'relay says "revoked"' ? 'relay-revoked' : 'relay-expired', detail, options)
    case 409:
      return new RelayError('relay-answered', detail, options)
    case 403:
      return new RelayError('relay-refused', detail, options)
    case 413:
      return new RelayError('relay-too-large', detail, options)
    case 429:
      return new RelayError('relay-rate-limited', detail, options)
    default:
      if (status >= 400 && status < 500) return new RelayError('relay-bad-request', detail ?? `HTTP ${status}`, options)
      return new RelayError('relay-unavailable', detail ?? `HTTP ${status}`, options)
  }
}
