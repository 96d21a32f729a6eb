/**
 * The controller's events: a typed mitt emitter, the same handlers under OpenSeadragon's
 * EventSource names (`addHandler`, `removeHandler`, `raiseEvent`), so an app's viewer
 * manager and the session are driven alike, and a mirror onto the app's own bus.
 */
import mitt, { type Emitter } from 'mitt'
import type { SessionEventPeer, SessionEvents } from '../types.js'
import type { PeerInfo } from '../wire/messages.js'
import { pickColour } from './colours.js'

export type SessionEventHandler<K extends keyof SessionEvents> = (event: SessionEvents[K]) => void

/** An app's event bus: mitt-like (`emit`) or an OpenSeadragon EventSource (`raiseEvent`). */
export type AppEventBus = { emit(type: string, payload: unknown): void } | { raiseEvent(type: string, payload: unknown): void }

/** The events as the core raises them: a peer is its roster entry; `namedPeer` dresses it for the app. */
export type CoreEvents = Omit<SessionEvents, 'session-peer-joined' | 'session-peer-dropped'> & {
  'session-peer-joined': { peer: PeerInfo }
  'session-peer-dropped': { peer: PeerInfo; reason: string }
}

/** A roster entry under the published contract's names too, with its colour. */
export function namedPeer(peer: PeerInfo): SessionEventPeer {
  return { ...peer, userId: peer.id, userName: peer.name, color: peer.color ?? pickColour(peer.id, []) }
}

/** A core event as the app gets it. */
export function forApp<K extends keyof CoreEvents>(payload: CoreEvents[K]): SessionEvents[K] {
  const peer = (payload as { peer?: PeerInfo }).peer
  return (peer ? { ...payload, peer: namedPeer(peer) } : payload) as SessionEvents[K]
}

export class SessionEventHub {
  readonly emitter: Emitter<SessionEvents> = mitt<SessionEvents>()
  private readonly mirror: ((type: string, payload: unknown) => void) | undefined

  constructor(bus?: AppEventBus) {
    this.mirror = bus && ('emit' in bus ? (type, payload) => bus.emit(type, payload) : (type, payload) => bus.raiseEvent(type, payload))
  }

  on<K extends keyof SessionEvents>(type: K, handler: SessionEventHandler<K>): () => void {
    this.emitter.on(type, handler)
    return () => this.emitter.off(type, handler)
  }

  off<K extends keyof SessionEvents>(type: K, handler: SessionEventHandler<K>): void {
    this.emitter.off(type, handler)
  }

  /** To this page's handlers, then to the app's bus. */
  emit<K extends keyof SessionEvents>(type: K, payload: SessionEvents[K]): void {
    this.emitter.emit(type, payload)
    try {
      this.mirror?.(type, payload)
    } catch {
      // A faulty mirror must not break the session; the primary event has been delivered.
    }
  }
}
