/**
 * `npm run bench -- peers`: session-sync beside a raw RTCPeerConnection, PeerJS and
 * y-webrtc, through the same operations in one run (bench/pages/peers.ts says how each is
 * timed). Their signalling servers (PeerJS's `peer`, y-webrtc's bin/server.js) run here on
 * loopback for the length of the run; no STUN/TURN anywhere.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const LIBS = ['session', 'raw', 'peerjs', 'ywebrtc']
export const LIB_NAMES = { session: 'session-sync', raw: 'raw RTCPeerConnection', peerjs: 'PeerJS', ywebrtc: 'y-webrtc' }
const KB = 1000

export const PEERS_CONFIG = {
  smoke: { connect: 1, oneway: 20, block: 10, burst: { count: 500, reps: 1, batch: 500 }, late: [{ bytes: 50 * KB, samples: 1 }], lateTimeoutMs: 10_000 },
  full: { connect: 5, oneway: 400, block: 50, burst: { count: 10_000, reps: 3, batch: 1_000 }, late: [{ bytes: 200 * KB, samples: 5 }, { bytes: 1_070 * KB, samples: 5 }], lateTimeoutMs: 15_000 },
}

/** y-webrtc's own signalling server, as its README starts it (PORT from the environment); the namespace has loopback only. */
async function startYWebrtcServer(port, log) {
  const script = fileURLToPath(new URL('../node_modules/y-webrtc/bin/server.js', import.meta.url))
  const child = spawn(process.execPath, [script], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] })
  child.stderr.on('data', (chunk) => log(`  y-webrtc server: ${String(chunk).trim()}`))
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('y-webrtc signalling server did not start')), 10_000)
    child.stdout.on('data', (chunk) => {
      if (String(chunk).includes('running')) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('exit', (code) => reject(new Error(`y-webrtc signalling server exited with ${code}`)))
  })
  return { stop: () => child.kill() }
}

async function startPeerServer(port) {
  const { PeerServer } = await import('peer')
  const server = await new Promise((resolve) => PeerServer({ host: '127.0.0.1', port, path: '/' }, resolve))
  return { stop: () => server.close() }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted.length ? sorted[Math.ceil(sorted.length / 2) - 1] : NaN
}
const p95 = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted.length ? sorted[Math.ceil(sorted.length * 0.95) - 1] : NaN
}

/** Runs every operation for every library; returns the table's rows: { op, unit, better, values: { lib: number | string } , p95 }. */
export async function runPeers({ browser, baseUrl, smoke, log }) {
  const config = smoke ? PEERS_CONFIG.smoke : PEERS_CONFIG.full
  const yPort = 4444
  const peerPort = 9000
  const servers = [await startYWebrtcServer(yPort, log), await startPeerServer(peerPort)]
  log(`  signalling servers: y-webrtc ws://127.0.0.1:${yPort}, PeerJS http://127.0.0.1:${peerPort}`)
  // a and b: the pair under test; c: the late joiner, its own browser context (its own renderer), as a
  // newcomer's own machine: in b's, a session-sync joiner shared a renderer with b's mesh link to it.
  const contexts = [await browser.newContext(), await browser.newContext(), await browser.newContext()]
  try {
    const [a, b, c] = await Promise.all(
      contexts.map(async (context) => {
        const page = await context.newPage()
        page.on('pageerror', (error) => log(`  page error: ${error.message}`))
        page.on('console', (message) => message.type() === 'error' && log(`  console error: ${message.text()}`))
        await page.goto(`${baseUrl}peers.html`)
        await page.waitForFunction(() => 'peers' in window, null, { timeout: 30_000 })
        return page
      }),
    )
    const rows = []

    // ---------------------------------------------------------------- connect
    const connect = Object.fromEntries(LIBS.map((lib) => [lib, []]))
    for (let i = 0; i < config.connect; i++) {
      if (i > 0) await Promise.all([a.evaluate(() => window.peers.close()), b.evaluate(() => window.peers.close())])
      {
        const { url, t0 } = await a.evaluate(() => window.peers.session.host())
        const code = await b.evaluate((u) => window.peers.session.join(u), url)
        const [tA, tB] = await Promise.all([a.evaluate((c) => window.peers.session.accept(c), code), b.evaluate(() => window.peers.session.guestConnected())])
        connect.session.push(Math.max(tA, tB) - t0)
      }
      {
        const { sdp, t0 } = await a.evaluate(() => window.peers.raw.offer())
        const answer = await b.evaluate((s) => window.peers.raw.answer(s), sdp)
        const [tA, tB] = await Promise.all([a.evaluate((s) => window.peers.raw.complete(s), answer), b.evaluate(() => window.peers.raw.opened())])
        connect.raw.push(Math.max(tA, tB) - t0)
      }
      {
        const [idA, idB] = [`bench-a-${i}`, `bench-b-${i}`]
        await Promise.all([a.evaluate(([id, p]) => window.peers.peerjs.open(id, p), [idA, peerPort]), b.evaluate(([id, p]) => window.peers.peerjs.open(id, p), [idB, peerPort])])
        const { t0, t1 } = await b.evaluate((id) => window.peers.peerjs.connect(id), idA)
        const tA = await a.evaluate(() => window.peers.peerjs.accepted())
        connect.peerjs.push(Math.max(t1, tA) - t0)
      }
      {
        const room = `bench-room-${i}`
        await a.evaluate(([r, p]) => window.peers.ywebrtc.open(r, p, 'a'), [room, yPort])
        const { t0 } = await b.evaluate(([r, p]) => window.peers.ywebrtc.open(r, p, 'b'), [room, yPort])
        const [tA, tB] = await Promise.all([a.evaluate(() => window.peers.ywebrtc.connected()), b.evaluate(() => window.peers.ywebrtc.connected())])
        connect.ywebrtc.push(Math.max(tA, tB) - t0)
      }
    }
    rows.push({ op: 'connect (first call → both ends open)', unit: 'ms', better: 'lower', values: mapLibs(connect, median), p95: mapLibs(connect, p95), n: config.connect })
    log(`  connect: ${JSON.stringify(mapLibs(connect, median))}`)

    // ---------------------------------------------------------------- one-way small update, interleaved in blocks
    const bytes = 100
    for (const lib of LIBS) await b.evaluate((l) => window.peers.listen(l), lib)
    const warmup = Math.min(20, config.oneway)
    for (let from = 0; from < config.oneway + warmup; from += config.block) {
      for (const lib of LIBS) await a.evaluate(([l, f, n, by]) => window.peers.oneWay(l, f, n, by), [lib, from, config.block, bytes])
    }
    const oneway = {}
    for (const lib of LIBS) {
      const sent = await a.evaluate((l) => window.peers.sentTimes(l), lib)
      const got = await b.evaluate((l) => window.peers.receivedTimes(l), lib)
      oneway[lib] = sent.map((t, n) => got[n] - t).slice(warmup).filter((ms) => Number.isFinite(ms))
    }
    rows.push({ op: `one-way small update (${bytes} B)`, unit: 'ms', better: 'lower', values: mapLibs(oneway, median), p95: mapLibs(oneway, p95), n: config.oneway })
    log(`  one-way: ${JSON.stringify(mapLibs(oneway, median))}`)

    // ---------------------------------------------------------------- burst
    const { count, reps, batch } = config.burst
    const burst = Object.fromEntries(LIBS.map((lib) => [lib, []]))
    const burstNotes = {}
    for (let rep = 0; rep < reps; rep++) {
      for (const lib of rotate(LIBS, rep)) {
        const arrival = b.evaluate(([l, c]) => window.peers.awaitBurst(l, c, 60_000), [lib, count])
        const t0 = await a.evaluate(([l, c, n]) => window.peers.burst(l, c, n), [lib, count, batch])
        const { t, got } = await arrival
        burst[lib].push(count / ((t - t0) / 1000))
        if (got !== count) burstNotes[lib] = `${got} of ${count} updates observed (the rest merged)`
        await a.waitForTimeout(200) // let the channel drain between arms
      }
    }
    rows.push({ op: `burst of ${count.toLocaleString('en-US')} small updates`, unit: '/s', better: 'higher', values: mapLibs(burst, median), n: reps, notes: burstNotes })
    log(`  burst: ${JSON.stringify(mapLibs(burst, median))}`)

    // ---------------------------------------------------------------- late join, from page c
    await c.evaluate(([id, p]) => window.peers.peerjs.open(id, p), ['bench-late', peerPort])
    for (const { bytes: size, samples } of config.late) {
      const late = Object.fromEntries(LIBS.map((lib) => [lib, []]))
      const failures = {}
      await a.evaluate((n) => window.peers.session.setState(n), size)
      await a.evaluate((n) => window.peers.peerjs.setState(n), size)
      for (let i = 0; i < samples; i++) {
        {
          const url = await a.evaluate(() => window.peers.session.invite())
          const { code } = await c.evaluate((u) => window.peers.session.lateJoin(u), url)
          await a.evaluate((answer) => window.peers.session.accept(answer), code)
          const { t, length } = await c.evaluate(() => window.peers.late())
          const t0 = await a.evaluate(() => window.peers.session.lateJoinedAt())
          check(length, size, 'session-sync')
          late.session.push(t - t0)
        }
        {
          const { sdp } = await a.evaluate(() => window.peers.raw.offer())
          const answer = await c.evaluate((s) => window.peers.raw.answer(s, 'late'), sdp)
          await Promise.all([a.evaluate((s) => window.peers.raw.complete(s, 'late'), answer), c.evaluate(() => window.peers.raw.opened())])
          const [t0, { t, length }] = await Promise.all([a.evaluate((n) => window.peers.raw.sendState(n), size), c.evaluate(() => window.peers.raw.receivedState())])
          check(length, size, 'raw')
          late.raw.push(t - t0)
        }
        {
          const { t, length } = await c.evaluate((id) => window.peers.peerjs.lateJoin(id), `bench-a-${config.connect - 1}`)
          const t0 = await a.evaluate(() => window.peers.peerjs.lateOpenedAt())
          check(length, size, 'PeerJS')
          late.peerjs.push(t - t0)
        }
        {
          const room = `bench-late-${size}-${i}`
          await a.evaluate(([r, p, n]) => window.peers.ywebrtc.offerState(r, p, n), [room, yPort, size])
          const result = await c.evaluate(([r, p, n, ms]) => window.peers.ywebrtc.lateJoin(r, p, n, ms), [room, yPort, size, config.lateTimeoutMs])
          if (result.error) failures.ywebrtc = `fails: ${result.error}`
          else {
            check(result.length, size, 'y-webrtc')
            late.ywebrtc.push(result.t - result.opened)
          }
        }
      }
      const values = mapLibs(late, median)
      for (const [lib, why] of Object.entries(failures)) values[lib] = why
      rows.push({ op: `late join, ${Math.round(size / KB)} kB of state (link open → state applied)`, unit: 'ms', better: 'lower', values, p95: mapLibs(late, p95), n: samples })
      log(`  late join ${size}: ${JSON.stringify(values)}`)
    }
    await Promise.all([a, b, c].map((page) => page.evaluate(() => window.peers.close())))
    return { rows, config }
  } finally {
    await Promise.allSettled(contexts.map((context) => context.close()))
    for (const server of servers) server.stop()
  }
}

function check(length, size, who) {
  if (length !== size) throw new Error(`${who} delivered ${length} of ${size} characters`)
}

function mapLibs(byLib, f) {
  return Object.fromEntries(Object.entries(byLib).map(([lib, values]) => [lib, values.length ? f(values) : NaN]))
}

function rotate(list, by) {
  const k = by % list.length
  return [...list.slice(k), ...list.slice(0, k)]
}

/** One table: each library's median and its ratio to raw; `fmt` formats a number. */
export function peersTable(result, fmt) {
  const header = ['operation', ...LIBS.map((lib) => LIB_NAMES[lib])]
  const lines = result.rows.map((r) => {
    const rawValue = r.values.raw
    return [
      `${r.op} (${r.unit}, ${r.better} is better)`,
      ...LIBS.map((lib) => {
        const value = r.values[lib]
        if (typeof value === 'string') return value
        if (!Number.isFinite(value)) return '—'
        const ratio = lib === 'raw' ? '' : ` (×${fmt(value / rawValue)})`
        return `${fmt(value)}${ratio}`
      }),
    ]
  })
  return { header, lines }
}
