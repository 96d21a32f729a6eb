/**
 * The invite relay: a small JSON-over-HTTP store of sealed offers and answers, so an
 * invite is one click instead of a link out and a code back. It only ever holds
 * ciphertext under random ids; it never logs bodies, tokens or client addresses.
 * README.md lists the routes, the limits and the authentication design.
 */
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  answerMacValid,
  bearerToken,
  DEFAULT_SOCKET_LIMITS,
  HttpError,
  keyField,
  limitSockets,
  readJson,
  sealedField,
  send,
  sendError,
  serverTimeouts,
  type SocketLimits,
  tokenMatches,
} from './http.js'
import { clientKey, DEFAULT_RATE_LIMIT, type RateLimitOptions } from './rate-limit.js'
import { type InviteInfo, MemoryStore, type RelayStore } from './store.js'

export interface RelayServerOptions {
  /** Default: a MemoryStore. The server never closes a store it was given. */
  store?: RelayStore
  /** The clock expiry and rate limits go by (ms since the epoch); tests inject one. */
  now?: () => number
  /** Largest request body, default 16 KiB (413 above); creating a room link may send up to `maxSeats` offers in one body, so it gets 4 times this. */
  maxBodyBytes?: number
  /** Longest invite life a client may ask for, default 3600 s (400 above). */
  maxTtlSeconds?: number
  /** Longest long-poll, default 30 s (longer asks are cut to this). */
  maxWaitSeconds?: number
  /** Long-polls held at once, default 1000 (503 above). */
  maxWaiters?: number
  /** Most seats of one room link, default 16. */
  maxSeats?: number
  /** Most invites one host long-poll may watch, default 64. */
  maxWatched?: number
  /** Per client address, shared through the store; `false` turns it off (e.g. when a proxy in front limits). */
  rateLimit?: Partial<RateLimitOptions> | false
  /** Per-address socket cap and request timeouts. */
  sockets?: Partial<SocketLimits>
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
  /** Ends pending long-polls (204, so clients poll again elsewhere) and stops listening. */
  close(): Promise<void>
}

const ID_PATTERN = /^[A-Za-z0-9_-]{22}$/

interface Gone {
  id: string
  reason: 'expired' | 'revoked' | 'not-found'
}

export function createRelayServer(options: RelayServerOptions = {}): RelayServer {
  const store = options.store ?? new MemoryStore()
  const now = options.now ?? Date.now
  const maxBodyBytes = options.maxBodyBytes ?? 16 * 1024
  const maxTtlSeconds = options.maxTtlSeconds ?? 3600
  const maxWaitSeconds = options.maxWaitSeconds ?? 30
  const maxWaiters = options.maxWaiters ?? 1000
  const maxSeats = options.maxSeats ?? 16
  const maxWatched = options.maxWatched ?? 64
  const storePollMs = options.storePollMs ?? 500
  const storeTimeoutMs = options.storeTimeoutMs ?? 5_000
  const log = options.log ?? ((entry: RelayLogEntry) => console.log(JSON.stringify({ time: new Date().toISOString(), ...entry })))
  const rateLimit = options.rateLimit === false ? null : { ...DEFAULT_RATE_LIMIT, ...options.rateLimit }
  const sockets = { ...DEFAULT_SOCKET_LIMITS, ...options.sockets }

  /** Wakes the long-polls watching an invite (answers posted on this instance). */
  const waiters = new Map<string, Set<() => void>>()
  /** Ends every long-poll, for close(). */
  const pendingPolls = new Set<() => void>()

  const server = createServer(serverTimeouts(sockets), (req, res) => void handle(req, res))
  server.maxConnections = maxWaiters + 1024
  limitSockets(server, sockets)

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
      if (error instanceof HttpError) sendError(res, error)
      else {
        entry.error = errorName(error)
        send(res, 500, { error: 'internal', message: 'The relay failed; try again.' })
      }
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse, entry: RelayLogEntry): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://relay.invalid')
    const parts = url.pathname.split('/').filter(Boolean)
    const method = req.method ?? ''
    const routes: Record<string, Record<string, (id: string) => Promise<void>>> = {
      '/v1/health': { GET: () => health(res) },
      '/v1/invites': { POST: () => createInvite(req, res, entry) },
      '/v1/invites/:id': { GET: (id) => claimOffer(res, id), DELETE: (id) => revoke(req, res, id) },
      '/v1/invites/:id/answer': { POST: (id) => postAnswer(req, res, id) },
      '/v1/answers': { POST: () => watchAnswers(req, res, url.searchParams.get('wait')) },
    }
    const id = parts[0] === 'v1' && parts[1] === 'invites' ? parts[2] : undefined
    const pattern = parts.map((part, i) => (i === 2 && id !== undefined ? ':id' : part)).join('/')
    const handlers = routes[`/${pattern}`]
    if (!handlers) throw new HttpError(404, 'not-found', 'No such endpoint.')
    entry.route = `/${pattern}`
    if (method === 'OPTIONS') return send(res, 204)
    if (id !== undefined) {
      entry.id = id.slice(0, 8)
      if (!ID_PATTERN.test(id)) throw new HttpError(404, 'not-found', 'There is no invite with this id.')
    }
    const handler = handlers[method]
    const allowed = Object.keys(handlers).join(', ')
    if (!handler) throw new HttpError(405, 'method-not-allowed', `Use ${allowed} here.`, { allow: `${allowed}, OPTIONS` })
    if (rateLimit && entry.route !== '/v1/health') {
      const wait = await storeCall(store.takeToken(clientKey(clientAddress(req)), rateLimit, now()))
      if (wait > 0) throw new HttpError(429, 'rate-limited', 'Too many requests from this address; slow down.', { 'retry-after': String(wait) })
    }
    await handler(id ?? '')
  }

  async function health(res: ServerResponse): Promise<void> {
    await storeCall(store.ping())
    send(res, 200, { ok: true, maxTtlSeconds, maxBodyBytes, maxWaitSeconds, maxSeats, maxWatched })
  }

  async function createInvite(req: IncomingMessage, res: ServerResponse, entry: RelayLogEntry): Promise<void> {
    const body = await readJson(req, maxBodyBytes * 4)
    const offers = body.offers
    if (!Array.isArray(offers) || offers.length < 1 || offers.length > maxSeats) throw new HttpError(400, 'bad-request', `"offers" must hold 1 to ${maxSeats} sealed offers, one per seat.`)
    const ttlSeconds = body.ttlSeconds
    if (typeof ttlSeconds !== 'number' || !Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > maxTtlSeconds) {
      throw new HttpError(400, 'bad-request', `"ttlSeconds" must be a whole number of seconds from 1 to ${maxTtlSeconds}.`)
    }
    const at = now()
    const invite = {
      offers: offers.map((offer: unknown) => sealedField(offer, 'offers[]')),
      meta: sealedField(body.meta, 'meta'),
      hostKey: keyField(body.hostKey, 'hostKey'),
      answerKey: keyField(body.answerKey, 'answerKey'),
      expiresAt: at + ttlSeconds * 1000,
    }
    if (invite.offers.some((offer) => offer.length > maxBodyBytes)) throw new HttpError(413, 'too-large', `Each offer is limited to ${maxBodyBytes} bytes.`)
    for (let attempt = 0; attempt < 3; attempt++) {
      const id = randomBytes(16).toString('base64url')
      const result = await storeCall(store.create(id, invite, at))
      if (result === 'full') throw new HttpError(503, 'full', 'The relay holds as many invites as it can; try again later.', { 'retry-after': '30' })
      if (result === 'ok') {
        entry.id = id.slice(0, 8)
        return send(res, 201, { id, expiresAt: invite.expiresAt })
      }
    }
    throw new Error('no free invite id after 3 tries')
  }

  /** A guest's look at the invite: who invites (sealed), until when, and one free seat's offer. */
  async function claimOffer(res: ServerResponse, id: string): Promise<void> {
    const invite = await liveInvite(id)
    const seat = await storeCall(store.claim(id, now()))
    if (!seat) throw seatsTaken(invite)
    send(res, 200, { offer: seat.offer, slot: seat.slot, meta: invite.meta, expiresAt: invite.expiresAt, seats: invite.seats, open: invite.open })
  }

  async function postAnswer(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    const body = await readJson(req, maxBodyBytes)
    const answer = sealedField(body.answer, 'answer')
    const mac = keyField(body.mac, 'mac')
    const slot = body.slot
    if (typeof slot !== 'number' || !Number.isInteger(slot) || slot < 0 || slot >= maxSeats) throw new HttpError(400, 'bad-request', '"slot" must be the seat number the offer came with.')
    const invite = await liveInvite(id)
    // Checked before anything is stored: an answer from someone without the link's key
    // is refused and burns nothing.
    if (!answerMacValid(invite.answerKey, id, slot, answer, mac)) throw new HttpError(403, 'unauthenticated', "The answer does not authenticate under this invite's key; it was not stored.")
    const result = await storeCall(store.answer(id, slot, answer, now()))
    if (result === 'answered') throw seatsTaken(invite)
    if (result === 'missing') {
      await liveInvite(id) // expired or revoked in between: throws 410/404
      throw new HttpError(404, 'not-found', 'This invite has no such seat.')
    }
    for (const wake of waiters.get(id) ?? []) wake()
    send(res, 204)
  }

  async function revoke(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    const token = bearerToken(req)
    const invite = await liveInvite(id)
    if (token === undefined || !tokenMatches(token, invite.hostKey)) throw new HttpError(403, 'forbidden', 'Only the host that made this invite can revoke it.')
    await storeCall(store.revoke(id, now()))
    for (const wake of waiters.get(id) ?? []) wake()
    send(res, 204)
  }

  /**
   * The host's one long-poll for all its open invites: `{ invites: [{ id, token }] }` →
   * 200 `{ answers: [{ id, slot, answer }], gone: [{ id, reason }] }` as soon as there is
   * anything to say, else 204 after `wait` seconds. Answers are deleted as they are returned.
   */
  async function watchAnswers(req: IncomingMessage, res: ServerResponse, waitParam: string | null): Promise<void> {
    if (waitParam !== null && !/^\d{1,9}$/.test(waitParam)) throw new HttpError(400, 'bad-request', '"wait" must be a whole number of seconds.')
    const waitMs = Math.min(Number(waitParam ?? 0), maxWaitSeconds) * 1000
    const list = (await readJson(req, maxBodyBytes)).invites
    if (!Array.isArray(list) || list.length < 1 || list.length > maxWatched) throw new HttpError(400, 'bad-request', `"invites" must list 1 to ${maxWatched} invites.`)
    const watched = list.map((item: unknown) => {
      const { id, token, ack } = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>
      if (typeof id !== 'string' || !ID_PATTERN.test(id)) throw new HttpError(400, 'bad-request', 'Each watched invite needs its "id".')
      if (ack !== undefined && (!Array.isArray(ack) || ack.length > maxSeats || !ack.every((slot) => Number.isInteger(slot) && slot >= 0 && slot < maxSeats))) {
        throw new HttpError(400, 'bad-request', `"ack" must list seats 0 to ${maxSeats - 1}.`)
      }
      return { id, token: keyField(token, 'token'), ack: (ack ?? []) as number[] }
    })
    // Answers the host says it has are deleted now; the others stay until it does (a reply can be lost).
    for (const { id, token, ack } of watched) {
      if (!ack.length) continue
      const invite = await storeCall(store.read(id, now()))
      if (invite?.state === 'live' && tokenMatches(token, invite.hostKey)) await storeCall(store.dropAnswers(id, ack, now()))
    }
    const collect = async () => {
      const answers: Array<{ id: string; slot: number; answer: string }> = []
      const gone: Gone[] = []
      for (const { id, token, ack } of watched) {
        const invite = await storeCall(store.read(id, now()))
        if (invite?.state !== 'live' || !tokenMatches(token, invite.hostKey)) {
          // A wrong token learns no more than an unknown id would.
          gone.push({ id, reason: invite && invite.state !== 'live' ? invite.state : 'not-found' })
          continue
        }
        for (const unread of await storeCall(store.readAnswers(id, now()))) if (!ack.includes(unread.slot)) answers.push({ id, ...unread })
      }
      return answers.length || gone.length ? { answers, gone } : null
    }
    const first = await collect()
    if (first) return send(res, 200, first)
    if (waitMs === 0) return send(res, 204)
    if (pendingPolls.size >= maxWaiters) throw new HttpError(503, 'busy', 'The relay is holding too many waiting requests; try again shortly.', { 'retry-after': '5' })
    await hold(res, watched.map((w) => w.id), collect, waitMs)
  }

  /** Holds a long-poll until `collect` has something (woken by local answers, or by re-reading the store), or `waitMs` passes (204). */
  function hold(res: ServerResponse, ids: string[], collect: () => Promise<unknown>, waitMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let done = false
      let checking = false
      let again = false
      const finish = (respond: () => void) => {
        if (done) return
        done = true
        clearTimeout(deadline)
        clearInterval(poll)
        pendingPolls.delete(end)
        for (const id of ids) {
          const set = waiters.get(id)
          set?.delete(check)
          if (set?.size === 0) waiters.delete(id)
        }
        if (!res.destroyed && !res.headersSent) respond()
        resolve()
      }
      const end = () => finish(() => send(res, 204))
      const check = () => {
        if (done) return
        if (checking) return void (again = true)
        checking = true
        void (async () => {
          try {
            do {
              again = false
              const reply = await collect()
              if (reply) return finish(() => send(res, 200, reply))
            } while (again && !done)
          } catch (error) {
            finish(() => (error instanceof HttpError ? sendError(res, error) : send(res, 500, { error: 'internal', message: 'The relay failed; poll again.' })))
          } finally {
            checking = false
          }
        })()
      }
      const deadline = setTimeout(end, waitMs)
      const poll = setInterval(check, storePollMs)
      pendingPolls.add(end)
      for (const id of ids) {
        const set = waiters.get(id) ?? new Set()
        set.add(check)
        waiters.set(id, set)
      }
      res.on('close', () => finish(() => undefined))
    })
  }

  /** The invite if it can still be used; 404/410 otherwise. */
  async function liveInvite(id: string): Promise<InviteInfo> {
    const invite = await storeCall(store.read(id, now()))
    if (!invite) throw new HttpError(404, 'not-found', 'There is no invite with this id.')
    if (invite.state === 'revoked') throw new HttpError(410, 'revoked', 'The host has withdrawn this invite.')
    if (invite.state !== 'live' || now() >= invite.expiresAt) throw new HttpError(410, 'expired', 'This invite has expired.')
    return invite
  }

  function seatsTaken(invite: InviteInfo): HttpError {
    return invite.seats > 1
      ? new HttpError(409, 'answered', 'Every seat of this room link is taken.')
      : new HttpError(409, 'answered', 'This invite has already been answered; each invite admits one guest.')
  }

  function storeCall<T>(promise: Promise<T>): Promise<T> {
    const unavailable = () => new HttpError(503, 'store-unavailable', 'The relay cannot reach its storage; try again shortly.', { 'retry-after': '5' })
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(unavailable()), storeTimeoutMs)
    })
    return Promise.race([
      promise.catch((error: unknown) => {
        throw error instanceof HttpError ? error : unavailable()
      }),
      timeout,
    ]).finally(() => clearTimeout(timer))
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

/** For logs: the kind of error, never its message (which could quote data). */
function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error
}
