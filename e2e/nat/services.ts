/**
 * The processes of the public network: a real coturn (STUN and TURN, one static user) and
 * the page server, each started inside the public namespace and listening only on its
 * address. `stop()` ends exactly the processes started here, by their pid.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PUBLIC_ADDRESS } from './topology.js'

export const TURN_PORT = 3478
export const PAGE_PORT = 8080
export const TURN_USER = { username: 'nat-suite', credential: 'relay-only-for-tests' }

export const PAGE_ORIGIN = `http://${PUBLIC_ADDRESS}:${PAGE_PORT}`
export const STUN_SERVER: RTCIceServer = { urls: `stun:${PUBLIC_ADDRESS}:${TURN_PORT}` }
export const TURN_SERVER: RTCIceServer = { urls: `turn:${PUBLIC_ADDRESS}:${TURN_PORT}?transport=udp`, ...TURN_USER }

const READY_TIMEOUT_MS = 30_000

export class PublicServices {
  private readonly processes: ChildProcess[] = []
  /** coturn's database and pid file; under run.sh's own scratch directory, which it removes even after a killed run. */
  private readonly scratch = mkdtempSync(join(process.env.NAT_SCRATCH ?? tmpdir(), 'session-sync-nat-'))
  /** What the processes wrote, for the report of a failed start. */
  readonly log: string[] = []

  constructor(private readonly namespace: string) {}

  async start(): Promise<void> {
    await Promise.all([
      this.spawnUntil(/listening/, 'node', 'e2e/nat/serve.mjs', PUBLIC_ADDRESS, String(PAGE_PORT)),
      this.spawnUntil(
        /UDP listener opened on\s*:\s*203\.0\.113\.1:3478/,
        'turnserver',
        '-n', // no config file: only these options
        '-v', // says when its UDP listener is open
        `--listening-ip=${PUBLIC_ADDRESS}`,
        `--relay-ip=${PUBLIC_ADDRESS}`,
        `--listening-port=${TURN_PORT}`,
        '--min-port=49152',
        '--max-port=49407',
        '--lt-cred-mech',
        `--user=${TURN_USER.username}:${TURN_USER.credential}`,
        '--realm=nat.session-sync.test',
        '--fingerprint',
        '--no-tls',
        '--no-dtls',
        '--no-tcp',
        '--no-tcp-relay',
        '--no-cli',
        '--no-rfc5780',
        `--userdb=${join(this.scratch, 'turndb')}`,
        `--pidfile=${join(this.scratch, 'turnserver.pid')}`,
        '--log-file=stdout',
        '--simple-log',
      ),
    ])
  }

  stop(): void {
    for (const child of this.processes.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    rmSync(this.scratch, { recursive: true, force: true })
  }

  /** Starts `command` in the public namespace and resolves once its output matches `ready`. */
  private spawnUntil(ready: RegExp, command: string, ...args: string[]): Promise<void> {
    const child = spawn('ip', ['netns', 'exec', this.namespace, command, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    this.processes.push(child)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${command} did not come up within ${READY_TIMEOUT_MS} ms:\n${this.log.join('')}`)), READY_TIMEOUT_MS)
      const onOutput = (chunk: Buffer) => {
        this.log.push(`${command}: ${chunk}`)
        if (ready.test(String(chunk))) {
          clearTimeout(timer)
          resolve()
        }
      }
      child.stdout!.on('data', onOutput)
      child.stderr!.on('data', onOutput)
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`${command} exited (${code}) before it was ready:\n${this.log.join('')}`))
      })
    })
  }
}
