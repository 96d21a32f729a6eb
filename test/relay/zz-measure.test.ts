import { connect, type Socket } from 'node:net'
import { it } from 'vitest'
import { createRelayServer } from '../../relay/server.js'
import { createRelayClient } from '../../src/relay/index.js'
async function rate(url: string, ms: number) {
  const client = createRelayClient({ endpoint: url })
  const meta = { from: { id: 'h', name: 'H' }, access: 'editor' as const }
  let n = 0; const lat: number[] = []
  const end = Date.now() + ms
  await Promise.all(Array.from({ length: 4 }, async () => { while (Date.now() < end) { const t = performance.now(); await client.publish(['AAAA'], meta, 60); lat.push(performance.now() - t); n++ } }))
  lat.sort((a, b) => a - b)
  return { perSecond: Math.round(n / (ms / 1000)), p50: lat[Math.floor(lat.length / 2)]!.toFixed(1), p99: lat[Math.floor(lat.length * 0.99)]!.toFixed(1) }
}
it('measure', async () => {
  for (const cap of [32, 100_000]) {
    const relay = createRelayServer({ log: () => undefined, rateLimit: false, sockets: { maxConnectionsPerAddress: cap } })
    const { url, port } = await relay.listen(0, '127.0.0.1')
    const quiet = await rate(url, 3000)
    const held: Socket[] = []
    const flood = Promise.all(Array.from({ length: 2100 }, (_, i) => new Promise<void>((res) => { const s = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' }); s.on('error', () => {}); held.push(s); s.once('connect', () => { if (i % 2 === 0) s.write('POST /v1/invites HTTP/1.1\r\nHost: r\r\n'); res() }); s.once('close', () => res()) })))
    await flood
    const flooded = await rate(url, 3000).catch((e) => String(e))
    console.log(JSON.stringify({ cap, quiet, flooded }))
    held.forEach((s) => s.destroy())
    await relay.close()
  }
}, 120000)
