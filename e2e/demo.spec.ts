/**
 * The demo app (demo/) driven the way a person uses it: clicks, typing, pasting codes,
 * over real WebRTC in Chromium (loopback only, see run-isolated.sh). Each person is their
 * own browser context. The demo is served by a Vite server this file starts itself
 * (e2e/demo.vite.config.ts). Screenshots: test-results/demo/*.png.
 */
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { BrowserContext, ConsoleMessage, Page } from '@playwright/test'
import { createRelayServer, type RelayServer } from '../relay/server.js'
import { serveDemo } from './demo-server.js'
import { expect, freezePage, selectedPairAddresses, test } from './fixtures.js'

const SHOTS = fileURLToPath(new URL('../test-results/demo/', import.meta.url))

const demo = serveDemo()

/** One person's page, with everything it complained about. */
interface Person {
  page: Page
  /** Console errors and warnings, and uncaught exceptions, in order. */
  problems: string[]
  /** Text of every dialog (all accepted: the undeclared-modules confirm). */
  dialogs: string[]
}

/**
 * Chromium's software GL (there is no GPU here) reports its own read-back stalls while
 * compositing Annotorious' WebGL canvases: the browser's message (tagged with the WebGL
 * context, at line 0 of no script), not the page's, and absent on a machine with a GPU.
 */
function fromSoftwareGl(message: ConsoleMessage): boolean {
  return message.location().lineNumber === 0 && /^\[\.WebGL-0x[0-9a-f]+\]GL Driver Message/.test(message.text())
}

async function open(context: BrowserContext, url = demo.url): Promise<Person> {
  const page = await context.newPage()
  const person: Person = { page, problems: [], dialogs: [] }
  page.on('console', (message) => {
    const type = message.type()
    // A failed request names its URL only in the message's location: keep it, to tell whose it was.
    const url = message.text().startsWith('Failed to load resource') ? ` (${message.location().url})` : ''
    if (type === 'error' || (type === 'warning' && !fromSoftwareGl(message))) person.problems.push(`console ${type}: ${message.text()}${url}`)
  })
  page.on('pageerror', (error) => person.problems.push(`pageerror: ${error.message}`))
  page.on('dialog', (dialog) => {
    person.dialogs.push(dialog.message())
    void dialog.accept()
  })
  await page.goto(url)
  await expect(page.locator('#state')).toHaveText('idle')
  // Both viewers have their layers (drawing and layer settings need them).
  await page.waitForFunction(() => window.demo?.viewers.every((v) => v.osd.world.getItemCount() === 3))
  await recordNotices(page)
  return person
}

/** Keeps every short notice the page shows (they go away by themselves after a few seconds). */
async function recordNotices(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: string[] = []
    ;(window as unknown as { noticesSeen: string[] }).noticesSeen = seen
    new MutationObserver((records) => {
      for (const record of records) for (const node of Array.from(record.addedNodes)) seen.push(node.textContent ?? '')
    }).observe(document.querySelector('#notices')!, { childList: true })
  })
}

const noticesOf = (person: Person) => person.page.evaluate(() => (window as unknown as { noticesSeen: string[] }).noticesSeen)

/** The whole window, its side panel scrolled to the Session card (or the card `anchor` heads). */
async function shot(person: Person, name: string, anchor = '#session-h'): Promise<void> {
  await person.page.locator(anchor).scrollIntoViewIfNeeded()
  await person.page.screenshot({ path: `${SHOTS}${name}.png` })
}

/**
 * Types a name, finds Start refused because of the Legacy editor, unloads it with the button
 * under the error, starts.
 */
async function startHosting(host: Person, name: string): Promise<void> {
  const { page } = host
  await page.locator('#name').fill(name)
  await page.locator('#start').click()
  await expect(page.locator('#error')).toHaveText('Legacy editor cannot take part in a session: unload it, then try again.')
  await expect(page.locator('#state')).toHaveText('idle')
  await page.locator('#error-fix [data-unload="legacy-editor"]').click()
  await expect(page.locator('#unload-legacy-editor')).toHaveCount(0)
  await expect(page.locator('#error-fix')).toBeHidden()
  await expect(page.locator('#start')).toBeFocused()
  await page.locator('#start').click()
  await expect(page.locator('#state')).toHaveText('hosting')
  // Start went away; the next step has the focus.
  await expect(page.locator('#invite')).toBeFocused()
  await expect(page.locator('#role')).toHaveText('host')
  await expect(page.locator('#status')).toHaveText(/Hosting.*waiting/)
  await expect(page.locator('#error')).toBeEmpty()
  // Start asked about the module that declares nothing.
  expect(host.dialogs).toEqual([expect.stringContaining('mystery-plugin')])
}

/** Creates an invite, "copies" it, and returns the link from the read-only field. */
async function createInvite(host: Person): Promise<string> {
  const { page } = host
  const field = page.locator('#invite-url')
  // The field still shows the last invite (already used) until the new one is made.
  const previous = await field.inputValue()
  await page.locator('#invite').click()
  await expect(field).not.toHaveValue(previous)
  await expect(field).toHaveValue(/#session=[A-Za-z0-9_-]{100,}$/)
  await expect(page.locator('#invite-expiry')).toHaveText(/Expires in \d+:\d\d/)
  await expect(page.locator('#copy-invite')).toHaveText('Copy link')
  await page.locator('#copy-invite').click()
  await expect(page.locator('#copy-invite')).toHaveText('Copied')
  await expect(page.locator('#error')).toBeEmpty()
  return field.inputValue()
}

/**
 * The guest opens the invite link — in a new tab (`tab` is a context: the page loads at the
 * link) or in a demo tab already open (`tab` is that person: the address changes only in
 * its fragment, as when a link is pasted into the address bar) — unloads legacy-editor and
 * joins; their answer code is then in the read-only field.
 */
async function joinFromLink(tab: BrowserContext | Person, url: string, name: string): Promise<Person> {
  const guest = 'page' in tab ? tab : await open(tab, url)
  const { page } = guest
  if ('page' in tab) {
    await expect(page.locator('#join')).toBeHidden()
    await page.goto(url)
  }
  await expect(page.locator('#join')).toBeVisible()
  await expect(page.locator('#start')).toBeHidden()
  await page.locator('#name').fill(name)
  await page.locator('#unload-legacy-editor').click()
  // The Unload button went with its module; the focus went on to Join.
  await expect(page.locator('#join')).toBeFocused()
  await page.locator('#join').click()
  await expect(page.locator('#answer-code')).toHaveValue(/^[A-Za-z0-9_-]{100,}$/)
  await expect(page.locator('#state')).toHaveText('joining')
  await expect(page.locator('#role')).toHaveText('guest')
  await expect(page.locator('#status')).toHaveText('Joining — waiting for the host to add you')
  await page.locator('#copy-answer').click()
  await expect(page.locator('#copy-answer')).toHaveText('Copied')
  await expect(page.locator('#error')).toBeEmpty()
  return guest
}

/** The host pastes the guest's answer code, adds them, and lets them in. */
async function admit(host: Person, guest: Person, guestName: string): Promise<void> {
  const code = await guest.page.locator('#answer-code').inputValue()
  await host.page.locator('#answer-input').fill(code)
  await host.page.locator('#add-peer').click()
  await expect(host.page.locator('#admit-prompt')).toBeVisible()
  await expect(host.page.locator('#admit-text')).toHaveText(`${guestName} wants to join`)
  await host.page.locator('#admit-yes').click()
  await expect(host.page.locator('#admit-prompt')).toBeHidden()
  for (const { page } of [host, guest]) {
    await expect(page.locator('#state')).toHaveText('connected')
    await expect(page.locator('#status')).toHaveText('Connected')
  }
  await expect(host.page.locator('#answer-input')).toHaveValue('')
}

/** Alice hosting and Bob, in a context of his own, connected by link and code. */
async function aliceAndBob(newPeerContext: () => Promise<BrowserContext>): Promise<{ host: Person; guest: Person }> {
  const [host, guestContext] = await Promise.all([open(await newPeerContext()), newPeerContext()])
  await startHosting(host, 'Alice')
  const guest = await joinFromLink(guestContext, await createInvite(host), 'Bob')
  await admit(host, guest, 'Bob')
  return { host, guest }
}

/** Every page lists these people, the host (rank 0) marked as such. */
async function expectPeople(people: Person[], names: string[]): Promise<void> {
  for (const { page } of people) {
    const rows = page.locator('#peers li[data-peer-id]')
    await expect(rows).toHaveCount(names.length)
    const host = rows.and(page.locator('[data-rank="0"]'))
    await expect(host).toHaveCount(1)
    await expect(host).toHaveClass(/\bhost\b/)
    await expect(host.locator('.badge.host')).toHaveText('host')
    await expect(host.locator('.name')).toContainText(names[0]!)
    for (const name of names) await expect(rows.filter({ hasText: name })).toHaveCount(1)
    await expect(rows.and(page.locator('[data-role="guest"]'))).toHaveCount(names.length - 1)
  }
}

function expectNoProblems(people: Person[]): void {
  // No console error or warning or uncaught exception is expected in a normal session.
  expect(people.flatMap((p) => p.problems)).toEqual([])
}

type ViewerKey = 'a' | 'b'
const viewerIdOf = (viewer: ViewerKey) => `slide-${viewer}`

/** A spot on a viewer's canvas, given as fractions of its width and height, in page pixels. */
async function spot(page: Page, viewer: ViewerKey, fx: number, fy: number): Promise<{ x: number; y: number }> {
  const box = (await page.locator(`#viewer-${viewer}-canvas`).boundingBox())!
  return { x: box.x + box.width * fx, y: box.y + box.height * fy }
}

async function pickTool(page: Page, viewer: ViewerKey, tool: string): Promise<void> {
  const button = page.locator(`#viewer-${viewer} [data-tool=${tool}]`)
  await button.click()
  await expect(button).toHaveAttribute('aria-pressed', 'true')
}

async function drag(page: Page, from: { x: number; y: number }, to: { x: number; y: number }): Promise<void> {
  await page.mouse.move(from.x, from.y)
  await page.mouse.down()
  await page.mouse.move(to.x, to.y, { steps: 10 })
  await page.mouse.up()
}

/** An outline traced with the mouse: a circle of radius r (px) around c. */
async function trace(page: Page, c: { x: number; y: number }, r: number): Promise<void> {
  await page.mouse.move(c.x + r, c.y)
  await page.mouse.down()
  for (let i = 1; i <= 32; i++) await page.mouse.move(c.x + r * Math.cos((i / 32) * 2 * Math.PI), c.y + r * Math.sin((i / 32) * 2 * Math.PI))
  await page.mouse.up()
}

const shapesOf = (page: Page, viewer: ViewerKey) => page.evaluate((id) => window.demo.annotations(id), viewerIdOf(viewer))

/** The visible rectangle of a viewer, in OSD viewport units. */
const boundsOf = (page: Page, viewer: ViewerKey) =>
  page.evaluate((id) => {
    const b = window.demo.viewers.find((v) => v.uniqueId === id)!.osd.viewport.getBounds()
    return { x: b.x, y: b.y, w: b.width, h: b.height }
  }, viewerIdOf(viewer))

/** Resolves when a viewer's current zoom/pan animation has run out. */
const settled = (page: Page, viewer: ViewerKey) =>
  page.evaluate(
    (id) =>
      new Promise<void>((resolve) => {
        const osd = window.demo.viewers.find((v) => v.uniqueId === id)!.osd
        osd.addOnceHandler('animation-finish', () => resolve())
      }),
    viewerIdOf(viewer),
  )

function expectClose(a: { x: number; y: number; w: number; h: number }, b: { x: number; y: number; w: number; h: number }): void {
  for (const k of ['x', 'y', 'w', 'h'] as const) expect(a[k]).toBeCloseTo(b[k], 4)
}

type Rect = { x: number; y: number; w: number; h: number }

/**
 * A peer's outline on a viewer's navigator as drawn (page pixels, and its colour), beside
 * where `view` (viewport coordinates) falls on that navigator; null when there is none.
 */
const outlineOn = (page: Page, viewer: ViewerKey, peerId: string, view: Rect) =>
  page.evaluate(
    ([id, peerId, view]) => {
      const osd = window.demo.viewers.find((v) => v.uniqueId === id)!.osd
      const el = osd.element.querySelector<HTMLElement>(`.navigator .peer-outline[data-peer-id="${peerId}"]`)
      if (!el) return null
      const nav = osd.navigator
      // An OpenSeadragon Point without importing OpenSeadragon into the page.
      const point = (x: number, y: number) => Object.assign(nav.viewport.getCenter(true), { x, y })
      const origin = nav.canvas.getBoundingClientRect()
      const topLeft = nav.viewport.pixelFromPoint(point(view.x, view.y), true)
      const size = nav.viewport.deltaPixelsFromPointsNoRotate(point(view.w, view.h), true)
      const box = el.getBoundingClientRect()
      return {
        drawn: { x: box.left, y: box.top, w: box.width, h: box.height },
        expected: { x: origin.left + topLeft.x, y: origin.top + topLeft.y, w: size.x, h: size.y },
        colour: getComputedStyle(el.firstElementChild!).outlineColor,
        visible: el.offsetParent !== null,
      }
    },
    [viewerIdOf(viewer), peerId, view] as const,
  )

/** How far (page pixels) a peer's outline is from where `view` falls; Infinity when none is drawn. */
async function outlineMiss(page: Page, viewer: ViewerKey, peerId: string, view: Rect): Promise<number> {
  const outline = await outlineOn(page, viewer, peerId, view)
  if (!outline?.visible) return Infinity
  return Math.max(...(['x', 'y', 'w', 'h'] as const).map((k) => Math.abs(outline.drawn[k] - outline.expected[k])))
}

const swatchOf = (page: Page, peerId: string) => page.locator(`#peers li[data-peer-id="${peerId}"] .swatch`).evaluate((el) => getComputedStyle(el).backgroundColor)

/** Presses Tab until the element matching `selector` has the focus (at most `max` times). */
async function tabTo(page: Page, selector: string, max = 120): Promise<void> {
  for (let i = 0; i < max; i++) {
    if (await page.evaluate((sel) => document.activeElement?.matches(sel) ?? false, selector)) return
    await page.keyboard.press('Tab')
  }
  throw new Error(`Tab never reached ${selector}`)
}

/** Every visible control of the page, with the name a screen reader would read (simplified). */
function unnamedControls(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLElement>('button, input, select, textarea, [tabindex]:not([tabindex="-1"])'))
      .filter((el) => el.offsetParent !== null)
      .filter((el) => {
        const labelled = (el as HTMLInputElement).labels?.[0]?.textContent?.trim()
        return !(el.getAttribute('aria-label') || labelled || (el.tagName === 'BUTTON' && el.textContent?.trim()) || el.title)
      })
      .map((el) => el.outerHTML.slice(0, 120)),
  )
}

test.describe('demo app, driven through its UI', () => {
  test('host and guest connect by link and code, share a rectangle and a layer toggle; plugins are locked', async ({ newPeerContext }) => {
    // Two page loads and a WebRTC pairing on two cores shared with other browsers: 20-40 s.
    test.setTimeout(90_000)
    const [host, guestContext] = await Promise.all([open(await newPeerContext()), newPeerContext()])
    await startHosting(host, 'Alice')
    await expect(host.page.locator('#ice-notice')).toBeVisible()
    await expect(host.page.locator('#ice-notice')).toHaveText('Only people on your network can join; add a STUN server for others.')

    const url = await createInvite(host)
    expect(url.startsWith(`${demo.url}#session=`)).toBe(true)
    const guest = await joinFromLink(guestContext, url, 'Bob')
    await admit(host, guest, 'Bob')
    await expectPeople([host, guest], ['Alice', 'Bob'])
    for (const { page } of [host, guest]) {
      for (const pair of await selectedPairAddresses(page)) expect(pair).toMatchObject({ local: '127.0.0.1', remote: '127.0.0.1' })
    }
    // Each side's People card shows the other's rank, measured RTT and candidate type.
    await expect(host.page.locator('#peers li[data-role="guest"] .meta')).toHaveText(/^rank 1 · RTT \d+ ms · candidate host · /)
    await expect(guest.page.locator('#peers li[data-rank="0"] .meta')).toHaveText(/^rank 0 · RTT \d+ ms · candidate host · /)

    // The host draws a rectangle on slide A; the guest gets it.
    await host.page.locator('#viewer-a [data-tool=rectangle]').click()
    await expect(host.page.locator('#viewer-a [data-tool=rectangle]')).toHaveAttribute('aria-pressed', 'true')
    const box = (await host.page.locator('#viewer-a-canvas').boundingBox())!
    await host.page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.3)
    await host.page.mouse.down()
    await host.page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.55, { steps: 8 })
    await host.page.mouse.up()
    await expect.poll(() => host.page.evaluate(() => window.demo.annotations('slide-a').length)).toBe(1)
    const drawn = await host.page.evaluate(() => window.demo.annotations('slide-a')[0]!)
    expect(drawn.selector.type).toBe('RECTANGLE')
    await expect.poll(() => guest.page.evaluate(() => window.demo.annotations('slide-a'))).toEqual([drawn])
    expect(await guest.page.evaluate(() => window.demo.annotations('slide-b'))).toEqual([])

    // The guest hides a layer; the host's stack follows.
    const nuclei = (p: Page) => p.evaluate(() => window.demo.layers().find((l) => l.id === 'nuclei')?.visible)
    expect(await nuclei(host.page)).toBe(true)
    const toggle = guest.page.locator('#layers li[data-layer=nuclei] input[type=checkbox]')
    await expect(toggle).toBeChecked()
    await toggle.uncheck()
    await expect.poll(() => nuclei(host.page)).toBe(false)
    await expect(host.page.locator('#layers li[data-layer=nuclei] input[type=checkbox]')).not.toBeChecked()
    expect(await nuclei(guest.page)).toBe(false)

    // Byte counts come from the transport's stats: with data flowing, neither side reads 0 B.
    for (const [page, row] of [
      [host.page, 'li[data-role="guest"]'],
      [guest.page, 'li[data-rank="0"]'],
    ] as const) {
      await expect(page.locator(`#peers ${row} .meta`)).toHaveText(/↑ (?!0 B)[\d.]+ k?B ↓ (?!0 B)[\d.]+ k?B$/)
    }

    // No plugin may be loaded while the session is on.
    for (const { page } of [host, guest]) {
      await page.locator('#load-plugin').click()
      await expect(page.locator('#error')).toHaveText(/Cannot load plugin "heatmap" while a session is active/)
      await expect(page.locator('#load-plugin')).toHaveText('Load heatmap plugin')
    }

    await shot(host, 'host-connected')
    await shot(guest, 'guest-connected')
    expectNoProblems([host, guest])
  })

  test('three people: a second guest joins the same way; presence and notices; the host leaves, the next host ends it for everyone after a confirmation', async ({ newPeerContext }) => {
    // Three page loads take tens of seconds on two busy cores: the guests have the demo
    // open already and paste their link into the address bar (test 1 covers a new tab).
    test.setTimeout(90_000)
    const person = async () => open(await newPeerContext())
    const [host, bob, carol] = await Promise.all([person(), person(), person()])
    await shot(host, 'idle')
    await startHosting(host, 'Alice')

    await joinFromLink(bob, await createInvite(host), 'Bob')
    await shot(host, 'hosting-with-invite')
    await shot(bob, 'guest-answer-code')
    await admit(host, bob, 'Bob')
    await expectPeople([host, bob], ['Alice', 'Bob'])

    await joinFromLink(carol, await createInvite(host), 'Carol')
    await admit(host, carol, 'Carol')
    await expectPeople([host, bob, carol], ['Alice', 'Bob', 'Carol'])
    // Presence: the header shows everyone's initials in their colour, the host marked.
    for (const { page } of [host, bob, carol]) {
      await expect(page.locator('#avatars li')).toHaveCount(3)
      await expect(page.locator('#avatars li .face')).toHaveText(['A', 'B', 'C'])
      await expect(page.locator('#avatars li.host')).toHaveAttribute('title', /^Alice.* — host$/)
      await expect(page.locator('#avatars li[data-role="editor"]')).toHaveCount(2)
    }
    const aliceId = await host.page.evaluate(() => window.SESSION!.getSelf().id)
    expect(await host.page.locator(`#avatars li[data-peer-id="${aliceId}"] .face`).evaluate((el) => getComputedStyle(el).backgroundColor)).toBe(
      await host.page.locator(`#peers li[data-peer-id="${aliceId}"] .swatch`).evaluate((el) => getComputedStyle(el).backgroundColor),
    )
    // Everyone already in hears who joined; a newcomer is not told the others "joined".
    await expect.poll(() => noticesOf(host)).toEqual(['Bob joined', 'Carol joined'])
    await expect.poll(() => noticesOf(bob)).toEqual(['Carol joined'])
    expect(await noticesOf(carol)).toEqual([])
    await shot(host, 'connected')

    // Follow anyone: Carol clicks Bob's avatar and sees what he sees, until she moves herself.
    const bobId = await bob.page.evaluate(() => window.SESSION!.getSelf().id)
    const bobAvatar = carol.page.locator(`#avatars li[data-peer-id="${bobId}"] button.face`)
    await expect(bobAvatar).toHaveAttribute('aria-pressed', 'false')
    await bobAvatar.click()
    await expect(bobAvatar).toHaveAttribute('aria-pressed', 'true')
    await expect(carol.page.locator('#follow-host')).not.toBeChecked()
    await bob.page.locator('#viewer-a [role=application]').focus()
    const zoomed = settled(bob.page, 'a')
    await bob.page.keyboard.press('Equal')
    await zoomed
    const bobView = await boundsOf(bob.page, 'a')
    await expect.poll(async () => (await boundsOf(carol.page, 'a')).w).toBeCloseTo(bobView.w, 4)
    await expect(bob.page.locator('#follow-host')).not.toBeChecked()
    await shot(carol, 'following-bob')
    await carol.page.locator('#viewer-a [role=application]').focus()
    await carol.page.keyboard.press('ArrowLeft')
    await expect(bobAvatar).toHaveAttribute('aria-pressed', 'false')
    await expect.poll(() => noticesOf(carol)).toEqual(['Following Bob’s view — move a view to stop', 'You moved the view — no longer following Bob'])

    // The host leaves: the session goes on under Bob, and everyone is told so.
    await host.page.locator('#leave').click()
    await expect(host.page.locator('#status')).toHaveText('You left; Bob is host now')
    await expect(host.page.locator('#state')).toHaveText('idle')
    // (Bob's zoom above ended his following of the host's view, and he was told.)
    await expect.poll(() => noticesOf(bob)).toEqual(['Carol joined', 'You moved the view — no longer following Alice', 'Alice left — you are host now'])
    await expect.poll(async () => (await noticesOf(carol)).slice(2)).toEqual(['Alice left — Bob is host now'])
    await expectPeople([bob, carol], ['Bob', 'Carol'])
    await expect(carol.page.locator('#avatars li.host')).toHaveAttribute('title', 'Bob — host')
    await shot(host, 'host-left')
    await shot(carol, 'notice-new-host')

    // Ending for everyone asks first; Cancel changes nothing.
    await bob.page.locator('#end').click()
    await expect(bob.page.locator('#confirm')).toBeVisible()
    await expect(bob.page.locator('#confirm-title')).toHaveText('End the session for everyone?')
    await expect(bob.page.locator('#confirm-text')).toContainText('1 other person will be disconnected')
    await expect(bob.page.locator('#confirm-no')).toBeFocused()
    await shot(bob, 'confirm-end')
    await bob.page.keyboard.press('Escape')
    await expect(bob.page.locator('#confirm')).toBeHidden()
    await expect(bob.page.locator('#end')).toBeFocused()
    for (const { page } of [bob, carol]) await expect(page.locator('#state')).toHaveText('connected')
    await bob.page.locator('#end').click()
    await bob.page.locator('#confirm-yes').click()
    for (const { page } of [host, bob, carol]) {
      await expect(page.locator('#state')).toHaveText('idle')
      await expect(page.locator('#role')).toHaveText('none')
      await expect(page.locator('#peers li[data-peer-id]')).toHaveCount(0)
      await expect(page.locator('#avatars li')).toHaveCount(0)
    }
    await expect(carol.page.locator('#status')).toHaveText(/^Session ended: .*host.*end/i)
    await expect(bob.page.locator('#status')).toHaveText(/^Session ended/)
    await shot(carol, 'ended')
    expectNoProblems([host, bob, carol])
  })

  test('a damaged or expired invite link gives a readable error and the guest stays idle', async ({ newPeerContext }) => {
    const [host, guestContext] = await Promise.all([open(await newPeerContext()), newPeerContext()])
    await startHosting(host, 'Alice')
    const url = await createInvite(host)
    // Change three characters in the middle of the fragment: the checksum no longer matches.
    const at = url.indexOf('#session=') + '#session='.length + 40
    const damaged = url.slice(0, at) + [...url.slice(at, at + 3)].map((c) => (c === 'A' ? 'B' : 'A')).join('') + url.slice(at + 3)
    expect(damaged).not.toBe(url)

    const guest = await open(guestContext, damaged)
    const { page } = guest
    await expect(page.locator('#join')).toBeVisible()
    await page.locator('#unload-legacy-editor').click()
    await page.locator('#join').click()
    await expect(page.locator('#error')).toHaveText(/invite link is damaged or incomplete.*Ask the host/)
    await expect(page.locator('#state')).toHaveText('idle')
    await expect(page.locator('#role')).toHaveText('none')
    await expect(page.locator('#answer-code')).toHaveValue('')
    await expect(page.locator('#join')).toBeEnabled()
    await shot(guest, 'damaged-invite')

    // The undamaged link, opened after it has expired (the guest's clock set 16 minutes on).
    await page.clock.setFixedTime(Date.now() + 16 * 60_000)
    await page.goto(url)
    await page.locator('#join').click()
    await expect(page.locator('#error')).toHaveText('This invite has expired. Ask the host for a new one.')
    await expect(page.locator('#state')).toHaveText('idle')
    await expect(page.locator('#answer-code')).toHaveValue('')
    expectNoProblems([host, guest])
  })
  test('every kind of shape, comments, moves, deletes and undo reach the other person; cursors and the host’s view follow', async ({ newPeerContext }) => {
    test.setTimeout(120_000)
    const { host, guest } = await aliceAndBob(newPeerContext)
    const both = [host, guest]
    const expectSame = async (viewer: ViewerKey, count: number) => {
      await expect.poll(() => shapesOf(host.page, viewer)).toHaveLength(count)
      const shapes = await shapesOf(host.page, viewer)
      await expect.poll(() => shapesOf(guest.page, viewer)).toEqual(shapes)
      return shapes
    }

    // Alice: an ellipse on slide A and a polygon on slide B; Bob: a freehand outline on slide B.
    await pickTool(host.page, 'a', 'ellipse')
    await drag(host.page, await spot(host.page, 'a', 0.3, 0.35), await spot(host.page, 'a', 0.45, 0.55))
    const [ellipse] = await expectSame('a', 1)
    expect(ellipse!.selector.type).toBe('ELLIPSE')
    expect(ellipse!.creator?.name).toBe('Alice')

    await pickTool(host.page, 'b', 'polygon')
    const corners = [await spot(host.page, 'b', 0.2, 0.3), await spot(host.page, 'b', 0.35, 0.3), await spot(host.page, 'b', 0.3, 0.45)]
    for (const c of [...corners, corners[0]!]) await host.page.mouse.click(c.x, c.y)
    await expect.poll(async () => (await shapesOf(host.page, 'b')).map((a) => a.selector.type)).toEqual(['POLYGON'])

    await pickTool(guest.page, 'b', 'freehand')
    await trace(guest.page, await spot(guest.page, 'b', 0.65, 0.6), 40)
    const shapesB = await expectSame('b', 2)
    const freehand = shapesB.find((a) => a.creator?.name === 'Bob')!
    expect(freehand.selector.type).toBe('POLYGON')
    // The traced circle, simplified: more than a triangle, far fewer than the 33 points traced.
    const points = (freehand.selector as unknown as { geometry: { points: number[][] } }).geometry.points
    expect(points.length).toBeGreaterThan(6)
    expect(points.length).toBeLessThan(33)

    // Bob selects Alice's ellipse and comments on it.
    await pickTool(guest.page, 'a', 'pan')
    const ellipseCentre = await spot(guest.page, 'a', 0.375, 0.45)
    await guest.page.mouse.click(ellipseCentre.x, ellipseCentre.y)
    await expect(guest.page.locator('#anno-editor')).toBeVisible()
    await expect(guest.page.locator('#anno-meta')).toHaveText(/ellipse on Slide A.*drawn by Alice/)
    await guest.page.locator('#anno-comment').fill('Dense nuclei here')
    await guest.page.locator('#anno-save').click()
    await expect.poll(async () => (await shapesOf(host.page, 'a'))[0]?.comments.map((c) => [c.text, c.author.name])).toEqual([['Dense nuclei here', 'Bob']])
    await guest.page.keyboard.press('Escape')

    // Alice moves her ellipse: select it, drag it to the right.
    await pickTool(host.page, 'a', 'pan')
    const grab = await spot(host.page, 'a', 0.375, 0.45)
    await host.page.mouse.click(grab.x, grab.y)
    await drag(host.page, grab, { x: grab.x + 60, y: grab.y + 20 })
    await host.page.keyboard.press('Escape')
    const cxOf = (a: { selector: unknown }) => (a.selector as { geometry: { cx: number } }).geometry.cx
    await expect.poll(async () => cxOf((await shapesOf(host.page, 'a'))[0]!)).toBeGreaterThan(cxOf(ellipse!))
    const [moved] = await expectSame('a', 1)
    expect(moved!.comments.map((c) => c.text)).toEqual(['Dense nuclei here'])

    // Bob deletes his outline, then undoes that: it comes back, same id, for both.
    await pickTool(guest.page, 'b', 'pan')
    const outline = await spot(guest.page, 'b', 0.65, 0.6)
    await guest.page.mouse.click(outline.x, outline.y)
    await expect(guest.page.locator('#anno-meta')).toHaveText(/polygon on Slide B.*drawn by Bob/)
    await guest.page.locator('#anno-delete').click()
    await expect.poll(async () => (await shapesOf(host.page, 'b')).map((a) => a.id)).not.toContain(freehand.id)
    await expectSame('b', 1)
    await guest.page.locator('#undo').click()
    await expect(guest.page.locator('#error')).toBeEmpty()
    expect((await expectSame('b', 2)).find((a) => a.id === freehand.id)).toEqual(freehand)

    // Bob's pointer over slide A shows on Alice's screen, with his name.
    const bobId = await guest.page.evaluate(() => window.SESSION!.getSelf().id)
    const over = await spot(guest.page, 'a', 0.6, 0.6)
    await guest.page.mouse.move(over.x, over.y, { steps: 4 })
    await expect(host.page.locator(`#viewer-a .remote-cursor[data-peer-id="${bobId}"] span`)).toHaveText('Bob')

    // Alice zooms slide A with the keyboard; Bob, following her, sees what she sees.
    const before = await boundsOf(guest.page, 'a')
    await host.page.locator('#viewer-a [role=application]').focus()
    const zoomed = settled(host.page, 'a')
    await host.page.keyboard.press('Equal')
    await zoomed
    const hostView = await boundsOf(host.page, 'a')
    expect(hostView.w).toBeLessThan(before.w)
    await expect.poll(async () => (await boundsOf(guest.page, 'a')).w).toBeCloseTo(hostView.w, 4)
    expectClose(await boundsOf(guest.page, 'a'), hostView)

    // Bob stops following: Alice pans, then hides a layer; the layer arrives, her view does not.
    await guest.page.locator('#follow-host').uncheck()
    const bobView = await boundsOf(guest.page, 'a')
    const panned = settled(host.page, 'a')
    await host.page.keyboard.press('ArrowRight')
    await panned
    expect((await boundsOf(host.page, 'a')).x).toBeGreaterThan(hostView.x)
    await host.page.locator('#layers li[data-layer=marker] input[type=checkbox]').uncheck()
    await expect(guest.page.locator('#layers li[data-layer=marker] input[type=checkbox]')).not.toBeChecked()
    expectClose(await boundsOf(guest.page, 'a'), bobView)
    // Following again jumps to where Alice is.
    await guest.page.locator('#follow-host').check()
    await expect.poll(async () => (await boundsOf(guest.page, 'a')).x).toBeCloseTo((await boundsOf(host.page, 'a')).x, 4)

    // Bob leaves: his cursor goes from Alice's screen.
    await guest.page.locator('#leave').click()
    await expect(guest.page.locator('#state')).toHaveText('idle')
    await expect(host.page.locator('#viewer-a .remote-cursor')).toHaveCount(0)
    await expect.poll(() => host.page.evaluate(() => window.demo.cursors()['slide-a'])).toEqual([])
    await shot(host, 'shapes-and-comments')
    expectNoProblems(both)
  })
  test('comments are entries: two people comment one shape at once and both stay; the card follows the slide; the list flies to a shape', async ({ newPeerContext }) => {
    test.setTimeout(90_000)
    const { host, guest } = await aliceAndBob(newPeerContext)
    const people = [host, guest]

    // Alice draws a rectangle on slide A; it is selected for her as soon as it is drawn.
    await pickTool(host.page, 'a', 'rectangle')
    await drag(host.page, await spot(host.page, 'a', 0.3, 0.3), await spot(host.page, 'a', 0.45, 0.5))
    await expect(host.page.locator('#anno-meta')).toHaveText(/rectangle on Slide A/)
    await expect.poll(() => shapesOf(guest.page, 'a')).toHaveLength(1)
    const [rect] = await shapesOf(host.page, 'a')
    await pickTool(host.page, 'a', 'pan')
    await pickTool(guest.page, 'a', 'pan')
    const centre = await spot(guest.page, 'a', 0.375, 0.4)
    await guest.page.mouse.click(centre.x, centre.y)
    await expect(guest.page.locator('#anno-meta')).toHaveText(/rectangle on Slide A.*drawn by Alice/)

    // Both comment at the same moment: each adds an entry; neither replaces the other.
    await host.page.locator('#anno-comment').fill('Margin looks clear')
    await guest.page.locator('#anno-comment').fill('I see atypia at the top edge')
    await Promise.all(people.map(({ page }) => page.locator('#anno-save').click()))
    const texts = (p: Page) => shapesOf(p, 'a').then((list) => list[0]!.comments.map((c) => `${c.author.name}: ${c.text}`).sort())
    for (const { page } of people) {
      await expect.poll(() => texts(page)).toEqual(['Alice: Margin looks clear', 'Bob: I see atypia at the top edge'])
      await expect(page.locator('#anno-comments li')).toHaveCount(2)
    }
    // Each may remove only their own: Bob's entry has a Remove button on his page alone.
    await expect(guest.page.locator('#anno-comments li[data-author="Bob"] button')).toHaveText('Remove')
    await expect(guest.page.locator('#anno-comments li[data-author="Alice"] button')).toHaveCount(0)
    await expect(host.page.locator('#anno-comments li[data-author="Bob"] button')).toHaveCount(0)
    await shot(guest, 'comments', '#anno-h')
    await guest.page.locator('#anno-comments li[data-author="Bob"] button').click()
    for (const { page } of people) await expect.poll(() => texts(page)).toEqual(['Alice: Margin looks clear'])

    // Bob draws on slide B: the card follows him there; his comment goes to the new shape.
    await pickTool(guest.page, 'b', 'ellipse')
    await drag(guest.page, await spot(guest.page, 'b', 0.6, 0.6), await spot(guest.page, 'b', 0.75, 0.75))
    await expect(guest.page.locator('#anno-meta')).toHaveText(/ellipse on Slide B.*drawn by Bob/)
    await shot(guest, 'card-follows-slide', '#anno-h')
    await guest.page.locator('#anno-comment').fill('Second focus')
    await guest.page.locator('#anno-comment').press('Control+Enter')
    await expect.poll(async () => (await shapesOf(host.page, 'b'))[0]?.comments.map((c) => c.text)).toEqual(['Second focus'])
    expect(await texts(guest.page)).toEqual(['Alice: Margin looks clear'])
    // Touching slide A again lets slide B's selection go: the card never shows a shape of the other slide.
    await pickTool(guest.page, 'b', 'pan')
    const empty = await spot(guest.page, 'a', 0.8, 0.2)
    await guest.page.mouse.click(empty.x, empty.y)
    await expect(guest.page.locator('#anno-empty')).toBeVisible()

    // The list: each slide's shapes with author, time and comment count; a click flies there.
    const items = guest.page.locator('#anno-list .slide-list[data-viewer="slide-a"] li button')
    await expect(items).toHaveCount(1)
    await expect(items.first()).toHaveAttribute('aria-label', /^Go to rectangle by Alice, \d\d:\d\d.*, 1 comment$/)
    await expect(guest.page.locator('#anno-list .slide-list[data-viewer="slide-b"] li button')).toHaveAttribute('aria-label', /ellipse by Bob, .*, 1 comment$/)
    await guest.page.locator('#follow-host').uncheck()
    const before = await boundsOf(guest.page, 'a')
    const flown = settled(guest.page, 'a')
    await items.first().click()
    await flown
    const after = await boundsOf(guest.page, 'a')
    expect(after.w).toBeLessThan(before.w)
    const { x, y, w, h } = await guest.page.evaluate((id) => {
      const viewer = window.demo.viewers[0]!
      const b = viewer.anno.state.store.getAnnotation(id)!.target.selector.geometry.bounds
      const r = viewer.osd.viewport.imageToViewportRectangle(b.minX, b.minY, b.maxX - b.minX, b.maxY - b.minY)
      return { x: r.x, y: r.y, w: r.width, h: r.height }
    }, rect!.id)
    expect(x).toBeGreaterThanOrEqual(after.x)
    expect(y).toBeGreaterThanOrEqual(after.y)
    expect(x + w).toBeLessThanOrEqual(after.x + after.w)
    expect(y + h).toBeLessThanOrEqual(after.y + after.h)
    await expect(guest.page.locator('#anno-meta')).toHaveText(/rectangle on Slide A.*drawn by Alice/)
    await expect(items.first()).toHaveAttribute('aria-current', 'true')
    await shot(guest, 'annotation-list', '#list-h')
    expectNoProblems(people)
  })
  test('joining asks first when the page holds unsaved work and saves a copy; a stale invite says what happened and what to do', async ({ newPeerContext }) => {
    test.setTimeout(120_000)
    const person = async () => open(await newPeerContext())
    const [alice, bob, carol] = await Promise.all([person(), person(), person()])
    // Bob works alone before he is invited: one rectangle on slide A.
    await pickTool(bob.page, 'a', 'rectangle')
    await drag(bob.page, await spot(bob.page, 'a', 0.3, 0.3), await spot(bob.page, 'a', 0.5, 0.5))
    await expect.poll(() => shapesOf(bob.page, 'a')).toHaveLength(1)
    const [bobsShape] = await shapesOf(bob.page, 'a')

    await startHosting(alice, 'Alice')
    await bob.page.goto(await createInvite(alice))
    await bob.page.locator('#name').fill('Bob')
    await bob.page.locator('#unload-legacy-editor').click()
    await bob.page.locator('#join').click()
    await expect(bob.page.locator('#confirm-title')).toHaveText('Joining replaces your work on this page')
    await expect(bob.page.locator('#confirm-text')).toContainText('1 shape ')
    await expect(bob.page.locator('#confirm-extra')).toBeFocused()
    await shot(bob, 'join-unsaved-work')
    // Cancel: nothing is sent, nothing replaced.
    await bob.page.locator('#confirm-no').click()
    await expect(bob.page.locator('#state')).toHaveText('idle')
    await expect(bob.page.locator('#answer-code')).toHaveValue('')
    expect(await shapesOf(bob.page, 'a')).toEqual([bobsShape])
    // Save a copy, then join: the file holds his shape.
    await bob.page.locator('#join').click()
    const download = bob.page.waitForEvent('download')
    await bob.page.locator('#confirm-extra').click()
    const file = await download
    expect(file.suggestedFilename()).toMatch(/^slide-review-copy-[\d-]+\.json$/)
    const copy = JSON.parse(await readFile((await file.path())!, 'utf8')) as { demo: { viewers: Array<{ annotations: unknown[] }> } }
    expect(copy.demo.viewers[0]!.annotations).toEqual([bobsShape])
    await expect(bob.page.locator('#answer-code')).toHaveValue(/^[A-Za-z0-9_-]{100,}$/)
    await admit(alice, bob, 'Bob')
    await expect.poll(() => shapesOf(bob.page, 'a')).toEqual([])
    // Alice removes Bob: she is told in a word, he in a sentence.
    await alice.page.locator('#peers li[data-role="guest"] button.kick').click()
    await expect(bob.page.locator('#status')).toHaveText('Session ended: the host removed you')
    await expect.poll(() => noticesOf(alice)).toEqual(['Bob joined', 'Bob was removed'])

    // An invite from a session that has ended since: Carol learns what happened and what to do.
    const stale = await createInvite(alice)
    await alice.page.locator('#end').click()
    await alice.page.locator('#confirm-yes').click()
    await expect(alice.page.locator('#state')).toHaveText('idle')
    await carol.page.goto(stale)
    await carol.page.locator('#name').fill('Carol')
    await carol.page.locator('#unload-legacy-editor').click()
    await carol.page.locator('#join').click()
    await expect(carol.page.locator('#error')).toHaveText(
      'Could not reach the host: the session this invite was for has ended, or the host’s page was closed — or the host is on another network, and without a STUN server only people on the host’s network can join. Ask the host for a new invite link (an invite works once, for one session).',
      // The transport hears no reply from the offer's address within 5 s (ICE itself would fail 20 s on).
      { timeout: 15_000 },
    )
    await expect(carol.page.locator('#state')).toHaveText('idle')
    await expect(carol.page.locator('#status')).toHaveText('Session ended: the host could not be reached')
    await shot(carol, 'stale-invite')
    expectNoProblems([alice, bob, carol])
  })
  test('keyboard only: name, unload, start, invite, pick a tool, zoom and pan a viewer; every control has a name', async ({ newPeerContext }) => {
    const host = await open(await newPeerContext({ viewport: { width: 1280, height: 800 } }))
    const { page } = host
    expect(await unnamedControls(page)).toEqual([])

    await tabTo(page, '#name')
    await expect(page.locator('#name')).toHaveValue('')
    await page.keyboard.type('Alice')
    await tabTo(page, '#start')
    // The focused control shows it.
    expect(await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle)).not.toBe('none')
    await page.keyboard.press('Enter')
    // Refused because of the Legacy editor: its Unload button is the next stop after Start.
    await expect(page.locator('#error')).toContainText('Legacy editor cannot take part')
    await page.keyboard.press('Tab')
    await expect(page.locator('#error-fix [data-unload="legacy-editor"]')).toBeFocused()
    await page.keyboard.press('Enter')
    await expect(page.locator('[data-module="legacy-editor"] .badge')).toHaveText('unloaded')
    // Focus goes back to Start, not to the page's body.
    await expect(page.locator('#start')).toBeFocused()
    await page.keyboard.press('Enter')
    await expect(page.locator('#state')).toHaveText('hosting')
    await expect(page.locator('#peers li[data-peer-id] .name')).toHaveText('Alice (you)')
    await expect(page.locator('#invite')).toBeFocused()
    await page.keyboard.press('Enter')
    await expect(page.locator('#invite-url')).toHaveValue(/#session=/)
    await tabTo(page, '#copy-invite')
    await page.keyboard.press('Space')
    await expect(page.locator('#error')).toBeEmpty()
    // Controls that appeared with the session have names too.
    expect(await unnamedControls(page)).toEqual([])

    await tabTo(page, '#viewer-a [data-tool=ellipse]')
    await page.keyboard.press('Space')
    await expect(page.locator('#viewer-a [data-tool=ellipse]')).toHaveAttribute('aria-pressed', 'true')
    await tabTo(page, '#viewer-a [data-tool=pan]')
    await page.keyboard.press('Enter')
    await expect(page.locator('#viewer-a [data-tool=pan]')).toHaveAttribute('aria-pressed', 'true')

    // The shape layer takes the focus (Delete and Escape act on a selected shape) and shows it.
    await tabTo(page, '#viewer-a svg.a9s-annotationlayer')
    expect(await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle)).not.toBe('none')
    await page.screenshot({ path: `${SHOTS}keyboard-shape-layer.png` })
    await tabTo(page, '#viewer-a [role=application]')
    const home = await boundsOf(page, 'a')
    let done = settled(page, 'a')
    await page.keyboard.press('Equal')
    await done
    const zoomed = await boundsOf(page, 'a')
    expect(zoomed.w).toBeLessThan(home.w)
    done = settled(page, 'a')
    await page.keyboard.press('ArrowDown')
    await done
    expect((await boundsOf(page, 'a')).y).toBeGreaterThan(zoomed.y)
    await tabTo(page, '#viewer-a [aria-label="Fit the whole slide"]')
    done = settled(page, 'a')
    await page.keyboard.press('Enter')
    await done
    expectClose(await boundsOf(page, 'a'), home)
    expectNoProblems([host])
  })

  for (const screen of [
    { name: 'laptop', viewport: { width: 1280, height: 800 } },
    { name: 'phone', viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true },
  ]) {
    test(`fits a ${screen.viewport.width}×${screen.viewport.height} screen: nothing cut off, nothing scrolls sideways`, async ({ newPeerContext }) => {
      const { name, ...options } = screen
      const person = await open(await newPeerContext(options))
      const { page } = person
      const layout = await page.evaluate(() => {
        const inside = (el: Element, box: DOMRect) => {
          const r = el.getBoundingClientRect()
          return r.left >= box.left - 0.5 && r.right <= box.right + 0.5 && r.top >= box.top - 0.5 && r.bottom <= box.bottom + 0.5
        }
        return {
          sideways: document.documentElement.scrollWidth - innerWidth,
          // Every toolbar button lies within its viewer's frame (a clipped one could not be pressed).
          clipped: Array.from(document.querySelectorAll('.viewer')).flatMap((viewer) =>
            Array.from(viewer.querySelectorAll('header button'))
              .filter((b) => !inside(b, viewer.getBoundingClientRect()))
              .map((b) => `${viewer.id}: ${b.textContent}`),
          ),
          viewers: Array.from(document.querySelectorAll('.viewer .osd')).map((el) => {
            const r = el.getBoundingClientRect()
            return { width: r.width, height: r.height }
          }),
        }
      })
      expect(layout.sideways).toBeLessThanOrEqual(0)
      expect(layout.clipped).toEqual([])
      for (const viewer of layout.viewers) {
        expect(viewer.width).toBeGreaterThanOrEqual(Math.min(360, options.viewport.width - 40))
        expect(viewer.height).toBeGreaterThanOrEqual(300)
      }
      // The first thing a person needs is on the first screen: what this is, a name, Start.
      await expect(page.locator('#tagline')).toBeInViewport()
      await expect(page.locator('#tagline')).toHaveText(/^Review two tissue slides together, live: start a session .* or open an invite to join one\.$/)
      await expect(page.locator('#name')).toHaveValue('')
      await expect(page.locator('#name')).toHaveAttribute('placeholder', /.+/)
      await expect(page.locator('#ice-notice')).toHaveText('Only people on your network can join; add a STUN server for others.')
      await expect(page.locator('#start')).toBeInViewport()
      if (!options.hasTouch) {
        // The wheel zooms the viewer under the pointer.
        const before = await boundsOf(page, 'a')
        const centre = await spot(page, 'a', 0.5, 0.5)
        await page.mouse.move(centre.x, centre.y)
        const done = settled(page, 'a')
        await page.mouse.wheel(0, -400)
        await done
        const zoomed = await boundsOf(page, 'a')
        expect(zoomed.w).toBeLessThan(before.w)
        // A drag pans it.
        const panned = settled(page, 'a')
        await drag(page, centre, { x: centre.x - 120, y: centre.y })
        await panned
        expect((await boundsOf(page, 'a')).x).toBeGreaterThan(zoomed.x)
      }
      await page.screenshot({ path: `${SHOTS}idle-${name}.png` })
      expectNoProblems([person])
    })
  }

  test('touch on a phone: taps start a session, one finger pans, two fingers zoom, a finger draws freehand', async ({ newPeerContext }) => {
    const person = await open(await newPeerContext({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true }))
    const { page } = person
    const cdp = await page.context().newCDPSession(page)
    type Point = { x: number; y: number }
    /**
     * Touches carry their own timestamps, 16 ms a step, so Chromium's gesture detector sees a
     * person's timing however long a busy machine takes to deliver them: a tap stays a tap
     * (not a long press), and a drag that stops before lifting starts no fling.
     */
    const touches = async (paths: Point[][]) => {
      let time = Date.now() / 1000
      const send = (type: 'touchStart' | 'touchMove' | 'touchEnd', at: Point[]) =>
        cdp.send('Input.dispatchTouchEvent', { type, touchPoints: at.map((p, id) => ({ ...p, id })), timestamp: (time += 0.016) })
      const steps = Math.max(...paths.map((path) => path.length))
      await send('touchStart', paths.map((path) => path[0]!))
      for (let step = 1; step < steps; step++) await send('touchMove', paths.map((path) => path[Math.min(step, path.length - 1)]!))
      time += 0.1
      await send('touchMove', paths.map((path) => path.at(-1)!))
      await send('touchEnd', [])
    }
    const line = (from: Point, to: Point) => Array.from({ length: 13 }, (_, i) => ({ x: from.x + ((to.x - from.x) * i) / 12, y: from.y + ((to.y - from.y) * i) / 12 }))
    const tap = async (selector: string) => {
      const target = page.locator(selector)
      await target.scrollIntoViewIfNeeded()
      await expect(target).toBeInViewport()
      const box = (await target.boundingBox())!
      await touches([[{ x: box.x + box.width / 2, y: box.y + box.height / 2 }]])
    }

    await page.locator('#name').fill('Alice')
    await tap('#unload-legacy-editor')
    await tap('#start')
    await expect(page.locator('#state')).toHaveText('hosting')

    await page.locator('#viewer-a').scrollIntoViewIfNeeded()
    const start = await boundsOf(page, 'a')
    const mid = await spot(page, 'a', 0.5, 0.5)
    // Two fingers spreading apart: zoom in.
    let done = settled(page, 'a')
    await touches([line({ x: mid.x - 30, y: mid.y }, { x: mid.x - 110, y: mid.y }), line({ x: mid.x + 30, y: mid.y }, { x: mid.x + 110, y: mid.y })])
    await done
    const pinched = await boundsOf(page, 'a')
    expect(pinched.w).toBeLessThan(start.w * 0.8)
    // One finger dragging left: the view moves right.
    done = settled(page, 'a')
    await touches([line({ x: mid.x + 80, y: mid.y }, { x: mid.x - 80, y: mid.y })])
    await done
    expect((await boundsOf(page, 'a')).x).toBeGreaterThan(pinched.x)

    // A finger on the Freehand tool, then tracing a loop.
    await tap('#viewer-a [data-tool=freehand]')
    // A tap's click comes a moment after the touch ends: wait for the tool to be on.
    await expect(page.locator('#viewer-a [data-tool=freehand]')).toHaveAttribute('aria-pressed', 'true')
    const loop = [0, 1, 2, 3, 4, 5, 6, 7, 8].map((i) => ({ x: mid.x + 60 * Math.cos((i / 8) * 2 * Math.PI), y: mid.y + 60 * Math.sin((i / 8) * 2 * Math.PI) }))
    await touches([loop])
    await expect.poll(async () => (await shapesOf(page, 'a')).map((a) => [a.selector.type, a.creator?.name])).toEqual([['POLYGON', 'Alice']])
    await page.screenshot({ path: `${SHOTS}phone-freehand.png` })
    expectNoProblems([person])
  })
  test('the host closes the tab: the next in rank takes over and nothing drawn is lost; the new host saves, then saves and ends', async ({ newPeerContext }) => {
    test.setTimeout(120_000)
    const person = async () => open(await newPeerContext())
    const [alice, bob, carol] = await Promise.all([person(), person(), person()])
    await startHosting(alice, 'Alice')
    await joinFromLink(bob, await createInvite(alice), 'Bob')
    await admit(alice, bob, 'Bob')
    await joinFromLink(carol, await createInvite(alice), 'Carol')
    await admit(alice, carol, 'Carol')
    await expectPeople([alice, bob, carol], ['Alice', 'Bob', 'Carol'])

    await pickTool(alice.page, 'a', 'rectangle')
    await drag(alice.page, await spot(alice.page, 'a', 0.3, 0.3), await spot(alice.page, 'a', 0.5, 0.5))
    await expect.poll(() => shapesOf(carol.page, 'a')).toHaveLength(1)
    const drawn = await shapesOf(alice.page, 'a')

    // Closing the page says goodbye; Bob (rank 1) is host at once, Carol follows him.
    await alice.page.close()
    await expect(bob.page.locator('#status')).toHaveText('You are the host now')
    await expect.poll(() => noticesOf(carol)).toEqual(['Alice left — Bob is host now'])
    await expect(bob.page.locator('#role')).toHaveText('host')
    await shot(bob, 'promoted-to-host')
    await expectPeople([bob, carol], ['Bob', 'Carol'])
    await expect(carol.page.locator('#state')).toHaveText('connected')
    for (const { page } of [bob, carol]) expect(await shapesOf(page, 'a')).toEqual(drawn)
    // The new host is the one who can invite, end and save now.
    for (const id of ['#invite', '#end', '#save', '#save-end']) await expect(bob.page.locator(id)).toBeVisible()
    for (const id of ['#invite', '#end', '#save', '#save-end']) await expect(carol.page.locator(id)).toBeHidden()

    // Carol's new shape goes through Bob now.
    await pickTool(carol.page, 'b', 'ellipse')
    await drag(carol.page, await spot(carol.page, 'b', 0.6, 0.6), await spot(carol.page, 'b', 0.7, 0.75))
    await expect.poll(() => shapesOf(bob.page, 'b')).toHaveLength(1)
    await carol.page.locator('#layers li[data-layer=tissue] input[type=range]').fill('0.3')
    await expect.poll(() => bob.page.evaluate(() => window.demo.layers().find((l) => l.id === 'tissue')?.opacity)).toBe(0.3)
    // Blend mode and stacking order too: Carol sets the marker layer to screen and moves it down.
    await carol.page.locator('#layers li[data-layer=marker] select').selectOption('screen')
    await carol.page.locator('#layers li[data-layer=marker] [aria-label="Move Marker (DAB) down"]').click()
    const stack = (p: Page) => p.evaluate(() => window.demo.layers().map((l) => `${l.id}:${l.blend}`))
    await expect.poll(() => stack(bob.page)).toEqual(await stack(carol.page))
    expect((await stack(bob.page)).indexOf('marker:screen')).toBe(1)

    /** The JSON file a Save button downloads. */
    const saved = async (button: string) => {
      const download = bob.page.waitForEvent('download')
      await bob.page.locator(button).click()
      if (button === '#save-end') {
        // Saving and ending asks first.
        await expect(bob.page.locator('#confirm-title')).toHaveText('Save and end the session?')
        await shot(bob, 'confirm-save-end')
        await bob.page.locator('#confirm-yes').click()
      }
      const file = await download
      expect(file.suggestedFilename()).toMatch(/^session-[A-Za-z0-9]+(-[A-Za-z0-9]+)*\.json$/)
      return JSON.parse(await readFile((await file.path())!, 'utf8')) as {
        final: boolean
        sessionId: string
        entries: Array<{ p: string; w: string | null }>
        peers: Array<{ name: string; since?: number; until?: number }>
        demo: { layers: Array<{ id: string; opacity: number }>; viewers: Array<{ id: string; annotations: Array<{ id: string }> }> }
      }
    }
    const interim = await saved('#save')
    expect(interim.final).toBe(false)
    expect(interim.demo.viewers.map((v) => v.annotations.length)).toEqual([1, 1])
    expect(interim.demo.viewers[0]!.annotations[0]!.id).toBe(drawn[0]!.id)
    expect(interim.demo.layers.find((l) => l.id === 'tissue')?.opacity).toBe(0.3)
    expect(interim.entries.map((e) => e.p)).toEqual(expect.arrayContaining(['annotations', 'layers']))
    expect(interim.peers.map((p) => p.name)).toEqual(expect.arrayContaining(['Bob', 'Carol']))
    // Everyone who took part, with when they came, and when they left for those gone (Alice, who closed her tab).
    expect(interim.peers.every((p) => typeof p.since === 'number')).toBe(true)
    expect(interim.peers.filter((p) => p.until !== undefined).map((p) => p.name)).toEqual(interim.peers.filter((p) => p.name !== 'Bob' && p.name !== 'Carol').map((p) => p.name))
    await expect(bob.page.locator('#state')).toHaveText('connected')

    const final = await saved('#save-end')
    expect(final.final).toBe(true)
    expect(final.sessionId).toBe(interim.sessionId)
    expect(final.demo).toEqual(interim.demo)
    for (const { page } of [bob, carol]) await expect(page.locator('#state')).toHaveText('idle')
    await expect(carol.page.locator('#status')).toHaveText('Session ended: saved by the host')
    await shot(carol, 'ended-saved')
    expectNoProblems([alice, bob, carol])
  })
  test('a guest invited as a viewer can point but not draw: the shape is undone with a readable message', async ({ newPeerContext }) => {
    test.setTimeout(90_000)
    const [host, guestContext] = await Promise.all([open(await newPeerContext()), newPeerContext()])
    await startHosting(host, 'Alice')
    await host.page.locator('#invite-access').selectOption('viewer')
    const guest = await joinFromLink(guestContext, await createInvite(host), 'Vic')
    await expect(host.page.locator('#invite-label')).toHaveText(/for a viewer/)
    await admit(host, guest, 'Vic')
    for (const { page } of [host, guest]) await expect(page.locator('#peers li[data-access="viewer"] .badge.viewer')).toHaveText('viewer')
    await expect(guest.page.locator('#viewer-notice')).toBeVisible()
    await expect(host.page.locator('#viewer-notice')).toBeHidden()

    await pickTool(guest.page, 'a', 'rectangle')
    await drag(guest.page, await spot(guest.page, 'a', 0.3, 0.3), await spot(guest.page, 'a', 0.5, 0.5))
    await expect(guest.page.locator('#error')).toHaveText(/invited you as a viewer.*undone/)
    await expect.poll(() => shapesOf(guest.page, 'a')).toEqual([])
    expect(await shapesOf(host.page, 'a')).toEqual([])
    // Pointing is not changing: the viewer's cursor still shows on the host's screen.
    const vicId = await guest.page.evaluate(() => window.SESSION!.getSelf().id)
    await pickTool(guest.page, 'a', 'pan')
    const over = await spot(guest.page, 'a', 0.6, 0.6)
    await guest.page.mouse.move(over.x, over.y, { steps: 4 })
    await expect(host.page.locator(`#viewer-a .remote-cursor[data-peer-id="${vicId}"] span`)).toHaveText('Vic')
    await shot(guest, 'viewer-refused')
    expectNoProblems([host, guest])
  })
  test('a late joiner to a large review sees the bootstrap progress bar fill, then every shape; a bulk import reaches the guest as one store call, with Catching up…', async ({ newPeerContext }) => {
    test.setTimeout(120_000)
    const [host, guestContext] = await Promise.all([open(await newPeerContext()), newPeerContext()])
    await startHosting(host, 'Alice')
    // A busy slide: 1,500 outlines of 24 points each, some 700 kB of state, many frames.
    const count = 1_500
    const importShapes = (viewer: number, n: number) =>
      host.page.evaluate(
        ([index, n]) => {
          const store = window.demo.viewers[index]!.anno.state.store
          const shapes = Array.from({ length: n }, (_, i) => {
            const id = `shape-${index}-${i}`
            const cx = 1000 + (i % 50) * 900
            const cy = 1000 + Math.floor(i / 50) * 900
            const points = Array.from({ length: 24 }, (_, k) => [cx + 300 * Math.cos((k / 24) * 2 * Math.PI), cy + 300 * Math.sin((k / 24) * 2 * Math.PI)])
            const xs = points.map((p) => p[0]!)
            const ys = points.map((p) => p[1]!)
            const bounds = { minX: Math.min(...xs), minY: Math.min(...ys), maxX: Math.max(...xs), maxY: Math.max(...ys) }
            return { id, bodies: [], target: { annotation: id, selector: { type: 'POLYGON', geometry: { points, bounds } } } }
          })
          store.bulkAddAnnotations(shapes as never, false)
        },
        [viewer, n] as const,
      )
    await importShapes(0, count)
    await expect.poll(() => host.page.evaluate(() => window.demo.annotations('slide-a').length)).toBe(count)

    const guest = await joinFromLink(guestContext, await createInvite(host), 'Bob')
    // Every state the progress bar is shown in, as the guest's page draws it.
    type Seen = { value: number; max: number; text: string; at: number }
    await guest.page.evaluate(() => {
      const box = document.querySelector<HTMLElement>('#progress-box')!
      const bar = document.querySelector<HTMLProgressElement>('#progress')!
      const seen: Seen[] = []
      const shown: number[] = []
      Object.assign(window, { progressSeen: seen, progressShown: shown })
      new MutationObserver(() => {
        const at = performance.now()
        if (!box.hidden) seen.push({ value: bar.value, max: bar.max, text: box.textContent!.trim(), at })
        // Odd length: shown now. A change of that is kept with its time.
        if (!box.hidden !== (shown.length % 2 === 1)) shown.push(at)
      }).observe(box, { attributes: true, subtree: true, childList: true, characterData: true })
    })
    await guest.page.evaluate(() => {
      const notice = document.querySelector<HTMLElement>('#catching-up')!
      const shown: string[] = []
      new MutationObserver(() => {
        if (!notice.hidden) shown.push(notice.textContent!)
      }).observe(notice, { attributes: true })
      Object.assign(window, { catchingUpAtBootstrap: shown })
    })
    await admit(host, guest, 'Bob')
    await expect.poll(() => guest.page.evaluate(() => window.demo.annotations('slide-a').length)).toBe(count)
    // Drawing 1,500 shapes takes a moment: the page said so meanwhile.
    expect(await guest.page.evaluate(() => (window as unknown as { catchingUpAtBootstrap: string[] }).catchingUpAtBootstrap)).toEqual(['Catching up…'])
    // Shown, then hidden a while after the last byte (long enough to read, on loopback too).
    await expect(guest.page.locator('#progress-box')).toBeHidden()
    const { seen, shown } = await guest.page.evaluate(() => {
      const w = window as unknown as { progressSeen: Seen[]; progressShown: number[] }
      return { seen: w.progressSeen, shown: w.progressShown }
    })
    expect(seen.length).toBeGreaterThan(2)
    const total = seen.at(-1)!.max
    expect(total).toBeGreaterThan(500_000)
    expect(seen.every((s) => s.max === total)).toBe(true)
    expect(seen.map((s) => s.value)).toEqual([...seen.map((s) => s.value)].sort((a, b) => a - b))
    expect(seen.at(-1)!.value).toBe(total)
    expect(seen.some((s) => /^Loading the session: [\d.]+ (B|kB|MB) of [\d.]+ (kB|MB)$/.test(s.text))).toBe(true)
    expect(seen.at(-1)!.text).toMatch(/^Loaded [\d.]+ (kB|MB)$/)
    expect(shown).toHaveLength(2)
    expect(shown[1]! - seen.find((s) => s.value === total)!.at).toBeGreaterThanOrEqual(1_400)

    // Alice imports 1,500 more shapes on slide B while Bob is in: one change, one store call on
    // his page, "Catching up…" on screen meanwhile, and nobody takes over.
    await guest.page.evaluate(() => {
      const store = window.demo.viewers[1]!.anno.state.store as unknown as Record<string, (...args: unknown[]) => unknown>
      const calls: string[] = []
      for (const name of ['addAnnotation', 'upsertAnnotation', 'updateAnnotation', 'updateTarget', 'bulkUpsertAnnotations', 'bulkAddAnnotations']) {
        const original = store[name]!
        store[name] = (...args: unknown[]) => {
          calls.push(name)
          return original(...args)
        }
      }
      const notice = document.querySelector<HTMLElement>('#catching-up')!
      const catchingUp: string[] = []
      new MutationObserver(() => {
        if (!notice.hidden) catchingUp.push(notice.textContent!)
      }).observe(notice, { attributes: true })
      Object.assign(window, { storeCalls: calls, catchingUp })
    })
    await importShapes(1, count)
    await expect.poll(() => guest.page.evaluate(() => window.demo.annotations('slide-b').length)).toBe(count)
    const after = await guest.page.evaluate(() => {
      const w = window as unknown as { storeCalls: string[]; catchingUp: string[] }
      return { storeCalls: w.storeCalls, catchingUp: w.catchingUp }
    })
    expect(after.storeCalls).toEqual(['bulkUpsertAnnotations'])
    expect(after.catchingUp).toEqual(['Catching up…'])
    await expect(guest.page.locator('#catching-up')).toBeHidden()
    await expect(guest.page.locator('#role')).toHaveText('guest')
    await expect(host.page.locator('#role')).toHaveText('host')
    for (const { page } of [host, guest]) await expect(page.locator('#state')).toHaveText('connected')
    // The list shows the latest hundred of each slide and says how many more there are.
    await expect(guest.page.locator('#anno-list .slide-list[data-viewer="slide-b"] li')).toHaveCount(100)
    await expect(guest.page.locator('#anno-list .slide-list[data-viewer="slide-b"]')).toContainText('and 1400 more')
    // The list is one Tab stop per slide; the arrow keys walk it, Enter goes there.
    const listB = guest.page.locator('#anno-list .slide-list[data-viewer="slide-b"] button.item')
    await expect(listB.and(guest.page.locator('[tabindex="0"]'))).toHaveCount(1)
    await listB.first().focus()
    await guest.page.keyboard.press('ArrowDown')
    await expect(listB.nth(1)).toBeFocused()
    await guest.page.keyboard.press('Enter')
    await expect(guest.page.locator('#anno-meta')).toHaveText('polygon on Slide B — biopsy, right lobe, drawn here before the session')
    await expect(listB.nth(1)).toHaveAttribute('aria-current', 'true')
    await expect(listB.nth(1)).toBeFocused()
    await shot(guest, 'bulk-import', '#list-h')
    expectNoProblems([host, guest])
  })
  test('the host freezes: the guest sees Reconnecting and the host marked silent, then Connected when it comes back', async ({ newPeerContext }) => {
    // The demo's default heartbeat: silent after 6 s, dropped after 20 s.
    test.setTimeout(90_000)
    const { host, guest } = await aliceAndBob(newPeerContext)

    const thaw = await freezePage(host.page)
    await expect(guest.page.locator('#status')).toHaveText('Reconnecting…', { timeout: 15_000 })
    await expect(guest.page.locator('#state')).toHaveText('reconnecting')
    await expect(guest.page.locator('#peers li[data-rank="0"] .badge.stale')).toHaveText('silent')
    await shot(guest, 'reconnecting')
    await thaw()
    await expect(guest.page.locator('#status')).toHaveText('Connected', { timeout: 15_000 })
    await expect(guest.page.locator('#peers li[data-rank="0"] .badge.stale')).toHaveCount(0)
    await expect(guest.page.locator('#role')).toHaveText('guest')
    expectNoProblems([host, guest])
  })
  test('where others look: outlines on the navigator in each peer’s colour; the host brings everyone to its view (a guest cannot); Catching up… on a long stream', async ({ newPeerContext }) => {
    // Three page loads and two pairings on two busy cores.
    test.setTimeout(120_000)
    const person = async () => open(await newPeerContext())
    const [alice, bob, carol] = await Promise.all([person(), person(), person()])
    await startHosting(alice, 'Alice')
    await expect(alice.page.locator('#bring-here')).toBeHidden()
    await joinFromLink(bob, await createInvite(alice), 'Bob')
    await admit(alice, bob, 'Bob')
    await joinFromLink(carol, await createInvite(alice), 'Carol')
    await admit(alice, carol, 'Carol')
    await expectPeople([alice, bob, carol], ['Alice', 'Bob', 'Carol'])
    const [bobId, carolId] = await Promise.all([bob, carol].map((p) => p.page.evaluate(() => window.SESSION!.getSelf().id)))
    // Only the host has the button; the guests follow her view.
    await expect(alice.page.locator('#bring-here')).toBeVisible()
    for (const { page } of [bob, carol]) await expect(page.locator('#bring-here')).toBeHidden()

    // Bob zooms slide A himself: his view is outlined on the others' navigators of slide A,
    // where he looks, in his colour; not on slide B's.
    await bob.page.locator('#viewer-a [role=application]').focus()
    for (const key of ['Equal', 'Equal', 'Equal', 'KeyW']) {
      const moved = settled(bob.page, 'a')
      await bob.page.keyboard.press(key)
      await moved
    }
    const bobsView = await boundsOf(bob.page, 'a')
    for (const { page } of [alice, carol]) {
      await expect.poll(() => outlineMiss(page, 'a', bobId!, bobsView), 'Bob’s outline on slide A').toBeLessThan(2)
      expect((await outlineOn(page, 'a', bobId!, bobsView))!.colour).toBe(await swatchOf(page, bobId!))
      await expect(page.locator(`#viewer-b .peer-outline[data-peer-id="${bobId}"]`)).toHaveCount(0)
    }
    expect(await swatchOf(alice.page, bobId!)).not.toBe(await swatchOf(alice.page, carolId!))
    await shot(alice, 'outline-on-navigator')

    // Carol follows Bob. Alice zooms slide B and pans slide A, then brings everyone to her view.
    const bobAvatar = carol.page.locator(`#avatars li[data-peer-id="${bobId}"] button.face`)
    await bobAvatar.click()
    await expect(bobAvatar).toHaveAttribute('aria-pressed', 'true')
    await expect.poll(async () => (await boundsOf(carol.page, 'a')).w).toBeCloseTo(bobsView.w, 4)
    for (const [viewer, key] of [['b', 'Equal'], ['a', 'ArrowRight']] as const) {
      await alice.page.locator(`#viewer-${viewer} [role=application]`).focus()
      const moved = settled(alice.page, viewer)
      await alice.page.keyboard.press(key)
      await moved
    }
    const alicesView = { a: await boundsOf(alice.page, 'a'), b: await boundsOf(alice.page, 'b') }
    expect(Math.abs(alicesView.a.x - bobsView.x)).toBeGreaterThan(0.01)
    await alice.page.locator('#bring-here').click()
    for (const { page } of [bob, carol]) {
      for (const viewer of ['a', 'b'] as const) {
        await expect.poll(async () => Math.abs((await boundsOf(page, viewer)).x - alicesView[viewer].x), `slide ${viewer} brought`).toBeLessThan(1e-4)
        expectClose(await boundsOf(page, viewer), alicesView[viewer])
      }
    }
    // Carol no longer follows Bob, and is told why; Bob, who followed nobody, is told too.
    await expect(bobAvatar).toHaveAttribute('aria-pressed', 'false')
    expect(await carol.page.evaluate(() => window.demo.views.followedId())).toBeNull()
    await expect.poll(async () => (await noticesOf(carol)).at(-1)).toBe('Alice brought everyone to their view — no longer following Bob')
    await expect.poll(async () => (await noticesOf(bob)).at(-1)).toBe('Alice brought everyone to their view')
    await expect.poll(async () => (await noticesOf(alice)).at(-1)).toBe('You brought everyone to your view')
    // Where they look now is where Alice looks, and her navigator shows it.
    for (const peerId of [bobId!, carolId!]) await expect.poll(() => outlineMiss(alice.page, 'a', peerId, alicesView.a)).toBeLessThan(2)
    await shot(carol, 'brought-to-host-view')
    await shot(alice, 'outlines-after-bringing-everyone')

    // A guest cannot bring anyone anywhere: the button is not his and the call does nothing;
    // a summon forged by modified code is taken as his view only (his outline moves), never obeyed.
    expect(await bob.page.evaluate(() => window.demo.views.bringEveryoneHere())).toBe(false)
    const forged = { x: 0.05, y: 0.05, w: 0.3, h: 0.2 }
    const noticesBefore = { alice: await noticesOf(alice), carol: await noticesOf(carol) }
    await bob.page.evaluate((view) => {
      const sync = window.demo.views as unknown as { viewport: { emit(delta: object): void } }
      sync.viewport.emit({ viewerId: 'slide-a', ...view, r: 0, summon: Date.now() + 1e6 })
    }, forged)
    for (const { page } of [alice, carol]) {
      await expect.poll(() => outlineMiss(page, 'a', bobId!, forged), 'the forged view arrived').toBeLessThan(2)
      expectClose(await boundsOf(page, 'a'), alicesView.a)
    }
    expect(await noticesOf(alice)).toEqual(noticesBefore.alice)
    expect(await noticesOf(carol)).toEqual(noticesBefore.carol)

    // Bob leaves: his outlines go from every navigator, and the others' from his; Carol's stays.
    await expect(bob.page.locator('.peer-outline')).not.toHaveCount(0)
    await bob.page.locator('#leave').click()
    await expect(bob.page.locator('#state')).toHaveText('idle')
    await expect(bob.page.locator('.peer-outline')).toHaveCount(0)
    for (const { page } of [alice, carol]) await expect(page.locator(`.peer-outline[data-peer-id="${bobId}"]`)).toHaveCount(0)
    await expect(alice.page.locator(`#viewer-a .peer-outline[data-peer-id="${carolId}"]`)).toHaveCount(1)
    // Carol follows Alice again: she no longer looks for herself, and her outline goes.
    await carol.page.locator('#follow-host').check()
    await expect(alice.page.locator(`.peer-outline[data-peer-id="${carolId}"]`)).toHaveCount(0)

    // A long stream of small changes reaches Carol faster than her page applies them (a test
    // module holds the first until released): "Catching up…" while she is behind, gone after.
    await carol.page.evaluate(() => {
      const w = window as unknown as { release: () => void; catchingUpEvents: unknown[] }
      const held = new Promise<void>((resolve) => (w.release = resolve))
      w.catchingUpEvents = []
      window.SESSION!.on('session-catching-up', (event) => w.catchingUpEvents.push(event))
      let applied = 0
      window.SESSION!.registerProvider({
        id: 'e2e-stream', scope: 'global', snapshot: () => null, applySnapshot: () => {}, subscribe: () => () => {},
        applyDelta: () => (applied++ === 0 ? held : undefined),
      })
    })
    await alice.page.evaluate(() => {
      let emit: (delta: object) => void = () => {}
      window.SESSION!.registerProvider({ id: 'e2e-stream', scope: 'global', snapshot: () => null, applySnapshot: () => {}, subscribe: (e) => ((emit = e), () => {}), applyDelta: () => {} })
      for (let i = 0; i < 300; i++) emit({ kind: 'tick', payload: i })
    })
    await expect(carol.page.locator('#catching-up')).toBeVisible()
    await shot(carol, 'catching-up-stream')
    await carol.page.evaluate(() => (window as unknown as { release: () => void }).release())
    await expect(carol.page.locator('#catching-up')).toBeHidden()
    expect(await carol.page.evaluate(() => (window as unknown as { catchingUpEvents: unknown[] }).catchingUpEvents)).toEqual([{ behind: true, pending: 100 }, { behind: false, pending: 10 }])
    for (const { page } of [alice, carol]) await expect(page.locator('#state')).toHaveText('connected')
    expectNoProblems([alice, bob, carol])
  })
})

test.describe('demo app with a relay: one link for many', () => {
  // Each test its own relay on 127.0.0.1 (one of them stops it).
  let relay: RelayServer
  let relayUrl = ''
  let relayUp = false
  test.beforeEach(async () => {
    relay = createRelayServer({ rateLimit: false, log: () => undefined })
    relayUrl = (await relay.listen(0, '127.0.0.1')).url
    relayUp = true
  })
  test.afterEach(async () => {
    if (relayUp) await relay.close()
  })
  /** The demo set up for the relay, as `?relay=` does it. */
  const withRelay = () => `${demo.url}?relay=${relayUrl}`

  /** A guest whose page is open at the demo opens the link (only the fragment changes) and joins with one click. */
  async function joinByRelay(guest: Person, url: string, name: string, places?: string): Promise<void> {
    const { page } = guest
    await page.goto(url)
    await expect(page.locator('#join')).toBeVisible()
    await expect(page.locator('#invite-preview')).toHaveText(new RegExp(`^Alice invites you as an editor${places ? ` · ${places} places free` : ''} · valid until \\d\\d:\\d\\d`))
    await expect(page.locator('#join-hint')).toHaveText('Join, and your answer goes to the host by itself: you are in as soon as they let you in.')
    await page.locator('#name').fill(name)
    await page.locator('#unload-legacy-editor').click()
    await page.locator('#join').click()
    await expect(page.locator('#status')).toHaveText('Joining — waiting for the host to let you in')
    await expect(page.locator('#relay-sent')).toBeVisible()
    // Nothing to send back by hand.
    await expect(page.locator('#answer-box')).toBeHidden()
    await expect(page.locator('#error')).toBeEmpty()
  }

  /** The host sees the guest arrive and lets them in with one click. */
  async function letIn(host: Person, guest: Person, name: string): Promise<void> {
    await expect(host.page.locator('#admit-text')).toHaveText(`${name} wants to join`)
    await host.page.locator('#admit-yes').click()
    for (const { page } of [host, guest]) await expect(page.locator('#state')).toHaveText('connected')
  }

  test('a three-seat room link: two guests join with one click each, the list shows 2 of 3; revoked, the link says so; reissued, a third joins; the relay stops and the host is told', async ({ newPeerContext }) => {
    test.setTimeout(150_000)
    const person = async (options = {}) => open(await newPeerContext(options), withRelay())
    const [alice, bob, carol, dave] = await Promise.all([person(), person(), person(), person({ viewport: { width: 390, height: 844 } })])
    await startHosting(alice, 'Alice')
    const { page } = alice
    await expect(page.locator('#relay-state')).toHaveText('Relay ready — a link you create lets guests in with one click.')
    // Sensible defaults: four seats for an hour.
    await expect(page.locator('#invite-seats')).toHaveValue('4')
    await expect(page.locator('#invite-ttl option:checked')).toHaveText('1 hour')
    await page.locator('#invite-seats').fill('3')
    await page.locator('#invite').click()
    const row = page.locator('#invite-list li').first()
    await expect(row).toHaveAttribute('data-seated', '0/3')
    await expect(row.locator('.head')).toHaveText('Room link · 3 seats for editors')
    await expect(row.locator('.seats')).toHaveText('0 of 3 seats taken')
    await expect(row.locator('.left')).toHaveText('60 min left')
    // The next step is copying the link; the button says it did.
    await expect(row.locator('button.copy')).toBeFocused()
    await expect(row.locator('button.copy')).toHaveText('Copy link')
    await page.keyboard.press('Enter')
    await expect(row.locator('button.copy')).toHaveText('Copied')
    await expect(page.locator('#relay-state')).toHaveText('Relay reachable — waiting for guests on 1 link.')
    // Answers come back by themselves: no paste field in the way.
    await expect(page.locator('#paste-answer')).toBeHidden()
    await expect(page.locator('#invite-box')).toBeHidden()
    // The new controls have names a screen reader reads.
    expect(await unnamedControls(page)).toEqual([])
    const link = await row.locator('input.url').inputValue()
    expect(link).toMatch(/\?relay=http:\/\/127\.0\.0\.1:\d+#session=r\./)
    await shot(alice, 'room-link')

    await joinByRelay(bob, link, 'Bob', '3 of 3')
    await shot(bob, 'room-link-guest-waiting')
    await letIn(alice, bob, 'Bob')
    await expect(row.locator('.seats')).toHaveText('1 of 3 seats taken')
    await joinByRelay(carol, link, 'Carol', '2 of 3')
    await letIn(alice, carol, 'Carol')
    await expect(row).toHaveAttribute('data-seated', '2/3')
    await expect(row.locator('.seats')).toHaveText('2 of 3 seats taken')
    await expectPeople([alice, bob, carol], ['Alice', 'Bob', 'Carol'])
    await expect.poll(() => noticesOf(alice)).toEqual(['Bob joined', 'Carol joined'])
    await shot(alice, 'room-link-two-of-three')

    // Revoked: the link stops working; the row offers to reissue it.
    await row.locator('button.revoke').click()
    await expect(row).toHaveAttribute('data-status', 'revoked')
    await expect(row.locator('.left')).toHaveText('Revoked')
    await expect(row.locator('.message')).toHaveText('You withdrew this invite: its link no longer works.')
    await expect(row.locator('button.copy')).toBeHidden()
    await expect(row.locator('button.reissue')).toBeFocused()
    // Dave (on a phone) opens it: he is told at once, before anything is sent.
    await dave.page.goto(link)
    await expect(dave.page.locator('#error')).toHaveText(/^The host has withdrawn this invite\. Ask them for a new one/)
    await expect(dave.page.locator('#state')).toHaveText('idle')
    expect(await dave.page.evaluate(() => document.documentElement.scrollWidth - innerWidth)).toBeLessThanOrEqual(0)
    await shot(dave, 'room-link-revoked')
    expect(dave.problems.splice(0)).toEqual([expect.stringMatching(/^console error: Failed to load resource: the server responded with a status of 410 .*\(http:\/\/127\.0\.0\.1:\d+\/v1\/invites\//)])

    // Reissued: a new link for three takes the old one's place; Dave gets in with it.
    await row.locator('button.reissue').click()
    const fresh = page.locator('#invite-list li[data-status="open"]')
    await expect(fresh).toHaveCount(1)
    await expect(page.locator('#invite-list li')).toHaveCount(1)
    await expect(fresh.locator('.seats')).toHaveText('0 of 3 seats taken')
    await expect(fresh.locator('button.copy')).toBeFocused()
    await expect(fresh.locator('button.copy')).toHaveText('Copy link')
    const reissued = await fresh.locator('input.url').inputValue()
    expect(reissued).not.toBe(link)
    await shot(alice, 'room-link-reissued')
    await joinByRelay(dave, reissued, 'Dave', '3 of 3')
    await letIn(alice, dave, 'Dave')
    await expectPeople([alice, bob, carol, dave], ['Alice', 'Bob', 'Carol', 'Dave'])
    await expect(fresh.locator('.seats')).toHaveText('1 of 3 seats taken')

    // The relay stops: the host is told in words, and the invite falls back to its code.
    await relay.close()
    relayUp = false
    await expect(page.locator('#relay-state')).toHaveText('Relay unreachable — invites fall back to codes: send the link below, and paste the answer code the guest sends back.', { timeout: 30_000 })
    await expect(page.locator('#paste-answer')).toBeVisible()
    // The paste field is named as its button is.
    await expect(page.locator('#paste-answer label')).toContainText('Add a guest: paste their answer code')
    await expect(page.locator('#add-peer')).toHaveText('Add guest')
    await expect(fresh.locator('input.url')).toHaveValue(/\?relay=http:\/\/127\.0\.0\.1:\d+#session=(?!r\.)[A-Za-z0-9_-]{100,}$/)
    await expect(fresh.locator('button.copy')).toHaveText('Copy link')
    await expect(fresh.locator('.message')).toHaveText(/^The relay is out of reach: this link carries the invite code\./)
    await shot(alice, 'relay-unreachable')
    // A new room link needs the relay: refused in words. One guest at a time still works, by code.
    await page.locator('#invite').click()
    await expect(page.locator('#error')).toHaveText(/^A room link needs the relay, which could not take it: /)
    await page.locator('#invite-seats').fill('1')
    await page.locator('#invite').click()
    const byCode = page.locator('#invite-list li').first()
    await expect(byCode.locator('.head')).toHaveText('Invite link · 1 guest for editors')
    await expect(byCode.locator('.message')).toHaveText("Invite open: send the link, then paste the guest's answer code here.")
    await expect(byCode.locator('input.url')).toHaveValue(/\?relay=http:\/\/127\.0\.0\.1:\d+#session=(?!r\.)[A-Za-z0-9_-]{100,}$/)
    await expect(byCode.locator('button.copy')).toBeFocused()
    await expect(page.locator('#relay-state')).toHaveText(/^Relay unreachable — invites fall back to codes/)
    // The host's only complaints are the relay's refused requests (its polls, the two new links), and the
    // long-poll the relay's stop cut if one was open then (reset); nobody else has any.
    expect(alice.problems.length).toBeGreaterThan(2)
    expect(alice.problems.filter((p) => !/^console error: Failed to load resource: net::ERR_CONNECTION_(REFUSED|RESET) \(http:\/\/127\.0\.0\.1:\d+\/v1\/(answers|invites)/.test(p))).toEqual([])
    expectNoProblems([bob, carol, dave])
  })

  test('a relayed answer the host does not pick up: the guest is told in words and can send the code by hand; the host wakes and lets them in', async ({ newPeerContext }) => {
    // The library's default wait for the host to pick up a relayed answer is 30 s.
    test.setTimeout(120_000)
    const person = async (options = {}) => open(await newPeerContext(options), withRelay())
    // Alice hosts from a phone.
    const [alice, bob] = await Promise.all([person({ viewport: { width: 390, height: 844 } }), person()])
    await startHosting(alice, 'Alice')
    // One seat: an invite link for one guest, through the relay all the same.
    await alice.page.locator('#invite-seats').fill('1')
    await alice.page.locator('#invite').click()
    const row = alice.page.locator('#invite-list li').first()
    await expect(row.locator('.head')).toHaveText('Invite link · 1 guest for editors')
    await expect(row.locator('.seats')).toHaveText('Not used yet')
    await expect(alice.page.locator('#relay-state')).toHaveText('Relay reachable — waiting for guests on 1 link.')
    // The list fits the phone: nothing cut off, nothing scrolls sideways.
    expect(await alice.page.evaluate(() => document.documentElement.scrollWidth - innerWidth)).toBeLessThanOrEqual(0)
    for (const button of await row.locator('button').all()) await expect(button).toBeInViewport()
    await shot(alice, 'room-link-phone', '#invite-list')
    const link = await row.locator('input.url').inputValue()

    // Alice's page is asleep when Bob answers.
    const thaw = await freezePage(alice.page)
    await joinByRelay(bob, link, 'Bob')
    await expect(bob.page.locator('#error')).toHaveText(
      'Your answer reached the relay, but the host has not picked it up in 30 s: their page may be closed, asleep or offline. Keep this page open to go on waiting, or copy your answer code and send it to the host to paste.',
      { timeout: 45_000 },
    )
    await expect(bob.page.locator('#answer-code')).toHaveValue(/^[A-Za-z0-9_-]{100,}$/)
    await bob.page.locator('#copy-answer').click()
    await expect(bob.page.locator('#copy-answer')).toHaveText('Copied')
    await expect(bob.page.locator('#state')).toHaveText('joining')
    await shot(bob, 'answer-unclaimed')

    // She wakes: the answer was waiting on the relay, and Bob is let in with one click.
    await thaw()
    await letIn(alice, bob, 'Bob')
    await expect(row).toHaveCount(0)
    await expect(bob.page.locator('#error')).toBeEmpty()
    await expect(bob.page.locator('#answer-box')).toBeHidden()
    await expectPeople([alice, bob], ['Alice', 'Bob'])

    // A link of a session that has ended since: whoever opens it is told at once, before joining.
    // Its publish is held at the relay's door: until the relay has it, the row offers no link to copy
    // (its paste form would seat one guest, not two) and no paste field shows.
    let publish: () => Promise<void> = async () => undefined
    const held = new Promise<void>((resolve) =>
      alice.page.route('**/v1/invites', (route) => {
        publish = () => route.continue()
        resolve()
      }, { times: 1 }),
    )
    await alice.page.locator('#invite-seats').fill('2')
    await alice.page.locator('#invite').click()
    await held
    await expect(row.locator('.seats')).toHaveText('0 of 2 seats taken')
    await expect(row.locator('.message')).toHaveText('Putting the link on the relay…')
    await expect(row.locator('input.url')).toBeHidden()
    await expect(row.locator('button.copy')).toBeHidden()
    await expect(alice.page.locator('#paste-answer')).toBeHidden()
    await publish()
    await expect(row.locator('button.copy')).toBeFocused()
    await expect(row.locator('input.url')).toHaveValue(/#session=r\./)
    const stale = await row.locator('input.url').inputValue()
    await alice.page.locator('#end').click()
    await alice.page.locator('#confirm-yes').click()
    for (const { page } of [alice, bob]) await expect(page.locator('#state')).toHaveText('idle')
    // Ending withdrew the link on the relay.
    const staleId = /#session=r\.([A-Za-z0-9_-]{22})\./.exec(stale)![1]!
    await expect.poll(() => relay.store.read(staleId, Date.now())).toEqual({ state: 'revoked' })
    await bob.page.goto(stale)
    await expect(bob.page.locator('#error')).toHaveText(/^The host has withdrawn this invite\. Ask them for a new one/)
    await expect(bob.page.locator('#answer-code')).toHaveValue('')
    await shot(bob, 'stale-room-link')
    expect(bob.problems.splice(0)).toEqual([expect.stringMatching(/^console error: Failed to load resource: the server responded with a status of 410 /)])
    expectNoProblems([alice, bob])
  })
})
