import { PROTOCOL_VERSION } from '../src/index.js'

document.querySelector('#app')!.textContent = `session-sync (protocol ${PROTOCOL_VERSION})`
