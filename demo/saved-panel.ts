/**
 * The Saved sessions card and the note shown after a reload, on the library's public API
 * only (`session.saved`, `session.resume()`): save the slides' state under a name, open one
 * again as a new live session, clone, remove, import a "Save & end" file.
 */
import type { SavedSummary, SessionSyncController } from '../src/index.js'
import { h } from './dom.js'

export function savedPanel(session: SessionSyncController, panel: HTMLElement): void {
  const list = h('ul', { className: 'saved-list', ariaLabel: 'Saved sessions' })
  const note = h('p', { className: 'muted', role: 'status', id: 'saved-note' })
  const name = h('input', { type: 'text', id: 'saved-name', placeholder: 'Name', ariaLabel: 'Name to save under', maxLength: 80 })
  const saveAs = h('button', { type: 'button', id: 'saved-save', textContent: 'Save here' })
  const file = h('input', { type: 'file', id: 'saved-import', accept: 'application/json,.json', ariaLabel: 'Import a saved file' })
  const card = h('section', { className: 'card', id: 'saved-card' },
    h('h2', { textContent: 'Saved sessions' }), note,
    h('div', { className: 'row' }, name, saveAs),
    h('label', { className: 'muted' }, 'Import a saved file ', file),
    list)
  panel.append(card)

  const say = (text: string) => (note.textContent = text)
  const act = (run: () => Promise<unknown>, done: string) => async () => {
    try {
      await run()
      say(done)
    } catch (error) {
      say(messageOf(error))
    }
    await refresh()
  }

  function row(saved: SavedSummary): HTMLLIElement {
    const when = new Date(saved.savedAt).toLocaleString()
    const who = saved.peers.map((p) => `${p.name}${p.role === 'host' ? ' (host)' : ''}`).join(', ')
    const open = h('button', { type: 'button', textContent: 'Open', disabled: session.isActive(), title: 'Host a new live session from this state' })
    const clone = h('button', { type: 'button', textContent: 'Clone' })
    const remove = h('button', { type: 'button', textContent: 'Remove' })
    open.addEventListener('click', act(() => session.saved.open(saved.name), `Hosting "${saved.name}" as a new session: invite people from Share.`))
    clone.addEventListener('click', act(() => session.saved.clone(saved.name, `${saved.name} (copy ${new Date().toLocaleTimeString()})`), `Cloned "${saved.name}".`))
    remove.addEventListener('click', act(() => session.saved.remove(saved.name), `Removed "${saved.name}".`))
    return h('li', { dataset: { name: saved.name } },
      h('strong', { textContent: saved.name }), ' ',
      h('small', { className: 'muted', textContent: `${when} · ${Math.ceil(saved.size / 1024)} KB · ${who || 'no one'}` }), ' ',
      open, clone, remove)
  }

  async function refresh(): Promise<void> {
    try {
      const all = await session.saved.list()
      list.replaceChildren(...all.map(row))
      if (!all.length) list.append(h('li', { className: 'muted', textContent: 'Nothing saved in this browser yet.' }))
    } catch (error) {
      say(messageOf(error))
    }
  }

  saveAs.addEventListener('click', act(() => session.saved.saveAs(name.value), `Saved as "${name.value.trim()}".`))
  file.addEventListener('change', act(async () => {
    const chosen = file.files?.[0]
    file.value = ''
    if (chosen) await session.saved.importFile(chosen, chosen.name.replace(/\.json$/i, ''))
  }, 'Imported: open it to host it again.'))
  for (const type of ['session-started', 'session-ended'] as const) session.on(type, () => void refresh())
  void refresh()

  // Back from a reload: the journal brings this tab's session back (the page keeps who you
  // were and your unsent changes); opening a fresh invite rejoins it as the same person.
  session.resume().then(
    (resumed) => resumed && say(`Back from a reload in session ${resumed.sessionId}: open a fresh invite link from whoever hosts it now, and you rejoin as "${session.getSelf().name}" with your unsent changes.`),
    (error: unknown) => say(messageOf(error)),
  )
  session.on('session-started', ({ sessionId }) => {
    if (note.textContent?.startsWith('Back from a reload')) say(`Resumed session ${sessionId}.`)
  })
}

/** The library's errors say what to do in their message. */
function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
