/**
 * One OpenSeadragon sync per session controller: the viewers it tracks, its viewport and
 * cursor providers, and whom it follows.
 */
import mitt from 'mitt'
import type { SessionSyncController } from '../index.js'
import { CursorSync, type PeerLabel } from './cursors.js'
import { type FollowChange, type FollowStopReason, onLocalNavigation } from './follow.js'
import type { OsdViewer, ViewState } from './osd.js'
import { nextSummon, SummonGate } from './summon.js'
import { ViewportSync } from './viewport.js'

/** A viewer `trackViewer` took in: it has a `uniqueId`, the same on every page. */
export type TrackedViewer = OsdViewer & {
  /** Matches this viewer across pages. */
  uniqueId: string
}

/** How an OpenSeadragon sync starts. */
export interface OsdSyncOptions {
  /** Follow whoever hosts from the start (until the person moves a view). Default true. */
  followHost?: boolean
}

/** What an OpenSeadragon sync reports (`on`). */
export type OsdSyncEvents = {
  /** Whom this page follows changed, or following stopped (the person moved a view, the peer left). */
  'follow-changed': FollowChange
  /**
   * The host brought everyone to its view (`bringEveryoneHere`): this page shows it now.
   * Only the host's summons are obeyed; a guest's are ordinary views.
   */
  summoned: {
    /** The host's user id. */
    by: string
    /** Whom this page stopped following for it, or null (it followed nobody, or the host). */
    unfollowed: string | null
  }
  /** The others' views of a viewer changed: one moved, stopped sharing it, or left (`peerViews`). */
  'peer-views-changed': {
    /** The viewer. */
    viewerId: string
  }
}

/** Where another peer looks in one viewer, for drawing their outline. */
export interface PeerView {
  /** The peer's user id. */
  peerId: string
  /** The peer's name. */
  name: string
  /** The peer's colour, `#rrggbb`. */
  color: string
  /** What they see of it (unrotated rectangle in viewport coordinates, and rotation). */
  view: ViewState
}

type Target = { host: true } | { peerId: string } | null

/** Fallback colour of a peer the roster does not list (any more). */
const UNKNOWN_COLOUR = '#6b7280'

/** OpenSeadragon viewers in one controller's sessions: the viewers it tracks, their viewport and cursor providers, and whom this page follows. `openSeadragonSync(session)` gives the one per controller. */
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
  private lastSummon = 0
  private readonly summons = new SummonGate()

  /**
   * @param session The controller whose session the viewers take part in.
   * @param options Whether to follow the host from the start.
   */
  constructor(readonly session: SessionSyncController<any>, options: OsdSyncOptions = {}) {
    this.target = options.followHost === false ? null : { host: true }
    this.viewport = new ViewportSync(this.viewers, {
      followed: () => this.followedId(),
      hostId: () => this.hostId(),
      viewsChanged: (viewerId) => this.events.emit('peer-views-changed', { viewerId }),
      summoned: (from, n, viewerId, view) => this.summoned(from, n, viewerId, view),
    })
    this.cursors = new CursorSync(this.viewers, (peerId) => this.labelOf(peerId))
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

  /** Stops following; `follow-changed` says so, with `reason`. */
  unfollow(reason: FollowStopReason = 'requested'): void {
    this.setTarget(null, reason)
  }

  /** The user id whose view is shown here now, or null (also when this page is the one followed). */
  followedId(): string | null {
    const target = this.target
    const id = !target ? undefined : 'host' in target ? this.session.getPeers().find((p) => p.rank === 0)?.id : target.peerId
    return id && id !== this.session.getSelf().id ? id : null
  }

  /** Whether this page follows whoever hosts. */
  get followingHost(): boolean {
    return !!this.target && 'host' in this.target
  }

  /** Listens to one event; the returned function stops listening. */
  on<K extends keyof OsdSyncEvents>(type: K, handler: (event: OsdSyncEvents[K]) => void): () => void {
    this.events.on(type, handler)
    return () => this.events.off(type, handler)
  }

  /**
   * Host: moves every peer's viewers to what this page's viewers show now. Whoever follows
   * someone else stops (their `follow-changed` says `summoned`); each page raises `summoned`.
   * Returns false, sending nothing, when this page does not host (others ignore a guest's summon anyway).
   */
  bringEveryoneHere(): boolean {
    if (this.session.getRole() !== 'host') return false
    if (this.followedId() !== null) this.unfollow('requested')
    this.lastSummon = nextSummon(this.lastSummon, Date.now())
    this.viewport.summon(this.lastSummon)
    return true
  }

  /** Where each other peer looks in this viewer now (their latest view of it), with their name and colour. */
  peerViews(viewerId: string): PeerView[] {
    return this.viewport.viewsOf(viewerId).map(([peerId, view]) => ({ peerId, ...this.labelOf(peerId), view }))
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
    if (this.followedId() !== null) this.viewport.withdraw()
    this.events.emit('follow-changed', { peerId: this.followedId(), host: this.followingHost, reason })
  }

  /** The person moved a view: whatever they followed, they now look for themselves. */
  private localInput(): void {
    if (this.followedId() !== null) this.unfollow('local-input')
  }

  private hostId(): string | undefined {
    return this.session.getPeers().find((p) => p.rank === 0)?.id
  }

  private labelOf(peerId: string): PeerLabel {
    const peer = this.session.getPeers().find((p) => p.id === peerId)
    return { name: peer?.name ?? 'peer', color: peer?.color ?? UNKNOWN_COLOUR }
  }

  /** A view marked as a summon: obeyed from the host only, whatever the delta says of itself. */
  private summoned(from: string, n: number, viewerId: string, view: ViewState): void {
    const verdict = this.summons.check(from, n, this.hostId())
    if (verdict === 'refused') return
    if (verdict === 'new') {
      const unfollowed = this.followedId()
      if (unfollowed !== null && unfollowed !== from) this.unfollow('summoned')
      this.events.emit('summoned', { by: from, unfollowed: unfollowed !== from ? unfollowed : null })
    }
    // Following the host, we show it already.
    if (this.followedId() !== from) this.viewport.showSummoned(viewerId, view)
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
