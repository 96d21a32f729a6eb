/**
 * Every error the library throws or reports carries a stable `code` for programs and a
 * message a person can act on. Each class names itself in a string literal: a minifier
 * renames classes, so `new.target.name` would read 'h' or 'S' in the built package.
 */
export class SessionError extends Error {
  override name = 'SessionError'
  readonly code: string
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}

/** Thrown when a plugin would be loaded while a session is active. */
export class SessionLockedError extends SessionError {
  override name = 'SessionLockedError'
  readonly pluginId: string
  constructor(pluginId: string) {
    super(
      'session-locked',
      `Cannot load plugin "${pluginId}" while a session is active: every peer must run the same set of plugins. Leave or end the session first.`,
    )
    this.pluginId = pluginId
  }
}

export class DuplicateProviderError extends SessionError {
  override name = 'DuplicateProviderError'
  constructor(readonly providerId: string) {
    super('duplicate-provider', `A session provider with id "${providerId}" is already registered.`)
  }
}

/** Starting or joining was refused because some modules declared `sessionCompatible: false`. */
export class IncompatibleModulesError extends SessionError {
  override name = 'IncompatibleModulesError'
  constructor(readonly modules: readonly string[]) {
    super(
      'incompatible-modules',
      `These modules cannot take part in a session: ${modules.join(', ')}. Unload them, then start again.`,
    )
  }
}

/** The user declined to go on with modules that declare nothing about sessions. */
export class UndeclaredModulesRefusedError extends SessionError {
  override name = 'UndeclaredModulesRefusedError'
  constructor(readonly modules: readonly string[]) {
    super('undeclared-modules-refused', `Session not started: these modules may not sync: ${modules.join(', ')}.`)
  }
}

export class IllegalTransitionError extends SessionError {
  override name = 'IllegalTransitionError'
  constructor(readonly from: string, readonly to: string) {
    super('illegal-transition', `Session state cannot go from "${from}" to "${to}".`)
  }
}

/** A call that does not fit the current state, e.g. `start()` during a session. */
export class SessionStateError extends SessionError {
  override name = 'SessionStateError'
}

export type InviteErrorCode =
  | 'invite-damaged'
  | 'invite-version'
  | 'invite-foreign'
  | 'invite-expired'
  | 'invite-used'
  | 'invite-unknown'
  | 'invite-too-long'
  | 'answer-damaged'
  | 'answer-foreign'
  | 'answer-version'

const INVITE_MESSAGES: Record<InviteErrorCode, string> = {
  'invite-damaged': 'This invite link is damaged or incomplete. Ask the host to copy it again.',
  'invite-version': 'This invite was made by a different version of the app. Ask the host for a new invite, or update the page.',
  'invite-foreign': 'This is not a session invite.',
  'invite-expired': 'This invite has expired. Ask the host for a new one.',
  'invite-used': 'This invite has already been used: each invite admits one person. Ask the host for a new one.',
  'invite-unknown': 'This answer code does not belong to any invite from this session.',
  'invite-too-long': 'The invite is too long for a link. Send the invite code to paste instead.',
  'answer-damaged': 'This answer code is damaged or incomplete. Ask the guest to copy it again.',
  'answer-foreign': 'This is not an answer code. Paste the code the guest sent back.',
  'answer-version': 'This answer code was made by a different version of the app. Both sides need the same version: reload the page and invite again.',
}

export class InviteError extends SessionError {
  override name = 'InviteError'
  declare readonly code: InviteErrorCode
  constructor(code: InviteErrorCode, detail?: string, options?: { cause?: unknown }) {
    super(code, detail ? `${INVITE_MESSAGES[code]} (${detail})` : INVITE_MESSAGES[code], options)
  }
}

export type WireErrorCode = 'wire-malformed' | 'wire-oversized' | 'wire-version' | 'wire-unknown-type'

/** A message from the network that failed validation. Never reaches the core. */
export class WireError extends SessionError {
  override name = 'WireError'
  declare readonly code: WireErrorCode
}

export class TransportError extends SessionError {
  override name = 'TransportError'
}

export type PayloadLimitCode = 'payload-too-deep' | 'payload-too-large'

/**
 * Thrown by a provider's `emit` when the change is over a structural limit (nested too
 * deeply, or larger than `limits.maxDeltaBytes` encoded). It was not sent.
 */
export class PayloadLimitError extends SessionError {
  declare readonly code: PayloadLimitCode
  override readonly name = 'PayloadLimitError'
  constructor(code: PayloadLimitCode, readonly providerId: string, detail: string) {
    super(code, `Provider "${providerId}" emitted a change ${detail}; it was not sent to the others. Undo it here, or make it in smaller changes.`)
  }
}

export type JournalErrorCode =
  | 'journal-version'
  | 'journal-corrupt'
  | 'journal-quota'
  | 'journal-off'
  | 'saved-missing'
  | 'saved-duplicate'
  | 'saved-invalid'

/** A journal or a saved session that cannot be used as asked; nothing of it was applied. */
export class JournalError extends SessionError {
  declare readonly code: JournalErrorCode
  override readonly name = 'JournalError'
  constructor(code: JournalErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
  }
}
