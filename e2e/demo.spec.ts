/**
 * The demo app (demo/) driven the way a person uses it: clicks, typing, pasting codes,
 * over real WebRTC in Chromium (loopback only, see run-isolated.sh). Each person is their
 * own browser context. The demo is served by a Vite server this file starts itself
 * (e2e/demo.vite.config.ts). Screenshots: test-results/demo/*.png.
 */
import { fileURLToPath } from 'node:url'
import type { BrowserContext, Page } from '@playwright/test'
import { createServer, type ViteDevServer } from 'vite'
import { demoServerConfig } from './demo.vite.config.js'
import { expect, selectedPairAddresses, test } from './fixtures.js'

const SHOTS = fileURLToPath(new URL('../test-results/demo/', import.meta.url))

let server: ViteDevServer
let demoUrl: string

test.beforeAll(async () => {
  server = await createServer({ configFile: false, ...demoServerConfig() })
  await server.listen()
  demoUrl = server.resolvedUrls!.local[0]!
})

test.afterAll(async () => {
  await server?.close()
})

/** One person's page, with everything it complained about. */
interface Person {
  page: Page
  /** Console errors and uncaught exceptions, in order. */
  problems: string[]
  /** Text of every dialog (all accepted: the undeclared-modules confirm). */
  dialogs: string[]
}

async function open(context: BrowserContext, url = demoUrl): Promise<Person> {
  const page = await context.newPage()
  const person: Person = { page, problems: [], dialogs: [] }
  page.on('console', (message) => {
    if (message.type() === 'error') person.problems.push(`console: ${message.text()}`)
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
  return person
}

/** The whole window, its side panel scrolled back to the Session card. */
async function shot(person: Person, name: string): Promise<void> {
  await person.page.locator('#session-h').scrollIntoViewIfNeeded()
  await person.page.screenshot({ path: `${SHOTS}${name}.png` })
}

/** Types a name, finds Start refused because of legacy-editor, unloads it, starts. */
async function startHosting(host: Person, name: string): Promise<void> {
  const { page } = host
  await page.locator('#name').fill(name)
  await page.locator('#start').click()
  await expect(page.locator('#error')).toContainText('legacy-editor')
  await expect(page.locator('#state')).toHaveText('idle')
  await page.locator('#unload-legacy').click()
  await expect(page.locator('#unload-legacy')).toHaveCount(0)
  await page.locator('#start').click()
  await expect(page.locator('#state')).toHaveText('hosting')
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
  await page.locator('#copy-invite').click()
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
  await page.locator('#unload-legacy').click()
  await page.locator('#join').click()
  await expect(page.locator('#answer-code')).toHaveValue(/^[A-Za-z0-9_-]{100,}$/)
  await expect(page.locator('#state')).toHaveText('joining')
  await expect(page.locator('#role')).toHaveText('guest')
  await page.locator('#copy-answer').click()
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
  for (const { page } of [host, guest]) await expect(page.locator('#state')).toHaveText('connected')
  await expect(host.page.locator('#answer-input')).toHaveValue('')
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
  // No console error or uncaught exception is expected in a normal session: nothing is allowed.
  expect(people.flatMap((p) => p.problems)).toEqual([])
}

test.describe('demo app, driven through its UI', () => {
  test('host and guest connect by link and code, share a rectangle and a layer toggle; plugins are locked', async ({ newPeerContext }) => {
    // Two page loads and a WebRTC pairing on two cores shared with other browsers: 20-40 s.
    test.setTimeout(90_000)
    const [host, guestContext] = await Promise.all([open(await newPeerContext()), newPeerContext()])
    await startHosting(host, 'Alice')
    await expect(host.page.locator('#ice-notice')).toBeVisible()
    await expect(host.page.locator('#ice-notice')).toContainText('No ICE servers')

    const url = await createInvite(host)
    expect(url.startsWith(`${demoUrl}#session=`)).toBe(true)
    const guest = await joinFromLink(guestContext, url, 'Bob')
    await admit(host, guest, 'Bob')
    await expectPeople([host, guest], ['Alice', 'Bob'])
    for (const { page } of [host, guest]) {
      for (const pair of await selectedPairAddresses(page)) expect(pair).toMatchObject({ local: '127.0.0.1', remote: '127.0.0.1' })
    }

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

  test('three people: a second guest joins the same way; the host ends it for everyone', async ({ newPeerContext }) => {
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
    await shot(host, 'connected')

    await host.page.locator('#end').click()
    for (const { page } of [host, bob, carol]) {
      await expect(page.locator('#state')).toHaveText('idle')
      await expect(page.locator('#role')).toHaveText('none')
      await expect(page.locator('#peers li[data-peer-id]')).toHaveCount(0)
    }
    for (const { page } of [bob, carol]) await expect(page.locator('#status')).toHaveText(/^Session ended: .*host.*end/i)
    await expect(host.page.locator('#status')).toHaveText(/^Session ended/)
    await shot(bob, 'ended')
    expectNoProblems([host, bob, carol])
  })

  test('a damaged invite link gives a readable error and the guest stays idle', async ({ newPeerContext }) => {
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
    await page.locator('#unload-legacy').click()
    await page.locator('#join').click()
    await expect(page.locator('#error')).toHaveText(/invite link is damaged or incomplete.*Ask the host/)
    await expect(page.locator('#state')).toHaveText('idle')
    await expect(page.locator('#role')).toHaveText('none')
    await expect(page.locator('#answer-code')).toHaveValue('')
    await expect(page.locator('#join')).toBeEnabled()
    await shot(guest, 'damaged-invite')
  })
})
