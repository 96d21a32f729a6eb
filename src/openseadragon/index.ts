/**
 * `session-sync/openseadragon`: OpenSeadragon (4 to 6) viewers in a session.
 *
 *   installSession(new SessionSyncController())
 *   trackViewer(viewer)            // each viewer; views, rotation and pointers are shared
 *   await window.SESSION!.start()  // or join(inviteUrl)
 *
 * Guests follow the host's view until they move their own; `openSeadragonSync().follow(peerId)`
 * follows anyone, and `on('follow-changed')` says when following stops. The host's
 * `bringEveryoneHere()` moves everyone to its view; `peerViews(viewerId)` and
 * `on('peer-views-changed')` say where the others look.
 *
 * @module session-sync/openseadragon
 */
export { OsdSync, openSeadragonSync, trackViewer } from './track.js'
export type { OsdSyncEvents, OsdSyncOptions, PeerView, TrackedViewer } from './track.js'
export type { FollowChange, FollowStopReason } from './follow.js'
export type { CursorDelta, PeerLabel } from './cursors.js'
export type { ViewportDelta } from './viewport.js'
export type { OsdViewer, OsdPoint, OsdRect, OsdTiledImage, ViewState } from './osd.js'
