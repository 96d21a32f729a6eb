import OpenSeadragon from 'openseadragon'
import { SessionSyncController, installSession } from 'session-sync'
import { openSeadragonSync, trackViewer } from 'session-sync/openseadragon'

const viewer = OpenSeadragon({ element: document.getElementById('slide')!, tileSources: '/slides/kidney-04.dzi' })

// The three lines: a controller for the page (also window.SESSION), the viewer in it, a session.
const session = installSession(new SessionSyncController())
trackViewer(viewer) // pan, zoom, rotation and pointers are shared from now on
await session.start() // or, on the guest's page: await session.join(location.href)

// Guests follow the host's view until they move their own; anyone can follow anyone.
const sync = openSeadragonSync(session)
sync.on('follow-changed', ({ peerId, reason }) => console.log(peerId ? `following ${peerId}` : `stopped (${reason})`))
const someone = session.getPeers().find((peer) => !peer.self)
if (someone) sync.follow(someone.id)
