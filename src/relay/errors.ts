import { SessionError } from '../errors.js'

/** Why a relay call failed; `RelayError`'s message says it in words. */
export type RelayErrorCode =
  | 'relay-not-found'
  | 'relay-expired'
  | 'relay-answered'
  | 'relay-revoked'
  | 'relay-refused'
  | 'relay-too-large'
  | 'relay-rate-limited'
  | 'relay-bad-request'
  | 'relay-unavailable'
  | 'relay-damaged'
  | 'relay-insecure-page'

/** Words for whoever reads them, host or guest; the invite desk (session/invite-desk.ts) adds what that person can do next. */
const RELAY_MESSAGES: Record<RelayErrorCode, string> = {
  'relay-not-found': 'The relay does not know this invite: it was withdrawn or expired long ago, or the relay was restarted and lost it. Ask the host for a new invite.',
  'relay-expired': 'This invite has expired. Ask the host for a new one.',
  'relay-answered': 'Someone has already answered this invite, and it has no free place left. Ask the host for a new one.',
  'relay-revoked': 'The host has withdrawn this invite. Ask them for a new one if you still need it.',
  'relay-refused': 'The relay refused the request because it does not carry the right key: the link may be damaged. Ask the host to send it again.',
  'relay-too-large': 'The invite is too large for the relay.',
  'relay-rate-limited': 'The relay is getting too many requests from this network right now.',
  'relay-bad-request': 'The relay refused the request as malformed: both sides may need the same version of the app.',
  'relay-unavailable': 'The invite relay cannot be reached right now.',
  'relay-damaged': "The relay returned data that does not open with this invite's key: the link is incomplete, or the data was altered on the way. Ask the host for a new invite.",
  'relay-insecure-page': 'One-click invites are sealed with WebCrypto, which browsers give only to secure pages (https, or localhost). Open the app over https, or use an invite code instead.',
}

/**
 * Everything the relay client throws, except an abort the caller asked for. `code` tells
 * a program what happened; `relay-unavailable` and `relay-rate-limited` mean "try again later, or use the paste flow".
 */
export class RelayError extends SessionError {
  /** The class's name, as a string: it survives minification. */
  override name = 'RelayError'
  declare readonly code: RelayErrorCode
  /** The relay's HTTP status, when it answered at all. */
  readonly status: number | undefined
  /** From a 429/503 `Retry-After`, in seconds. */
  readonly retryAfterSeconds: number | undefined
  constructor(
    code: RelayErrorCode,
    detail?: string,
    options?: { cause?: unknown; status?: number; retryAfterSeconds?: number; advice?: string },
  ) {
    super(
      code,
      `${RELAY_MESSAGES[code]}${detail ? ` (${detail})` : ''}${options?.advice ? ` ${options.advice}` : ''}`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    )
    this.status = options?.status
    this.retryAfterSeconds = options?.retryAfterSeconds
  }
}
