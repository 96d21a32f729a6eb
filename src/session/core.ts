/**
 * A controller's `Core` (state.ts) as the controller makes it: services, settings, the
 * provider registry, this user. Its parts come with the engine (engine.ts), when it loads.
 */
import { ProviderRegistry } from '../providers/registry.js'
import { createRelayClient } from '../relay/index.js'
import { systemClock } from '../runtime/clock.js'
import { systemRandom } from '../runtime/random.js'
import type { Transport } from '../transport/transport.js'
import type { PeerInfo } from '../wire/messages.js'
import type { SessionViewer } from '../types.js'
import { LruMap, LruSet } from './bounded.js'
import type { CoreEvents } from './events.js'
import { Lifecycle } from './lifecycle.js'
import { resolveSettings, type SessionSyncOptions } from './options.js'
import type { Parts } from './parts.js'
import type { Core } from './state.js'

/** What the core asks of its controller. */
export interface CoreHost {
  /** Emits an event to the page's handlers and the app's bus. */
  emit<K extends keyof CoreEvents>(type: K, payload: CoreEvents[K]): void
  isActive(): boolean
  getSelf(): PeerInfo
}

export function makeCore<V extends SessionViewer>(options: SessionSyncOptions & { transport: Transport }, host: CoreHost): Core<V> {
  const random = options.random ?? systemRandom
  const { limits, heartbeat, timers } = resolveSettings(options)
  const parts = {} as Parts<V>
  return {
    transport: options.transport,
    clock: options.clock ?? systemClock,
    random,
    options,
    limits,
    heartbeat,
    timers,
    registry: new ProviderRegistry(),
    relay: options.relay ?? (options.signalingEndpoint ? createRelayClient({ endpoint: options.signalingEndpoint }) : undefined),
    viewers: new Map(),
    lifecycle: new Lifecycle((state, previous) => host.emit('session-state-changed', { state, previous })),
    formerNames: new LruMap(256),
    usedInvites: new LruSet(1024),
    received: new WeakMap(),
    self: { id: options.user?.id ?? random.id(timers.idSize), name: options.user?.name ?? 'Guest', role: 'guest' },
    session: null,
    ended: null,
    parts,
    // Only the engine's parts emit through the core, so `participants` is there by then.
    emit: (type, payload) => {
      parts.participants.heard(type, payload)
      host.emit(type, payload)
    },
    diagnostic: (code, message, extra = {}) => host.emit('session-diagnostic', { code, message, ...stripUndefined(extra) }),
    setRole: (role) => parts.sessions.setRole(role),
    finish: (reason) => parts.sessions.finish(reason),
    isActive: host.isActive,
    getSelf: host.getSelf,
  }
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T
}
