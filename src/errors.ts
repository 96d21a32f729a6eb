/**
 * Every error the library throws or reports carries a stable `code` for programs and a
 * message a person can act on. Each class names itself in a string literal: a minifier
 * renames classes, so `new.target.name` would read 'h' or 'S' in the built package.
 */
import type { SessionInvite } from './types.js'

/** The base of every error the library throws: a stable `code` and a message a person can act on. */
export class SessionError extends Error {
  /** The class's name, as a string: it survives minification. */
  override name = 'SessionError'
  /** Stable, for programs; `message` is for people. */
  readonly code: string
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}

/** Thrown when a plugin would be loaded while a session is active. */
export class SessionLockedError extends SessionError {
  /** The class's name, as a string: it survives minification. */
  override name = 'SessionLockedError'
  /** The plugin that was refused. */
  readonly pluginId: string
  constructor(pluginId: string) {
    super(
      'session-locked',
      `Cannot load plugin "${pluginId}" while a session is active: every peer must run the same set of plugins. Leave or end the session first.`,
    )
    this.pluginId = pluginId
  }
}

/** `registerProvider()` was given an id that is already registered. */
export class DuplicateProviderError extends SessionError {
  /** The class's name, as a string: it survives minification. */
  override name = 'DuplicateProviderError'
  /** @param providerId The id already taken. */
  constructor(readonly providerId: string) {
    super('duplicate-provider', `A session provider with id "${providerId}" is already registered.`)
  }
}

/** Starting or joining was refused because some modules declared `sessionCompatible: false`. */
export class IncompatibleModulesError extends SessionError {
  /** The class's name, as a string: it survives minification. */
  override name = 'IncompatibleModulesError'
  /** @param modules The ids of the modules that declared `sessionCompatible: false`. */
  constructor(readonly modules: readonly string[]) {
    super(
      'incompatible-modules',
      `These modules cannot take part in a session: ${modules.join(', ')}. Unload them, then start again.`,
    )
  }
}

/** The user declined to go on with modules that declare nothing about sessions. */
export class UndeclaredModulesRefusedError extends SessionError {
  /** The class's name, as a string: it survives minification. */
  override name = 'UndeclaredModulesRefusedError'
  /** @param modules The ids of the modules that declared nothing. */
  constructor(readonly modules: readonly string[]) {
    super('undeclared-modules-refused', `Session not started: these modules may not sync: ${modules.join(', ')}.`)
  }
}

/** A lifecycle move outside `TRANSITIONS`: a bug in the library, reported rather than hidden. */
export class IllegalTransitionError extends SessionError {
  /** The class's name, as a string: it survives minification. */
  override name = 'IllegalTransitionError'
  /**
   * @param from The state it was in.
   * @param to The state asked for.
   */
  constructor(readonly from: string, readonly to: string) {
    super('illegal-transition', `Session state cannot go from "${from}" to "${to}".`)
  }
}

/** A call that does not fit the current state, e.g. `start()` during a session. */
export class SessionStateError extends SessionError {
  /** The class's name, as a string: it survives minification. */
  override name = 'SessionStateError'
}

/** Why an invite or answer code was refused; `InviteError`'s message says it in words. */
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

/** A damaged, foreign, expired, used or other-version invite or answer code. */
export class InviteError extends SessionError {
  /** The class's name, as a string: it survives minification. */
  override name = 'InviteError'
  declare readonly code: InviteErrorCode
  constructor(code: InviteErrorCode, detail?: string, options?: { cause?: unknown }) {
    super(code, detail ? `${INVITE_MESSAGES[code]} (${detail})` : INVITE_MESSAGES[code], options)
  }
}

/** Thrown by createInvite when the link would be too long; `invite.code` can be pasted instead. */
export class InviteTooLongError extends InviteError {
  /** The class's name, as a string: it survives minification. */
  override name = 'InviteTooLongError'
  /**
   * @param invite The invite made, still open: its `code` can be pasted.
   * @param maxLength The `maxInviteUrlLength` it exceeds.
   */
  constructor(readonly invite: SessionInvite, readonly maxLength: number) {
    super('invite-too-long', `${invite.url.length} > ${maxLength} characters`)
  }
}

/** Why a message from the network was refused. */
export type WireErrorCode = 'wire-malformed' | 'wire-oversized' | 'wire-version' | 'wire-unknown-type'

/** A message from the network that failed validation. Never reaches the core. */
export class WireError extends SessionError {
  /** The class's name, as a string: it survives minification. */
  override name = 'WireError'
  declare readonly code: WireErrorCode
}

/** A link could not be made or used (e.g. `ice-no-candidates`, `connect-failed`, `link-closed`). */
export class TransportError extends SessionError {
  /** The class's name, as a string: it survives minification. */
  override name = 'TransportError'
}

/** Which structural limit a change broke: nested too deeply, or too large encoded. */
export type PayloadLimitCode = 'payload-too-deep' | 'payload-too-large'

/**
 * Thrown by a provider's `emit` when the change is over a structural limit (nested too
 * deeply, or larger than `limits.maxDeltaBytes` encoded). It was not sent.
 */
export class PayloadLimitError extends SessionError {
  declare readonly code: PayloadLimitCode
  /** Kept by name: a bundler's renaming of classes must not show in errors. */
  override readonly name = 'PayloadLimitError'
  /**
   * @param code Which limit.
   * @param providerId The provider whose change it was.
   * @param detail The measure that broke it, in words.
   */
  constructor(code: PayloadLimitCode, readonly providerId: string, detail: string) {
    super(code, `Provider "${providerId}" emitted a change ${detail}; it was not sent to the others. Undo it here, or make it in smaller changes.`)
  }
}

/** Why the journal or a saved session refused: another layout version, unreadable records, a full disk, the journal off, the store failing a read, a missing, taken or invalid name. */
export type JournalErrorCode =
  | 'journal-version'
  | 'journal-corrupt'
  | 'journal-read-failed'
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
