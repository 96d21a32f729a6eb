// Serves the e2e pages (e2e/vite.config.ts) on one address and port; run inside the public
// namespace by the NAT suite. Prints "listening" once the server accepts connections.
import { createServer } from 'vite'

const [host, port] = process.argv.slice(2)
const server = await createServer({
  configFile: new URL('../vite.config.ts', import.meta.url).pathname,
  server: { host, port: Number(port), strictPort: true, hmr: false },
})
await server.listen()
console.log('listening')
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close().then(() => process.exit(0)))
