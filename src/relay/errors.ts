import { SessionError } from '../errors.js'

export type RelayErrorCode =
  | 'relay-not-found'
  | 'relay-expired'
  | 'relay-answered'
  | 'relay-too-large'
  | 'relay-rate-limited'
  | 'relay-bad-request'
  | 'relay-unavailable'
  | 'relay-damaged'
  | 'relay-insecure-page'

const RELAY_MESSAGES: Record<RelayErrorCode, string> = {
  'relay-not-found': 'The relay does not know this invite: the link may be incomplete, or the invite was never published. Ask the host for a new invite.',
  'relay-expired': 'This invite has expired on the relay. Ask the host for a new one.',
  'relay-answered': 'Someone has already answered this invite: each invite admits one person. Ask the host for a new one.',
  'relay-too-large': 'The invite is too large for the relay. Send the invite code to paste instead.',
  'relay-rate-limited': 'The relay is getting too many requests from this network. Wait a moment and try again, or use the invite code instead.',
  'relay-bad-request': 'The relay refused the request as malformed. Both sides may need the same version of the app; use the invite code instead.',
  'relay-unavailable': 'The invite relay cannot be reached right now. Use the invite code instead: copy it to the guest, and paste their answer back.',
  'relay-damaged': "The relay returned data that does not open with this invite's key: the link is incomplete, or the data was altered on the way. Ask the host for a new invite.",
  'relay-insecure-page': 'One-click invites are sealed with WebCrypto, which browsers give only to secure pages (https, or localhost). Open the app over https, or use the invite code instead.',
}

/**
 * Everything the relay client throws, except an abort the caller asked for. `code` tells
 * a program what happened; `relay-unavailable` means "fall back to the paste flow".
 */
export class RelayError extends SessionError {
  override name = 'RelayError'
  declare readonly code: RelayErrorCode
  /** The relay's HTTP status, when it answered at all. */
  readonly status: number | undefined
  /** From a 429/503 `Retry-After`, in seconds. */
  readonly retryAfterSeconds: number | undefined
  constructor(
    code: RelayErrorCode,
    detail?: string,
    options?: { cause?: unknown; status?: number; retryAfterSeconds?: number },
  ) {
    super(
      code,
      detail ? `${RELAY_MESSAGES[code]} (${detail})` : RELAY_MESSAGES[code],
      options?.cause === undefined ? undefined : { cause: options.cause },
    )
    this.status = options?.status
    this.retryAfterSeconds = options?.retryAfterSeconds
  }
}
