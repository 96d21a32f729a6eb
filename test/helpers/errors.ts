/** Every error class the package exports, made with arguments its constructor takes, by its name. */
export function errorInstances(lib: typeof import('../../src/index.js')): Array<[string, Error]> {
  return [
    ['SessionError', new lib.SessionError('x', 'x')],
    ['SessionLockedError', new lib.SessionLockedError('plugin')],
    ['DuplicateProviderError', new lib.DuplicateProviderError('p')],
    ['IncompatibleModulesError', new lib.IncompatibleModulesError(['m'])],
    ['UndeclaredModulesRefusedError', new lib.UndeclaredModulesRefusedError(['m'])],
    ['IllegalTransitionError', new lib.IllegalTransitionError('idle', 'leaving')],
    ['SessionStateError', new lib.SessionStateError('x', 'x')],
    ['InviteError', new lib.InviteError('invite-damaged')],
    ['InviteTooLongError', new lib.InviteTooLongError({ url: 'x'.repeat(10) } as never, 5)],
    ['WireError', new lib.WireError('wire-malformed', 'x')],
    ['TransportError', new lib.TransportError('x', 'x')],
    ['RelayError', new lib.RelayError('relay-unavailable')],
    ['PayloadLimitError', new lib.PayloadLimitError('payload-too-deep', 'p', 'nested too deeply')],
    ['JournalError', new lib.JournalError('saved-missing', 'x')],
  ]
}

/** The names of the Error subclasses a module exports. */
export function exportedErrorClasses(lib: object): string[] {
  return Object.entries(lib)
    .filter(([, value]) => typeof value === 'function' && value.prototype instanceof Error)
    .map(([name]) => name)
    .sort()
}
