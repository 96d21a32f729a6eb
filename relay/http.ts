/** HTTP plumbing of the relay: errors as JSON, bounded bodies, headers, socket limits. */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { clientKey } from './rate-limit.js'

export class HttpError extends Error {
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
  'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
  'access-control-allow-headers': 'content-type, authorization',
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

export function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return
  const payload = body === undefined ? undefined : JSON.stringify(body)
  res.writeHead(status, {
    ...BASE_HEADERS,
    ...(payload === undefined ? {} : { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(payload)) }),
    ...headers,
  })
  res.end(payload)
}

export function sendError(res: ServerResponse, error: HttpError): void {
  send(res, error.status, { error: error.code, message: error.message }, error.headers)
}

/** A JSON object body of at most `maxBytes`; 413 above, 400 for anything but an object. */
export async function readJson(req: IncomingMessage, maxBytes: number): Promise<Record<string, unknown>> {
  const tooLarge = () => new HttpError(413, 'too-large', `Request bodies are limited to ${maxBytes} bytes.`, { connection: 'close' })
  if (Number(req.headers['content-length'] ?? 0) > maxBytes) {
    req.resume()
    throw tooLarge()
  }
  const raw = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size <= maxBytes) return void chunks.push(chunk)
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

const SEALED_PATTERN = /^[A-Za-z0-9_-]+$/
const KEY_PATTERN = /^[A-Za-z0-9_-]{43}$/

/** A field of base64url text (sealed data, a MAC, a key). */
export function sealedField(value: unknown, name: string, pattern = SEALED_PATTERN): string {
  if (typeof value !== 'string' || value.length === 0 || !pattern.test(value)) throw new HttpError(400, 'bad-request', `"${name}" must be sealed data (base64url text).`)
  return value
}

/** A 256-bit value, base64url (43 characters): host keys, answer keys, MACs, tokens. */
export function keyField(value: unknown, name: string): string {
  return sealedField(value, name, KEY_PATTERN)
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('base64url')
}

/** HMAC-SHA256 of an answer under the invite's answer key, as the guest's page computes it (src/relay/seal.ts). */
export function answerMacValid(answerKey: string, id: string, slot: number, answer: string, mac: string): boolean {
  const expected = createHmac('sha256', Buffer.from(answerKey, 'base64url')).update(`${id}.${slot}.${answer}`).digest()
  const given = Buffer.from(mac, 'base64url')
  return given.length === expected.length && timingSafeEqual(given, expected)
}

/** Constant-time check of a presented host token against the stored SHA-256. */
export function tokenMatches(token: string, hostKey: string): boolean {
  const given = Buffer.from(sha256(token), 'base64url')
  const expected = Buffer.from(hostKey, 'base64url')
  return given.length === expected.length && timingSafeEqual(given, expected)
}

export function bearerToken(req: IncomingMessage): string | undefined {
  const match = /^Bearer ([A-Za-z0-9_-]{43})$/.exec(req.headers.authorization ?? '')
  return match?.[1]
}

export interface SocketLimits {
  /** Open sockets one client address (IPv6: its /64) may hold; more are closed at once. */
  maxConnectionsPerAddress: number
  /** All of a request's headers must arrive within this. */
  headersTimeoutMs: number
  /** The whole request (headers and body) must arrive within this. */
  requestTimeoutMs: number
  /** A kept-alive socket with no request is closed after this. */
  keepAliveTimeoutMs: number
}

export const DEFAULT_SOCKET_LIMITS: SocketLimits = { maxConnectionsPerAddress: 32, headersTimeoutMs: 5_000, requestTimeoutMs: 10_000, keepAliveTimeoutMs: 5_000 }

/** Options for `createServer`: Node reads these timeouts only there, and checks them this often. */
export function serverTimeouts(limits: SocketLimits): { headersTimeout: number; requestTimeout: number; keepAliveTimeout: number; connectionsCheckingInterval: number } {
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
  }
}

/**
 * Applies the per-address cap, and closes sockets that send nothing at all (Node's
 * header timeout starts only with the first byte). One address cannot hold the relay's
 * sockets, half-open or slow, and lock everyone else out. The addresses are those of the
 * sockets: behind a proxy, the proxy's (cap connections per client at the proxy).
 */
export function limitSockets(server: Server, limits: SocketLimits): void {
  const perAddress = new Map<string, number>()
  const spoke = new WeakSet<object>()
  server.on('request', (req: IncomingMessage) => spoke.add(req.socket))
  server.on('connection', (socket) => {
    const key = clientKey(socket.remoteAddress ?? 'unknown')
    const count = (perAddress.get(key) ?? 0) + 1
    if (count > limits.maxConnectionsPerAddress) return void socket.destroy()
    perAddress.set(key, count)
    const silent = setTimeout(() => spoke.has(socket) || socket.destroy(), limits.headersTimeoutMs)
    silent.unref()
    socket.once('close', () => {
      clearTimeout(silent)
      const left = (perAddress.get(key) ?? 1) - 1
      if (left === 0) perAddress.delete(key)
      else perAddress.set(key, left)
    })
  })
}
