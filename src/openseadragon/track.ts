/**
 * One OpenSeadragon sync per session controller: the viewers it tracks, its viewport and
 * cursor providers, and whom it follows.
 */
import mitt from 'mitt'
import type { SessionSyncController } from '../index.js'
import { CursorSync } from './cursors.js'
import { type FollowChange, type FollowStopReason, onLocalNavigation } from './follow.js'
import type { OsdViewer } from './osd.js'
import { ViewportSync } from './viewport.js'

export type TrackedViewer = OsdViewer & { uniqueId: string }

export interface OsdSyncOptions {
  /** Follow whoever hosts from the start (until the person moves a view). Default true. */
  followHost?: boolean
}

export type OsdSyncEvents = {
  'follow-changed': FollowChange
}

type Target = { host: true } | { peerId: string } | null

/** Fallback colour of a peer the roster does not list (any more). */
const UNKNOWN_COLOUR = '#6b7280'

export class OsdSync {
  private readonly viewers = new Map<string, TrackedViewer>()
  private readonly untrackers = new Map<string, () => void>()
  private readonly events = mitt<OsdSyncEvents>()
  private readonly viewport: ViewportSync
  private readonly cursors: CursorSync
  private readonly unregister: Array<() => void>
  private target: Target
  /** Viewers tracked without an id of their own get these, in tracking order. */
  private unnamed = 0

  constructor(readonly session: SessionSyncController<any>, options: OsdSyncOptions = {}) {
    this.target = options.followHost === false ? null : { host: true }
    const hostId = () => session.getPeers().find((p) => p.rank === 0)?.id
    this.viewport = new ViewportSync(this.viewers, () => this.followedId(), hostId)
    this.cursors = new CursorSync(this.viewers, (peerId) => {
      const peer = session.getPeers().find((p) => p.id === peerId)
      return { name: peer?.name ?? 'peer', color: peer?.color ?? UNKNOWN_COLOUR }
    })
    this.unregister = [
      session.registerProvider(this.viewport.provider),
      session.registerProvider(this.cursors.provider),
      session.on('session-peer-dropped', ({ peer }) => this.peerLeft(peer.id)),
      session.on('session-ended', () => this.cursors.clear()),
    ]
  }

  /**
   * Takes part in the session with `viewer`: its view and pointer are shared, the others'
   * shown. A viewer without a `uniqueId` gets one: its element's id, or else `osd-1`, `osd-2`…
   * in the order viewers are tracked (the same on every page that builds the same viewers).
   * Destroying the viewer untracks it.
   */
  track(viewer: OsdViewer): TrackedViewer {
    const tracked = viewer as TrackedViewer
    // Not OpenSeadragon's own `id`: without one given, it is made up per page.
    tracked.uniqueId ||= viewer.element?.id || `osd-${++this.unnamed}`
    const id = tracked.uniqueId
    if (this.viewers.get(id) === tracked) return tracked
    this.untrack(id)
    this.viewers.set(id, tracked)
    this.session.addViewer(tracked)
    const stops = [
      this.viewport.attach(tracked),
      this.cursors.attach(tracked),
      onLocalNavigation(tracked, () => this.localInput()),
    ]
    const destroyed = () => this.untrack(id)
    tracked.addHandler('destroy', destroyed)
    this.untrackers.set(id, () => {
      tracked.removeHandler('destroy', destroyed)
      for (const stop of stops) stop()
    })
    return tracked
  }

  /** Stops sharing the viewer with this id (done for you when it is destroyed). */
  untrack(uniqueId: string): void {
    const stop = this.untrackers.get(uniqueId)
    if (!stop) return
    this.untrackers.delete(uniqueId)
    this.viewers.delete(uniqueId)
    this.session.removeViewer(uniqueId)
    stop()
  }

  /** Show what this peer sees, now and as it changes, until the person moves a view or the peer leaves. */
  follow(peerId: string): void {
    this.setTarget({ peerId }, 'requested')
  }

  /** Show what the host sees (whoever that is after a failover). */
  followHost(): void {
    this.setTarget({ host: true }, 'requested')
  }

  unfollow(reason: FollowStopReason = 'requested'): void {
    this.setTarget(null, reason)
  }

  /** The user id whose view is shown here now, or null (also when this page is the one followed). */
  followedId(): string | null {
    const target = this.target
    const id = !target ? undefined : 'host' in target ? this.session.getPeers().find((p) => p.rank === 0)?.id : target.peerId
    return id && id !== this.session.getSelf().id ? id : null
  }

  get followingHost(): boolean {
    return !!this.target && 'host' in this.target
  }

  on<K extends keyof OsdSyncEvents>(type: K, handler: (event: OsdSyncEvents[K]) => void): () => void {
    this.events.on(type, handler)
    return () => this.events.off(type, handler)
  }

  /** Remote cursors shown now: viewer id → peer ids. */
  visibleCursors(): Record<string, string[]> {
    return this.cursors.visible()
  }

  /** Untracks every viewer and leaves the session's providers and events. */
  dispose(): void {
    for (const id of [...this.untrackers.keys()]) this.untrack(id)
    for (const off of this.unregister) off()
    syncs.delete(this.session)
  }

  private setTarget(target: Target, reason: FollowStopReason): void {
    const before = JSON.stringify(this.target)
    this.target = target
    if (JSON.stringify(target) === before) return
    this.viewport.showFollowed()
    this.events.emit('follow-changed', { peerId: this.followedId(), host: this.followingHost, reason })
  }

  /** The person moved a view: whatever they followed, they now look for themselves. */
  private localInput(): void {
    if (this.followedId() !== null) this.unfollow('local-input')
  }

  private peerLeft(peerId: string): void {
    this.cursors.removePeer(peerId)
    this.viewport.forgetPeer(peerId)
    if (this.target && 'peerId' in this.target && this.target.peerId === peerId) this.unfollow('peer-left')
  }
}

const syncs = new WeakMap<SessionSyncController<any>, OsdSync>()

/** The page's OpenSeadragon sync for `session` (by default `window.SESSION`), made on first use. */
export function openSeadragonSync(session?: SessionSyncController<any>, options?: OsdSyncOptions): OsdSync {
  const controller = session ?? (globalThis as { SESSION?: SessionSyncController<any> }).SESSION
  if (!controller) throw new Error('No session controller: pass one, or install one first (installSession(new SessionSyncController())).')
  let sync = syncs.get(controller)
  if (!sync) syncs.set(controller, (sync = new OsdSync(controller, options)))
  return sync
}

/** Shares `viewer` in the page's session (see OsdSync.track). */
export function trackViewer(viewer: OsdViewer, session?: SessionSyncController<any>): TrackedViewer {
  return openSeadragonSync(session).track(viewer)
}
