import assert from 'node:assert/strict'
import { IncompatibleModulesError, SessionLockedError, SessionSyncController, UndeclaredModulesRefusedError } from 'session-sync'
import { MemoryNetwork } from 'session-sync/testing'

const net = new MemoryNetwork()
const plugins = ['annotations', 'measure'] // what this page has loaded
let answer = false // what the person says when asked about undeclared modules
const host = new SessionSyncController({
  transport: net.transport('ada'),
  clock: net.clockFor('ada'),
  confirmUndeclared: async (modules) => {
    assert.deepEqual(modules, ['legacy-export'])
    return answer // e.g. confirm(`${modules.join(', ')} may not sync. Start anyway?`)
  },
  provision: () => ({ plugins }), // carried in every invite: the guest can load the same set
})

host.declareModule({ id: 'annotations', sessionCompatible: 'provider' }) // syncs through a provider
host.declareModule({ id: 'measure', sessionCompatible: true }) // nothing to sync, safe in a session
const offline = host.declareModule({ id: 'offline-cache', sessionCompatible: false }) // must not be loaded
host.declareModule({ id: 'legacy-export' }) // says nothing: undeclared

assert.deepEqual(host.scanCompatibility(), { incompatible: ['offline-cache'], undeclared: ['legacy-export'] })
await assert.rejects(host.start(), IncompatibleModulesError) // lists every `false` module

offline() // the module was unloaded
await assert.rejects(host.start(), UndeclaredModulesRefusedError) // the person said no
answer = true
await host.start() // said yes: started, with an `undeclared-modules` diagnostic

// The plugin lock: from start or join until back to idle, the set of plugins may not change.
assert.throws(() => host.guardPluginLoad('heatmap'), SessionLockedError)

const guest = new SessionSyncController({ transport: net.transport('bob'), clock: net.clockFor('bob') })
const { url } = await host.createInvite()
const { provision } = await guest.previewInvite(url) // read before joining: plugins may still load
assert.deepEqual(provision, { plugins: ['annotations', 'measure'] })
guest.guardPluginLoad('measure') // not in a session yet: allowed
await guest.join(url)

await host.end()
host.guardPluginLoad('heatmap') // idle again: allowed
