/**
 * A real redis-server for tests (test/relay/redis.test.ts, e2e/relay-*.spec.ts), started
 * on a free 127.0.0.1 port. Needs the Debian package `redis-server`.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'

/** `REDIS_SERVER=/path/to/redis-server` to use another build. */
const REDIS_SERVER = process.env.REDIS_SERVER ?? 'redis-server'
const MISSING = `${REDIS_SERVER} is not installed: the Redis relay test needs it. Install the Debian package: apt-get install -y redis-server`

export async function freePort(): Promise<number> {
  const probe = createServer()
  const port = await new Promise<number>((resolve) => probe.listen(0, '127.0.0.1', () => resolve((probe.address() as { port: number }).port)))
  await new Promise((resolve) => probe.close(resolve))
  return port
}

/** Resolves once redis-server says it is ready; rejects (bounded) otherwise. */
export function startRedis(port: number): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`redis-server did not start within 10 s:\n${output.slice(-2000)}`))
    }, 10_000)
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      reject(error.code === 'ENOENT' ? new Error(MISSING) : error)
    })
    const onEarlyExit = (code: number | null) => {
      clearTimeout(timer)
      reject(new Error(`redis-server exited with ${code}:\n${output.slice(-2000)}`))
    }
    child.once('exit', onEarlyExit)
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (!output.includes('Ready to accept connections')) return
      clearTimeout(timer)
      child.off('exit', onEarlyExit)
      child.stdout!.off('data', onData)
      child.stdout!.resume() // keep draining its log
      resolve(child)
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', (chunk: Buffer) => void (output += chunk.toString()))
  })
}


/** Stops a redis-server started by `startRedis`, and resolves once it has exited. */
export async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  await exited
}
