/**
 * The invite relay: a small JSON-over-HTTP store of sealed offers and answers, so an
 * invite is one click instead of a link out and a code back. It only ever holds
 * ciphertext under random ids; it never logs bodies or client addresses.
 *
 *   POST /v1/invites               { offer, ttlSeconds } -> 201 { id }
 *   GET  /v1/invites/:id           -> 200 { offer } | 404 | 410
 *   POST /v1/invites/:id/answer    { answer } -> 204 | 409 (answered) | 404 | 410
 *   GET  /v1/invites/:id/answer?wait=25 -> 200 { answer } | 204 (no answer yet) | 404 | 410
 *   GET  /v1/health                -> 200 { ok: true, maxTtlSeconds, maxBodyBytes, maxWaitSeconds }
 *
 * Errors are `{ error: code, message }`. CORS is open (no credentials are ever used).
 */
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { DEFAULT_RATE_LIMIT, RateLimiter, type RateLimitOptions } from './rate-limit.js'
import { MemoryStore, type RelayStore, type StoredInvite } from './store.js'

export interface RelayServerOptions {
  /** Default: a MemoryStore. The server never closes a store it was given. */
  store?: RelayStore
  /** The clock expiry and rate limits go by (ms since the epoch); tests inject one. */
  now?: () => number
  /** Largest request body, default 16 KiB (413 above). */
  maxBodyBytes?: number
  /** Longest invite life a client may ask for, default 3600 s (400 above). */
  maxTtlSeconds?: number
  /** Longest long-poll, default 30 s (longer asks are cut to this). */
  maxWaitSeconds?: number
  /** Long-polls held at once, default 1000 (503 above). */
  maxWaiters?: number
  /** Per client address; `false` turns it off (e.g. when a proxy in front limits). */
  rateLimit?: Partial<RateLimitOptions> | false
  /** Take the client address from the last `X-Forwarded-For` hop (set only behind a proxy you run). */
  trustProxy?: boolean
  /** A long-poll re-reads the store this often, to see answers posted on other instances. */
  storePollMs?: number
  /** How often expired invites are swept, default 60 s. */
  sweepMs?: number
  /** A store call slower than this answers 503, default 5 s. */
  storeTimeoutMs?: number
  /** One entry per request; default prints JSON lines to stdout. */
  log?: (entry: RelayLogEntry) => void
}

export interface RelayLogEntry {
  method: string
  /** The route pattern, never the raw path. */
  route: string
  /** The first 8 characters of the invite id: enough to follow one invite, not to use it. */
  id?: string
  status: number
  ms: number
  error?: string
}

export interface RelayServer {
  readonly server: Server
  readonly store: RelayStore
  listen(port?: number, host?: string): Promise<{ port: number; host: string; url: string }>
  /** Ends pending long-polls (204, so clients re-poll elsewhere) and stops listening. */
  close(): Promise<void>
}

const ID_PATTERN = /^[A-Za-z0-9_-]{22}$/
const SEALED_PATTERN = /^[A-Za-z0-9_-]+$/

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
  }
}

const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST, OPTIONS',
  'access-control-allow-headers': 'content-type',
  'access-control-expose-headers': 'retry-after',
  'access-control-max-age': '600',
}

const BASE_HEADERS = {
  ...CORS_HEADERS,
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
}

export function createRelayServer(options: RelayServerOptions = {}): RelayServer {
  const store = options.store ?? new MemoryStore()
  const now = options.now ?? Date.now
  const maxBodyBytes = options.maxBodyBytes ?? 16 * 1024
  const maxTtlSeconds = options.maxTtlSeconds ?? 3600
  const maxWaitSeconds = options.maxWaitSeconds ?? 30
  const maxWaiters = options.maxWaiters ?? 1000
  const storePollMs = options.storePollMs ?? 500
  const storeTimeoutMs = options.storeTimeoutMs ?? 5_000
  const log = options.log ?? ((entry: RelayLogEntry) => console.log(JSON.stringify({ time: new Date().toISOString(), ...entry })))
  const limiter = options.rateLimit === false ? null : new RateLimiter({ ...DEFAULT_RATE_LIMIT, ...options.rateLimit }, now)

  /** Wakes the long-polls of one invite (answers posted on this instance). */
  const waiters = new Map<string, Set<() => void>>()
  /** Ends every long-poll, for close(). */
  const pendingPolls = new Set<() => void>()

  const server = createServer((req, res) => void handle(req, res))
  server.headersTimeout = 10_000
  server.requestTimeout = 15_000
  server.keepAliveTimeout = 5_000
  server.maxConnections = maxWaiters + 1024

  const sweep = setInterval(() => {
    storeCall(store.expire(now())).catch((error: unknown) => log({ method: '-', route: 'sweep', status: 0, ms: 0, error: errorName(error) }))
  }, options.sweepMs ?? 60_000)
  sweep.unref()

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now()
    const entry: RelayLogEntry = { method: req.method ?? '?', route: 'unmatched', status: 0, ms: 0 }
    res.on('close', () => {
      entry.status = res.writableFinished ? res.statusCode : 0
      entry.ms = Math.round(performance.now() - started)
      log(entry)
    })
    try {
      await route(req, res, entry)
    } catch (error) {
      if (error instanceof HttpError) send(res, error.status, { error: error.code, message: error.message }, error.headers)
      else {
        entry.error = errorName(error)
        send(res, 500, { error: 'internal', message: 'The relay failed; try again, or use the invite code instead.' })
      }
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse, entry: RelayLogEntry): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://relay.invalid')
    const parts = url.pathname.split('/').filter(Boolean)
    const method = req.method ?? ''
    let handler: ((id: string | undefined) => Promise<void>) | undefined
    let allowed = ''
    if (parts.length === 2 && parts[0] === 'v1' && parts[1] === 'health') {
      entry.route = '/v1/health'
      allowed = 'GET'
      if (method === 'GET') handler = async () => send(res, 200, { ok: true, maxTtlSeconds, maxBodyBytes, maxWaitSeconds })
    } else if (parts[0] === 'v1' && parts[1] === 'invites' && parts.length === 2) {
      entry.route = '/v1/invites'
      allowed = 'POST'
      if (method === 'POST') handler = () => createInvite(req, res, entry)
    } else if (parts[0] === 'v1' && parts[1] === 'invites' && parts.length === 3) {
      entry.route = '/v1/invites/:id'
      allowed = 'GET'
      if (method === 'GET') handler = (id) => getOffer(res, id!)
    } else if (parts[0] === 'v1' && parts[1] === 'invites' && parts.length === 4 && parts[3] === 'answer') {
      entry.route = '/v1/invites/:id/answer'
      allowed = 'GET, POST'
      if (method === 'POST') handler = (id) => postAnswer(req, res, id!)
      else if (method === 'GET') handler = (id) => getAnswer(res, id!, url.searchParams.get('wait'))
    } else {
      throw new HttpError(404, 'not-found', 'No such endpoint.')
    }
    if (method === 'OPTIONS') return send(res, 204)
    if (!handler) throw new HttpError(405, 'method-not-allowed', `Use ${allowed} here.`, { allow: `${allowed}, OPTIONS` })
    const id = parts[2]
    if (id !== undefined) {
      entry.id = id.slice(0, 8)
      if (!ID_PATTERN.test(id)) throw new HttpError(404, 'not-found', 'There is no invite with this id.')
    }
    if (limiter && entry.route !== '/v1/health') {
      const wait = limiter.take(clientAddress(req))
      if (wait > 0) throw new HttpError(429, 'rate-limited', 'Too many requests from this address; slow down.', { 'retry-after': String(wait) })
    }
    await handler(id)
  }

  async function createInvite(req: IncomingMessage, res: ServerResponse, entry: RelayLogEntry): Promise<void> {
    const body = await readJson(req)
    const offer = sealedField(body, 'offer')
    const ttlSeconds = body.ttlSeconds
    if (typeof ttlSeconds !== 'number' || !Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > maxTtlSeconds) {
      throw new HttpError(400, 'bad-request', `"ttlSeconds" must be a whole number of seconds from 1 to ${maxTtlSeconds}.`)
    }
    const at = now()
    for (let attempt = 0; attempt < 3; attempt++) {
      const id = randomBytes(16).toString('base64url')
      const result = await storeCall(store.putIfAbsent(id, offer, at + ttlSeconds * 1000, at))
      if (result === 'full') throw new HttpError(503, 'full', 'The relay holds as many invites as it can; try again later, or use the invite code instead.', { 'retry-after': '30' })
      if (result === 'ok') {
        entry.id = id.slice(0, 8)
        return send(res, 201, { id })
      }
    }
    throw new Error('no free invite id after 3 tries')
  }

  async function getOffer(res: ServerResponse, id: string): Promise<void> {
    const invite = await liveInvite(id)
    send(res, 200, { offer: invite.offer })
  }

  async function postAnswer(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    const answer = sealedField(await readJson(req), 'answer')
    const invite = await liveInvite(id)
    if (invite.answer !== undefined) throw answered()
    const result = await storeCall(store.setAnswerOnce(id, answer, now()))
    if (result === 'answered') throw answered()
    if (result === 'missing') {
      await liveInvite(id) // expired or swept in between: throws 410/404
      throw new HttpError(410, 'expired', 'This invite has expired.')
    }
    for (const wake of waiters.get(id) ?? []) wake()
    send(res, 204)
  }

  async function getAnswer(res: ServerResponse, id: string, waitParam: string | null): Promise<void> {
    if (waitParam !== null && !/^\d{1,4}$/.test(waitParam)) throw new HttpError(400, 'bad-request', '"wait" must be a whole number of seconds.')
    const waitMs = Math.min(Number(waitParam ?? 0), maxWaitSeconds) * 1000
    const first = await liveInvite(id)
    if (first.answer !== undefined) return send(res, 200, { answer: first.answer })
    if (waitMs === 0) return send(res, 204)
    if (pendingPolls.size >= maxWaiters) throw new HttpError(503, 'busy', 'The relay is holding too many waiting requests; try again shortly.', { 'retry-after': '5' })

    await new Promise<void>((resolve) => {
      let done = false
      let checking = false
      let again = false
      const finish = (respond: () => void) => {
        if (done) return
        done = true
        clearTimeout(deadline)
        clearInterval(poll)
        pendingPolls.delete(end)
        const set = waiters.get(id)
        set?.delete(check)
        if (set?.size === 0) waiters.delete(id)
        if (!res.destroyed && !res.headersSent) respond()
        resolve()
      }
      const end = () => finish(() => send(res, 204))
      const check = () => {
        if (done) return
        if (checking) {
          again = true
          return
        }
        checking = true
        void (async () => {
          try {
            do {
              again = false
              const invite = await liveInvite(id)
              if (invite.answer !== undefined) return finish(() => send(res, 200, { answer: invite.answer }))
            } while (again && !done)
          } catch (error) {
            finish(() => {
              if (error instanceof HttpError) send(res, error.status, { error: error.code, message: error.message }, error.headers)
              else send(res, 500, { error: 'internal', message: 'The relay failed; poll again.' })
            })
          } finally {
            checking = false
          }
        })()
      }
      const deadline = setTimeout(end, waitMs)
      const poll = setInterval(check, storePollMs)
      pendingPolls.add(end)
      const set = waiters.get(id) ?? new Set()
      set.add(check)
      waiters.set(id, set)
      res.on('close', () => finish(() => undefined))
    })
  }

  /** The invite if it can still be used; 404/410 otherwise. */
  async function liveInvite(id: string): Promise<StoredInvite & { offer: string }> {
    const invite = await storeCall(store.get(id, now()))
    if (!invite) throw new HttpError(404, 'not-found', 'There is no invite with this id.')
    if (invite.offer === undefined || now() >= invite.expiresAt) throw new HttpError(410, 'expired', 'This invite has expired.')
    return invite as StoredInvite & { offer: string }
  }

  function answered(): HttpError {
    return new HttpError(409, 'answered', 'This invite has already been answered; each invite admits one guest.')
  }

  function storeCall<T>(promise: Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new HttpError(503, 'store-unavailable', 'The relay cannot reach its storage; try again shortly.', { 'retry-after': '5' })), storeTimeoutMs)
    })
    return Promise.race([
      promise.catch((error: unknown) => {
        throw error instanceof HttpError ? error : new HttpError(503, 'store-unavailable', 'The relay cannot reach its storage; try again shortly.', { 'retry-after': '5' })
      }),
      timeout,
    ]).finally(() => clearTimeout(timer))
  }

  async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
    const tooLarge = () => new HttpError(413, 'too-large', `Request bodies are limited to ${maxBodyBytes} bytes.`, { connection: 'close' })
    if (Number(req.headers['content-length'] ?? 0) > maxBodyBytes) {
      req.resume()
      throw tooLarge()
    }
    const raw = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = []
      let size = 0
      const onData = (chunk: Buffer) => {
        size += chunk.length
        if (size <= maxBodyBytes) return void chunks.push(chunk)
        // Keep draining (discarded) so the 413 reaches the client; the socket closes after it.
        req.off('data', onData)
        req.resume()
        reject(tooLarge())
      }
      req.on('data', onData)
      req.once('end', () => resolve(Buffer.concat(chunks)))
      req.once('error', reject)
      req.once('close', () => reject(new HttpError(400, 'bad-request', 'The request body was cut off.')))
    })
    let body: unknown
    try {
      body = JSON.parse(raw.toString('utf8'))
    } catch {
      throw new HttpError(400, 'bad-request', 'The body must be JSON.')
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'bad-request', 'The body must be a JSON object.')
    return body as Record<string, unknown>
  }

  function sealedField(body: Record<string, unknown>, name: string): string {
    const value = body[name]
    if (typeof value !== 'string' || value.length === 0 || !SEALED_PATTERN.test(value)) {
      throw new HttpError(400, 'bad-request', `"${name}" must be sealed data (base64url text).`)
    }
    return value
  }

  function clientAddress(req: IncomingMessage): string {
    if (options.trustProxy) {
      const forwarded = req.headers['x-forwarded-for']
      const hops = (Array.isArray(forwarded) ? forwarded.join(',') : forwarded ?? '').split(',').map((hop) => hop.trim()).filter(Boolean)
      const last = hops[hops.length - 1]
      if (last) return last
    }
    return req.socket.remoteAddress ?? 'unknown'
  }

  return {
    server,
    store,
    listen(port = 0, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, host, () => {
          server.off('error', reject)
          const address = server.address() as AddressInfo
          const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address
          resolve({ port: address.port, host: address.address, url: `http://${shown}:${address.port}` })
        })
      })
    },
    async close() {
      clearInterval(sweep)
      for (const end of [...pendingPolls]) end()
      await new Promise<void>((resolve) => {
        if (!server.listening) return resolve()
        server.close(() => resolve())
        server.closeIdleConnections()
        setTimeout(() => server.closeAllConnections(), 1_000).unref()
      })
    },
  }
}

function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return
  const payload = body === undefined ? undefined : JSON.stringify(body)
  res.writeHead(status, {
    ...BASE_HEADERS,
    ...(payload === undefined ? {} : { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(payload)) }),
    ...headers,
  })
  res.end(payload)
}

/** For logs: the kind of error, never its message (which could quote data). */
function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error
}
