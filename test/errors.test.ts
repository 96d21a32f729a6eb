import { describe, expect, it } from 'vitest'
import * as library from '../src/index.js'
import { InviteTooLongError } from '../src/index.js'

/** Every error class the package exports, built with arguments its constructor accepts. */
export function errorInstances(lib: typeof library): Array<[string, Error]> {
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
  ]
}

describe('error names', () => {
  it('every exported error class names itself (a minifier renames classes; e2e/package.spec.ts checks the built bundle)', () => {
    const instances = errorInstances(library)
    const exported = Object.entries(library).filter(([, value]) => typeof value === 'function' && value.prototype instanceof Error).map(([name]) => name)
    expect(instances.map(([name]) => name).sort()).toEqual(exported.sort())
    for (const [name, error] of instances) {
      expect(error.name).toBe(name)
      expect(error).toBeInstanceOf(library.SessionError)
    }
    expect(String(new InviteTooLongError({ url: 'xx' } as never, 1))).toMatch(/^InviteTooLongError: /)
  })
})
