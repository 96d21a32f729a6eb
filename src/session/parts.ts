/** The parts of the core, by name: each reaches the others through `core.parts` (types only here). */
import type { SessionViewer } from '../types.js'
import type { Failover } from './failover.js'
import type { Follower } from './follower.js'
import type { HostSide } from './host.js'
import type { Invites } from './invites.js'
import type { Journaling } from './journaling.js'
import type { Links } from './links.js'
import type { Liveness } from './liveness.js'
import type { LocalChanges } from './local-changes.js'
import type { Mesh } from './mesh.js'
import type { ProviderBridge } from './provider-bridge.js'
import type { Participants } from './participants.js'
import type { Readmission } from './readmission.js'
import type { Restoring } from './restoring.js'
import type { Resync } from './resync.js'
import type { Router } from './router.js'
import type { Sessions } from './sessions.js'
import type { Takeover } from './takeover.js'
import type { Views } from './views.js'

export interface Parts<V extends SessionViewer = SessionViewer> {
  invites: Invites<V>
  bridge: ProviderBridge<V>
  local: LocalChanges<V>
  links: Links<V>
  router: Router<V>
  host: HostSide<V>
  follower: Follower<V>
  mesh: Mesh<V>
  failover: Failover<V>
  takeover: Takeover<V>
  liveness: Liveness<V>
  views: Views<V>
  resync: Resync<V>
  sessions: Sessions<V>
  journaling: Journaling<V>
  restoring: Restoring<V>
  readmission: Readmission<V>
  participants: Participants<V>
}
