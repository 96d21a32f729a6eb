/**
 * The demo's Saved sessions card (demo/saved-panel.ts) in Chromium: save, clone, remove,
 * a taken name refused, open a saved state as a new live session, import a saved file,
 * and the note a reloaded tab shows.
 */
import { fileURLToPath } from 'node:url'
import type { Page } from '@playwright/test'
import { serveDemo } from './demo-server.js'
import { expect, test } from './fixtures.js'

const demo = serveDemo()

/** Start is refused while Legacy editor is loaded: unload it from the error's own button. */
async function unloadLegacyEditor(page: Page): Promise<void> {
  await page.locator('#start').click()
  await expect(page.locator('#error')).toContainText('Legacy editor cannot take part')
  await page.locator('#error-fix [data-unload="legacy-editor"]').click()
  await expect(page.locator('#error-fix')).toBeHidden()
}

/** Start, past the module checks (legacy-editor unloaded, the undeclared module confirmed). */
async function host(page: Page): Promise<void> {
  page.on('dialog', (dialog) => void dialog.accept())
  await page.locator('#name').fill('Ada')
  await unloadLegacyEditor(page)
  await page.locator('#start').click()
  await expect(page.locator('#state')).toHaveText('hosting')
}

const row = (page: Page, name: string) => page.locator(`#saved-card li[data-name="${name}"]`)

test('saved sessions through the demo: save, clone, remove, open, import; the note after a reload', async ({ newPeerContext }) => {
  const page = await (await newPeerContext()).newPage()
  await page.goto(demo.url)
  await expect(page.locator('#state')).toHaveText('idle')
  await expect(page.locator('#saved-card')).toContainText('Nothing saved in this browser yet.')
  await host(page)
  const state = await page.evaluate(() => window.SESSION!.save())

  await page.locator('#saved-name').fill('review')
  await page.locator('#saved-save').click()
  await expect(row(page, 'review')).toContainText('Ada (host)')
  await page.locator('#saved-save').click()
  await expect(page.locator('#saved-note')).toContainText('exists already')
  await row(page, 'review').getByRole('button', { name: 'Clone' }).click()
  await expect(page.locator('#saved-card li[data-name^="review (copy"]')).toHaveCount(1)
  await page.locator('#saved-card li[data-name^="review (copy"]').getByRole('button', { name: 'Remove' }).click()
  await expect(page.locator('#saved-card li[data-name]')).toHaveCount(1)

  // A reload while hosting: the tab finds its session again and says what to do.
  await page.reload()
  await expect(page.locator('#saved-note')).toContainText('Back from a reload')
  await expect(page.locator('#state')).toHaveText('idle')

  // Open the saved state: a new live session, hosted here, with that state (past the module check again).
  await unloadLegacyEditor(page)
  await row(page, 'review').getByRole('button', { name: 'Open' }).click()
  await expect(page.locator('#state')).toHaveText('hosting')
  const opened = await page.evaluate(() => window.SESSION!.save())
  expect(opened.sessionId).not.toBe(state.sessionId)
  expect(opened.digest).toBe(state.digest)

  // Import a "Save & end" file.
  await page.locator('#saved-import').setInputFiles({ name: 'slides.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify({ final: true, ...state, peers: [{ id: 'u1', name: 'Ada', role: 'host' }] })) })
  await expect(row(page, 'slides')).toContainText('Ada (host)')
  await expect(page.locator('#saved-note')).toContainText('Imported')
  await page.locator('#saved-card').scrollIntoViewIfNeeded()
  await page.screenshot({ path: fileURLToPath(new URL('../test-results/demo/saved-sessions.png', import.meta.url)) })
})
