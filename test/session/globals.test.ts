/// <reference path="../../types/global.d.ts" />
import { SessionStateError, SessionSyncController, installSession } from '../../src/index.js'
import { MemoryNetwork } from '../../src/testing.js'
import { describe, expect, it } from 'vitest'

describe('installSession', () => {
  it('installs one controller as SESSION and says goodbye on pagehide', async () => {
    const listeners = new Map<string, () => void>()
    const target: { SESSION?: SessionSyncController; addEventListener: (t: string, l: () => void) => void } = {
      addEventListener: (type, listener) => listeners.set(type, listener),
    }
    const net = new MemoryNetwork()
    const controller = new SessionSyncController({ transport: net.transport('a'), clock: net.clock })
    expect(installSession(controller, target)).toBe(controller)
    expect(target.SESSION).toBe(controller)
    const other = new SessionSyncController({ transport: net.transport('b'), clock: net.clock })
    expect(() => installSession(other, target)).toThrow(SessionStateError)
    await controller.start()
    listeners.get('pagehide')!()
    expect(controller.getState()).toBe('idle')
  })

  it('types window.SESSION for apps', () => {
    const w = {} as Window
    const state: string | undefined = w.SESSION?.getState()
    expect(state).toBeUndefined()
  })
})
