/**
 * A provider written to the published SessionSyncProvider contract, field for field
 * (test/helpers/contract-board.ts), unchanged, on controllers made with no arguments, in
 * two Chromium pages over real WebRTC: bootstrap, per-viewer deltas to the right viewer,
 * sourceUserId filled with the author, meta.bootstrap true only before the snapshot.
 */
import { expect, test } from './fixtures.js'
import { diagnosticsOf, openLivePage } from './pages/live.driver.js'
import type { BoardName } from './pages/contract.js'

const notesOf = (board: string) => window.contract.notes(board as BoardName)

test('contract-written providers sync, per viewer and global, with the session\'s fields filled in', async ({ newPeerContext }) => {
  const errors: string[] = []
  const host = await openLivePage(await newPeerContext(), '/contract.html?name=Ada', errors)
  const guest = await openLivePage(await newPeerContext(), '/contract.html?name=Bo', errors)
  const [adaId, boId] = await Promise.all([host, guest].map((page) => page.evaluate(() => window.live.selfId())))
  // No ICE servers by default: the notice a UI shows.
  expect(await guest.evaluate(() => window.live.notice())).toMatch(/No ICE servers/)

  await host.evaluate(() => {
    window.contract.write('notes', 'stain', 'H&E', 'right')
    window.contract.write('title', 'case', 'S-17')
  })
  await host.evaluate(() => window.live.start())

  // The host's notes snapshot waits (already read) while its pointer moves: the guest gets
  // that view delta before its state, with meta.bootstrap.
  await host.evaluate(() => window.contract.hold('notes'))
  const fragment = await host.evaluate(() => window.live.invite())
  const answer = await guest.evaluate((f) => window.live.join(f), fragment)
  await host.evaluate((code) => window.live.accept(code), answer)
  await expect.poll(() => host.evaluate(() => window.live.peers().length)).toBe(2)
  await host.evaluate(() => window.contract.write('pointer', 'at', '10,20', 'left'))
  await expect.poll(() => guest.evaluate(() => window.contract.applied('pointer').length)).toBe(1)
  expect(await guest.evaluate(() => window.live.state())).toBe('joining')
  const [early] = await guest.evaluate(() => window.contract.applied('pointer'))
  expect(early!.meta).toMatchObject({ bootstrap: true, origin: adaId, viewer: 'left' })
  expect(early!.delta).toMatchObject({ providerId: 'pointer', viewerUniqueId: 'left', sourceUserId: adaId, kind: 'note-set' })

  await host.evaluate(() => window.contract.release('notes'))
  await expect.poll(() => guest.evaluate(() => window.live.state())).toBe('connected')
  expect((await guest.evaluate(notesOf, 'notes')).right).toEqual({ stain: 'H&E' })
  expect((await guest.evaluate(notesOf, 'title'))['*']).toEqual({ case: 'S-17' })

  // A guest's per-viewer change reaches the host's left viewer, in the guest's name.
  await guest.evaluate(() => window.contract.write('notes', 'grade', '2', 'left'))
  await expect.poll(async () => (await host.evaluate(notesOf, 'notes')).left).toEqual({ grade: '2' })
  expect((await host.evaluate(notesOf, 'notes')).right).toEqual({ stain: 'H&E' })
  const [atHost] = await host.evaluate(() => window.contract.applied('notes'))
  expect(atHost!.delta).toMatchObject({ providerId: 'notes', viewerUniqueId: 'left', sourceUserId: boId, kind: 'note-set', payload: { key: 'grade', value: '2' } })
  expect(atHost!.delta.intentId).toMatch(/^[\w-]{16}$/)
  expect(atHost!.meta).toMatchObject({ remote: true, origin: boId, role: 'host', viewer: 'left', bootstrap: false })

  // The host's global change: an authoritative delta, with its sequence number, in the host's name.
  await host.evaluate(() => window.contract.write('title', 'case', 'S-18'))
  await expect.poll(async () => (await guest.evaluate(notesOf, 'title'))['*']).toEqual({ case: 'S-18' })
  const title = (await guest.evaluate(() => window.contract.applied('title'))).at(-1)!
  expect(title.delta).toMatchObject({ providerId: 'title', sourceUserId: adaId, seq: expect.any(Number), intentId: expect.stringMatching(/^[\w-]{16}$/) })
  expect(title.meta).toMatchObject({ role: 'guest', origin: adaId, bootstrap: false, seq: title.delta.seq })

  // And the pointer again, now that the guest has its state: no longer bootstrap.
  await host.evaluate(() => window.contract.write('pointer', 'at', '30,40', 'right'))
  await expect.poll(async () => (await guest.evaluate(notesOf, 'pointer')).right).toEqual({ at: '30,40' })
  const pointers = await guest.evaluate(() => window.contract.applied('pointer'))
  expect(pointers.map((c) => c.meta.bootstrap)).toEqual([true, false])
  expect(pointers[1]!.delta.intentId).toBeUndefined()

  for (const page of [host, guest]) expect(await diagnosticsOf(page)).toEqual([])
  expect(errors).toEqual([])
})
