/**
 * Node side of the session test page (session.ts): Playwright handles for a page of
 * controllers and for one controller in it. Used by e2e/session*.spec.ts; never loaded
 * by the page itself (only types cross over).
 */
import type { BrowserContext, Page } from '@playwright/test'
import type { ResumeResult, SessionAccess, SessionEvents, SessionInvite } from '../../src/index.js'
import { expect, freezePage, newPeerContext, test } from '../fixtures.js'
import type { Lane } from '../../src/index.js'
import type { Applied, BlobInfo, BurstState, Condition, InvitesCall, Joined, Knock, Outcome, PeerOptions, PeerView, RecordedEvent, TappedLink } from './session.js'

/** Conditions are checked in the page this often (no sleeps: waits end as soon as they hold). */
const POLL_MS = 50

/** Diagnostics that mean a bug, wherever they show up. */
const FAULT_CODES = new Set(['internal-error', 'provider-error', 'wire-malformed', 'wire-version', 'wire-unknown-type'])

/** One session test page in its own browser context. */
export class SessionPage {
  readonly errors: string[] = []
  readonly peers: Peer[] = []

  private constructor(readonly page: Page) {
    page.on('pageerror', (error) => this.errors.push(error.message))
  }

  /**
   * Opens the page (optionally at an invite URL) and waits for its harness. Vite's HMR
   * socket is stubbed out: other work in the tree must not reload a page mid-test.
   */
  static async open(context: BrowserContext, url = '/session.html'): Promise<SessionPage> {
    const page = await context.newPage()
    await page.routeWebSocket(/.*/, () => {})
    const opened = new SessionPage(page)
    await page.goto(url)
    await page.waitForFunction(() => 'sessionHarness' in window)
    return opened
  }

  /** A new controller in this page; the page's first one is its `window.SESSION`. */
  async add(options: PeerOptions = {}): Promise<Peer> {
    const index = await this.page.evaluate((o) => window.sessionHarness.create(o), options)
    const view = await this.page.evaluate((i) => window.sessionHarness.view(i), index)
    const peer = new Peer(this, index, view.self.id, view.self.name)
    this.peers.push(peer)
    return peer
  }

  /**
   * No uncaught page error, and no diagnostic that means a bug, in any controller added since the
   * last check; but for the codes in `provoked`, which the test caused on purpose (it wrote bad bytes).
   */
  async expectHealthy(provoked: readonly string[] = []): Promise<void> {
    expect(this.errors.splice(0)).toEqual([])
    for (const peer of this.peers.splice(0)) {
      const faults = (await peer.events('session-diagnostic')).filter((e) => FAULT_CODES.has(e.payload.code) && !provoked.includes(e.payload.code))
      expect(faults.map((e) => `${peer.name}: ${e.payload.code}: ${e.payload.message}`)).toEqual([])
    }
  }

  /** Ends or leaves every session in the page, so a test sharing it starts from quiet links. */
  async closeAll(): Promise<void> {
    if (!this.page.isClosed()) await this.page.evaluate(() => window.sessionHarness.closeAll())
  }

  private thawPage: (() => Promise<void>) | null = null

  /** Stops all of the page's JavaScript (see `freezePage`). Do not evaluate in the page until `thaw()`. */
  async freeze(): Promise<void> {
    this.thawPage = await freezePage(this.page)
  }

  /** Lets a frozen page run again, and resolves once it does. */
  async thaw(): Promise<void> {
    if (!this.thawPage) throw new Error('thaw(): the page was not frozen')
    await this.thawPage()
    this.thawPage = null
  }

  /**
   * Keeps the page's main thread busy for `ms` ms, by the page's own clock (a synchronous
   * loop: a long task in a busy tab). Resolves when the loop has ended, with its start and
   * end by the page's clock. Do not evaluate in the page meanwhile: it would wait its turn.
   */
  busy(ms: number): Promise<{ startedAt: number; endedAt: number }> {
    return this.page.evaluate((duration) => window.sessionHarness.busy(duration), ms)
  }

  /**
   * Reloads the page (pagehide: its `window.SESSION` says goodbye) and waits for the new
   * harness. The controllers of before are gone: add new ones (`resume` brings one back).
   */
  async reload(): Promise<void> {
    await this.page.reload()
    await this.page.waitForFunction(() => 'sessionHarness' in window)
    this.peers.splice(0)
  }

  /** From now on every IndexedDB write in the page fails with QuotaExceededError. */
  fillDisk(): Promise<void> {
    return this.page.evaluate(() => window.sessionHarness.fillDisk())
  }

  /**
   * The tab crashes (`crash()`: no goodbye) and is loaded again. Playwright cannot reload a
   * crashed page, so a new page of the same context stands in for the reloaded tab, with the
   * crashed tab's sessionStorage (IndexedDB is the context's: it is shared anyway).
   */
  async crashAndReload(): Promise<SessionPage> {
    const tab = await this.page.evaluate(() => Object.fromEntries(Object.entries(sessionStorage)))
    await this.crash()
    const reloaded = await SessionPage.open(this.page.context())
    await reloaded.page.evaluate((items) => {
      for (const [key, value] of Object.entries(items)) sessionStorage.setItem(key, value)
    }, tab)
    return reloaded
  }

  /** Kills the page's renderer (CDP Page.crash): no pagehide, no goodbye, nothing more from it. */
  async crash(): Promise<void> {
    const crashed = new Promise<void>((resolve) => this.page.once('crash', () => resolve()))
    const cdp = await this.page.context().newCDPSession(this.page)
    // The command never answers: its renderer is gone.
    cdp.send('Page.crash').catch(() => {})
    await crashed
  }
}

/** One controller in a session page. */
export class Peer {
  constructor(
    readonly at: SessionPage,
    readonly index: number,
    readonly id: string,
    readonly name: string,
  ) {}

  get page(): Page {
    return this.at.page
  }

  view(): Promise<PeerView> {
    return this.page.evaluate((i) => window.sessionHarness.view(i), this.index)
  }

  start(): Promise<void> {
    return this.page.evaluate((i) => window.sessionHarness.start(i), this.index)
  }

  invite(): Promise<SessionInvite> {
    return this.page.evaluate((i) => window.sessionHarness.invite(i), this.index)
  }

  /** `join(url)`; a rejection comes back as `{ ok: false, code, message }`. */
  join(url: string): Promise<Outcome<string>> {
    return this.page.evaluate(([i, u]) => window.sessionHarness.join(i, u), [this.index, url] as const)
  }

  /** `join(location.href)`: the page was opened at the invite link. */
  joinFromLocation(): Promise<Outcome<string>> {
    return this.page.evaluate((i) => window.sessionHarness.join(i, location.href), this.index)
  }

  /** `resume(url)` after its page reloaded; `null` when there was nothing to resume. */
  resume(url?: string): Promise<Outcome<ResumeResult | null>> {
    return this.page.evaluate(([i, u]) => window.sessionHarness.resume(i, u ?? undefined), [this.index, url ?? null] as const)
  }

  /** Writes the journal's pending batch (its identity, with the resume token, among it) to IndexedDB. */
  flushJournal(): Promise<void> {
    return this.page.evaluate((i) => window.sessionHarness.flushJournal(i), this.index)
  }

  accept(answerCode: string): Promise<Outcome<null>> {
    return this.page.evaluate(([i, code]) => window.sessionHarness.accept(i, code), [this.index, answerCode] as const)
  }

  leave(): Promise<void> {
    return this.page.evaluate((i) => window.sessionHarness.leave(i), this.index)
  }

  end(): Promise<void> {
    return this.page.evaluate((i) => window.sessionHarness.end(i), this.index)
  }

  setKv(key: string, value: unknown): Promise<string | null> {
    return this.page.evaluate(([i, k, v]) => window.sessionHarness.setKv(i, k, v), [this.index, key, value] as const)
  }

  setLayer(viewerId: string, key: string, value: unknown): Promise<string | null> {
    return this.page.evaluate(([i, w, k, v]) => window.sessionHarness.setLayer(i, w, k, v), [this.index, viewerId, key, value] as const)
  }

  /** A local change `{ key, value }` through `provider`; resolves to its intent id. */
  change(provider: string, key: string, value: unknown): Promise<string | null> {
    return this.page.evaluate(([i, p, k, v]) => window.sessionHarness.change(i, p, k, v), [this.index, provider, key, value] as const)
  }

  moveCursor(x: number, y: number): Promise<void> {
    return this.page.evaluate(([i, px, py]) => window.sessionHarness.moveCursor(i, px, py), [this.index, x, y] as const)
  }

  setBlob(megabytes: number): Promise<BlobInfo> {
    return this.page.evaluate(([i, mb]) => window.sessionHarness.setBlob(i, mb), [this.index, megabytes] as const)
  }

  applied(provider?: string): Promise<Applied[]> {
    return this.page.evaluate(([i, p]) => window.sessionHarness.applied(i, p ?? undefined), [this.index, provider ?? null] as const)
  }

  events(type?: keyof SessionEvents): Promise<RecordedEvent[]> {
    return this.page.evaluate(([i, t]) => window.sessionHarness.events(i, t ?? undefined), [this.index, type ?? null] as const)
  }

  /** Starts a paced burst of kv sets in the page (see SessionHarness.burst) and returns at once. */
  burst(prefix: string, count: number, everyMs: number): Promise<void> {
    return this.page.evaluate(([i, p, n, ms]) => window.sessionHarness.burst(i, p, n, ms), [this.index, prefix, count, everyMs] as const)
  }

  burstState(prefix: string): Promise<BurstState | null> {
    return this.page.evaluate(([i, p]) => window.sessionHarness.burstState(i, p), [this.index, prefix] as const)
  }

  /** How often applyDelta ran per intent id, for the provider's deltas. */
  async appliedCounts(provider: string): Promise<Map<string, number>> {
    const counts = new Map<string, number>()
    for (const a of await this.applied(provider)) {
      const id = String(a.delta.intentId)
      counts.set(id, (counts.get(id) ?? 0) + 1)
    }
    return counts
  }

  // Access and relay (e2e/session-access.spec.ts).

  inviteWith(options: { access?: SessionAccess; seats?: number; ttlMs?: number }): Promise<SessionInvite> {
    return this.page.evaluate(([i, o]) => window.sessionHarness.inviteWith(i, o), [this.index, options] as const)
  }

  /** `listInvites()`, `revokeInvite(id)`, `reissueInvite(id)` or `previewInvite(url)`, as an outcome. */
  invites(call: InvitesCall): Promise<Outcome<unknown>> {
    return this.page.evaluate(([i, c]) => window.sessionHarness.invites(i, c), [this.index, call] as const)
  }

  /** `join(url)` with `relayed`; a rejection comes back as `{ ok: false, name, code, message }`. */
  joinFull(url: string): Promise<Outcome<Joined>> {
    return this.page.evaluate(([i, u]) => window.sessionHarness.joinFull(i, u), [this.index, url] as const)
  }

  /** `join(location.href)` with `relayed`: the page was opened at the invite link. */
  joinFullFromLocation(): Promise<Outcome<Joined>> {
    return this.page.evaluate((i) => window.sessionHarness.joinFull(i, location.href), this.index)
  }

  kick(peerId: string): Promise<Outcome<null>> {
    return this.page.evaluate(([i, p]) => window.sessionHarness.kick(i, p), [this.index, peerId] as const)
  }

  knocks(): Promise<Knock[]> {
    return this.page.evaluate((i) => window.sessionHarness.knocks(i), this.index)
  }

  decide(peerId: string, ok: boolean): Promise<boolean> {
    return this.page.evaluate(([i, p, yes]) => window.sessionHarness.decide(i, p, yes), [this.index, peerId, ok] as const)
  }

  linkStats(peerId: string): Promise<unknown> {
    return this.page.evaluate(([i, p]) => window.sessionHarness.linkStats(i, p), [this.index, peerId] as const)
  }

  /** The links this peer opened (it must have been added with `tap: true`), in opening order. */
  links(): Promise<TappedLink[]> {
    return this.page.evaluate((i) => window.sessionHarness.links(i), this.index)
  }

  /** Writes `text` (UTF-8) raw onto this peer's tapped link `n`, past its controller; false when that link is closed. */
  sendRaw(n: number, text: string, lane: Lane = 'control'): Promise<boolean> {
    return this.page.evaluate(([i, link, t, l]) => window.sessionHarness.sendRaw(i, link, t, l), [this.index, n, text, lane] as const)
  }

  /** Writes one frame raw on this peer's tapped link `n`, past its framer (see SessionHarness.sendFrame); false when that link is closed. */
  sendFrame(n: number, frame: string | Uint8Array): Promise<boolean> {
    const data = typeof frame === 'string' ? frame : [...frame]
    return this.page.evaluate(([i, link, f]) => window.sessionHarness.sendFrame(i, link, f), [this.index, n, data] as const)
  }

  /**
   * Resolves the moment the condition holds in the page (checked on every controller event,
   * not only on a poll): for acting right at a state, e.g. closing a page as soon as a guest
   * is connected. Fails after `timeout` ms.
   */
  async until(condition: Condition, timeout = 15_000): Promise<void> {
    const held = await this.page.evaluate(([i, c, ms]) => window.sessionHarness.until(i, c, ms), [this.index, condition, timeout] as const)
    if (!held) throw new Error(`${this.name}: ${JSON.stringify(condition)} did not hold within ${timeout} ms`)
  }

  /** Waits until the condition holds in the page; fails after `timeout` ms. */
  async waitFor(condition: Condition, timeout = 15_000): Promise<void> {
    await this.page.waitForFunction(([i, c]) => window.sessionHarness.check(i, c), [this.index, condition] as const, { polling: POLL_MS, timeout })
  }
}

/**
 * The whole zero-infra handshake for a guest already on a page: invite link out, answer
 * code back, and both sides connected (the guest bootstrapped).
 */
export async function connect(host: Peer, guest: Peer): Promise<void> {
  const invite = await host.invite()
  const joined = await guest.join(invite.url)
  if (!joined.ok) throw new Error(`${guest.name} could not join: ${joined.code}: ${joined.message}`)
  const accepted = await host.accept(joined.value)
  if (!accepted.ok) throw new Error(`${host.name} could not accept ${guest.name}: ${accepted.code}: ${accepted.message}`)
  try {
    await Promise.all([guest.waitFor({ state: 'connected' }), host.waitFor({ state: 'connected' })])
  } catch (error) {
    // Say what each side went through, not only that it timed out.
    const story = async (peer: Peer) => {
      const events = await peer.events().catch(() => null)
      if (!events) return `${peer.name}: its page could not be read`
      const told = events.filter((e) => ['session-state-changed', 'session-diagnostic', 'session-ended', 'session-host-lost'].includes(e.type))
      const links = await peer.links().catch(() => null) // tapped peers only: how each link ended
      return `${peer.name}: ${told.map((e) => `${e.type} ${JSON.stringify(e.payload.state ?? e.payload.code ?? e.payload.reason ?? '')}${e.payload.message ? ` (${String(e.payload.message).slice(0, 160)})` : ''}`).join('; ') || 'no events'}${links ? `; links ${JSON.stringify(links.map((l) => [l.via, l.closeReason, l.helloFrom.length]))}` : ''}`
    }
    throw new Error(`${guest.name} and ${host.name} did not both connect: ${(error as Error).message}\n${await story(guest)}\n${await story(host)}`, { cause: error })
  }
}

/** Peer ids in host rank order (rank 0 = host), as the host sees them. */
export async function rankOrder(host: Peer): Promise<string[]> {
  const { peers } = await host.view()
  return [...peers].sort((a, b) => a.rank - b.rank).map((p) => p.id)
}

/** How many of the page's RTCPeerConnections are connected (see e2e/fixtures.ts, which records them). */
/** A host alone in a fresh page and context: the page's window.SESSION (so closing the page says goodbye). */
export async function hostAlone(openContext: () => Promise<BrowserContext>, options: PeerOptions = {}): Promise<{ hostPage: SessionPage; host: Peer }> {
  const hostPage = await SessionPage.open(await openContext())
  const host = await hostPage.add({ name: 'host', ...options })
  expect(host.index).toBe(0)
  expect(await hostPage.page.evaluate(() => window.SESSION !== undefined)).toBe(true)
  await host.start()
  return { hostPage, host }
}

/** Admits one guest per page of `layout`, in order (so rank follows the layout), with one invite each. */
export async function admit(host: Peer, layout: SessionPage[], options: PeerOptions = {}): Promise<Peer[]> {
  const guests: Peer[] = []
  for (const [n, page] of layout.entries()) {
    const guest = await page.add({ name: `g${n + 1}`, ...options })
    await connect(host, guest)
    guests.push(guest)
  }
  expect(await rankOrder(host)).toEqual([host.id, ...guests.map((g) => g.id)])
  return guests
}

/** Every peer holds a direct link to every other one. */
export async function fullMesh(everyone: Peer[]): Promise<void> {
  await Promise.all(everyone.map((peer) => peer.waitFor({ linked: everyone.filter((p) => p !== peer).map((p) => p.id) })))
}

export function connectedPeerConnections(page: Page): Promise<number> {
  return page.evaluate(
    () => (window as unknown as { __peerConnections: RTCPeerConnection[] }).__peerConnections.filter((pc) => pc.connectionState === 'connected').length,
  )
}

/**
 * `count` session pages, each in a browser context of its own, shared by the tests of one
 * spec file: opened before its first test (handed to `use`), quietened after each test,
 * closed after the last.
 */
export function sharedSessionPages(count: number, use: (...pages: SessionPage[]) => void): void {
  let pages: SessionPage[] = []
  test.beforeAll(async ({ browser }) => {
    pages = await Promise.all(Array.from({ length: count }, async () => SessionPage.open(await newPeerContext(browser))))
    use(...pages)
  })
  test.afterEach(async () => {
    await Promise.all(pages.map((page) => page.closeAll()))
  })
  test.afterAll(async () => {
    await Promise.all(pages.map((page) => page.page.context().close()))
  })
}
