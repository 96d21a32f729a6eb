/**
 * The relay under a socket flood: honest clients on 127.0.0.1 keep asking while one other
 * address (127.0.0.2; all of 127/8 is loopback) holds thousands of half-open and silent
 * sockets (past the server's global connection cap of 2,024), reopening each one the server
 * closes a tenth of a second later. Measured three ways in one run: quiet,
 * flooded with the socket limits, flooded without them (as the relay was before).
 */
import { execFileSync } from 'node:child_process'
import { connect } from 'node:net'
import { fileURLToPath } from 'node:url'

const repo = fileURLToPath(new URL('..', import.meta.url))
const ATTACKER = '127.0.0.2'

export const RELAY_CONFIG = {
  smoke: { sockets: 200, clients: 5, seconds: 1 },
  full: { sockets: 2_100, clients: 20, seconds: 5 },
}

/** Honest clients in a loop for `seconds`: requests served per second and the p99 latency. */
async function honestLoad(url, clients, seconds) {
  const latencies = []
  const until = performance.now() + seconds * 1000
  let failed = 0
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < until) {
        const t0 = performance.now()
        try {
          const response = await fetch(`${url}/v1/health`, { signal: AbortSignal.timeout(10_000) })
          await response.arrayBuffer()
          if (response.ok) latencies.push(performance.now() - t0)
          else failed++
        } catch {
          failed++
        }
      }
    }),
  )
  latencies.sort((a, b) => a - b)
  return { perSecond: latencies.length / seconds, p99: latencies[Math.floor(latencies.length * 0.99)] ?? NaN, failed }
}

/** Holds `count` sockets from the attacker's address, half of them half-open, reopening each one closed; returns a stop. */
function flood(port, count) {
  let stopped = false
  const open = new Set()
  const hold = (partial) => {
    if (stopped) return
    const socket = connect({ port, host: '127.0.0.1', localAddress: ATTACKER })
    open.add(socket)
    socket.on('error', () => {})
    socket.once('connect', () => partial && socket.write('POST /v1/invites HTTP/1.1\r\nHost: relay\r\n'))
    socket.once('close', () => {
      open.delete(socket)
      setTimeout(() => hold(partial), 100)
    })
  }
  for (let i = 0; i < count; i++) hold(i % 2 === 0)
  return () => {
    stopped = true
    for (const socket of open) socket.destroy()
  }
}

async function measure(createRelayServer, sockets, config, floodCount) {
  const relay = createRelayServer({ log: () => {}, rateLimit: false, sockets })
  const { port, url } = await relay.listen(0, '127.0.0.1')
  const stop = floodCount ? flood(port, floodCount) : () => {}
  // Let the flood build up before the honest clients start.
  if (floodCount) await new Promise((resolve) => setTimeout(resolve, 500))
  const result = await honestLoad(url, config.clients, config.seconds)
  stop()
  await relay.close()
  return result
}

export async function runRelayFlood({ smoke, log }) {
  const config = smoke ? RELAY_CONFIG.smoke : RELAY_CONFIG.full
  execFileSync(process.execPath, [fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url)), '-p', 'relay/tsconfig.json'], { cwd: repo, stdio: 'inherit' })
  const { createRelayServer } = await import(new URL('../relay/dist/server.js', import.meta.url).href)
  log(`  relay: quiet, ${config.clients} honest clients for ${config.seconds} s`)
  const quiet = await measure(createRelayServer, {}, config, 0)
  log(`  relay: ${config.sockets} sockets from ${ATTACKER}, per-address cap on`)
  const capped = await measure(createRelayServer, {}, config, config.sockets)
  log(`  relay: the same as before the limits (no per-address cap, Node's default header and request timeouts)`)
  const uncapped = await measure(createRelayServer, { maxConnectionsPerAddress: Infinity, headersTimeoutMs: 60_000, requestTimeoutMs: 300_000 }, config, config.sockets)
  return { config, quiet, capped, uncapped }
}
