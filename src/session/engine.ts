/**
 * The session engine: every part that runs a session, and through them the wire schemas and
 * validation, the journal's hooks and the caches. The controller's façade loads this module
 * with the first call that needs a session (engine-loader.ts), so a page that is in no
 * session carries none of it.
 */
import type { SessionViewer } from '../types.js'
import { Failover } from './failover.js'
import { Follower } from './follower.js'
import { HostSide } from './host.js'
import { Invites } from './invites.js'
import { Journaling } from './journaling.js'
import { Restoring } from './restoring.js'
import { Links } from './links.js'
import { Liveness } from './liveness.js'
import { LocalChanges } from './local-changes.js'
import { Mesh } from './mesh.js'
import type { Parts } from './parts.js'
import { Participants } from './participants.js'
import { ProviderBridge } from './provider-bridge.js'
import { Readmission } from './readmission.js'
import { Resync } from './resync.js'
import { Router } from './router.js'
import { Sessions } from './sessions.js'
import type { Core } from './state.js'
import { Takeover } from './takeover.js'
import { Views } from './views.js'

/** Makes every part of `core`, once per controller; from then on `core.parts` is whole. */
export function installEngine<V extends SessionViewer>(core: Core<V>): void {
  Object.assign(core.parts, {
    links: new Links(core),
    bridge: new ProviderBridge(core),
    local: new LocalChanges(core),
    router: new Router(core),
    host: new HostSide(core),
    follower: new Follower(core),
    mesh: new Mesh(core),
    failover: new Failover(core),
    takeover: new Takeover(core),
    liveness: new Liveness(core),
    views: new Views(core),
    invites: new Invites(core),
    resync: new Resync(core),
    journaling: new Journaling(core),
    restoring: new Restoring(core),
    readmission: new Readmission(core),
    participants: new Participants(core),
    sessions: new Sessions(core),
  } satisfies Parts<V>)
}
