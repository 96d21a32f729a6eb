/**
 * The Session card, the status bar and the People list: everything a person needs to
 * start, invite, join, leave and see who is there. Every action's error lands in #error.
 */
import { IncompatibleModulesError, InviteError, InviteTooLongError, SessionLockedError, type SessionSyncController } from '../src/index.js'
import { colourOf } from './colours.js'
import { $, h } from './dom.js'

export interface SessionUiOptions {
  /** Creates and installs the page's controller on first use (see main.ts for why). */
  session: () => SessionSyncController
  /** True once the controller exists. */
  installed: () => boolean
  hasIceServers: boolean
  setFollowHost: (on: boolean) => void
  /** The state to download on "Save & end". */
  saveState: () => unknown
}

const STATUS: Record<string, [string, string]> = {
  idle: ['Not in a session', ''],
  hosting: ['Hosting — waiting for a guest’s answer code', 'wait'],
  joining: ['Joining…', 'wait'],
  connected: ['Connected', 'ok'],
  reconnecting: ['Reconnecting…', 'wait'],
  leaving: ['Leaving…', 'wait'],
}

export function sessionUi(options: SessionUiOptions) {
  const el = {
    name: $<HTMLInputElement>('#name'),
    start: $<HTMLButtonElement>('#start'),
    hostStart: $('#host-start'),
    joinPanel: $('#join-panel'),
    join: $<HTMLButtonElement>('#join'),
    answerBox: $('#answer-box'),
    answerCode: $<HTMLTextAreaElement>('#answer-code'),
    hostPanel: $('#host-panel'),
    invite: $<HTMLButtonElement>('#invite'),
    inviteBox: $('#invite-box'),
    inviteUrl: $<HTMLInputElement>('#invite-url'),
    inviteExpiry: $('#invite-expiry'),
    answerInput: $<HTMLTextAreaElement>('#answer-input'),
    addPeer: $<HTMLButtonElement>('#add-peer'),
    inSession: $('#in-session'),
    end: $<HTMLButtonElement>('#end'),
    saveEnd: $<HTMLButtonElement>('#save-end'),
    status: $('#status'),
    state: $('#state'),
    role: $('#role'),
    peers: $('#peers'),
    progress: $<HTMLProgressElement>('#progress'),
    error: $('#error'),
    diagnostics: $('#diagnostics'),
    iceNotice: $('#ice-notice'),
  }
  el.name.value = `Guest ${1 + Math.floor(Math.random() * 99)}`
  el.iceNotice.hidden = options.hasIceServers
  const invitedTo = () => (location.hash.startsWith('#session=') ? location.hash : null)
  let statusOverride: [string, string] | null = null
  let inviteExpiresAt = 0

  // ---- errors and diagnostics

  function showError(error: unknown): void {
    el.error.textContent = describe(error)
  }
  function clearError(): void {
    el.error.textContent = ''
  }
  /** Runs a button's action, with its error (if any) shown instead of thrown. */
  function action(button: HTMLButtonElement, run: () => Promise<void> | void): void {
    button.addEventListener('click', async () => {
      clearError()
      button.disabled = true
      try {
        await run()
      } catch (error) {
        showError(error)
      } finally {
        button.disabled = false
        render()
      }
    })
  }
  function diagnostic(code: string, message: string): void {
    el.diagnostics.prepend(h('li', {}, h('b', {}, code), ' ', message))
    while (el.diagnostics.children.length > 50) el.diagnostics.lastElementChild!.remove()
  }

  // ---- rendering

  function render(): void {
    const session = options.installed() ? options.session() : null
    const state = session?.getState() ?? 'idle'
    const role = session?.getRole() ?? null
    el.state.textContent = state
    el.role.textContent = role ?? 'none'
    const [text, tone] = statusOverride ?? STATUS[state] ?? [state, '']
    el.status.textContent = text
    el.status.dataset.tone = tone
    const idle = state === 'idle'
    el.name.disabled = !idle || !!session
    el.name.title = session ? 'Your name is fixed once you have started or joined; reload the page to change it.' : ''
    el.hostStart.hidden = !idle || !!invitedTo()
    el.joinPanel.hidden = !invitedTo() || (!idle && role !== 'guest') || role === 'host'
    el.join.hidden = !idle
    el.answerBox.hidden = !(role === 'guest' && el.answerCode.value)
    el.hostPanel.hidden = role !== 'host'
    el.inSession.hidden = idle
    el.end.hidden = el.saveEnd.hidden = role !== 'host'
    if (idle) {
      el.inviteBox.hidden = true
      el.progress.hidden = true
    }
    renderPeers(session)
  }

  function renderPeers(session: SessionSyncController | null): void {
    const peers = session?.getPeers() ?? []
    if (!peers.length) {
      el.peers.replaceChildren(h('li', { className: 'muted empty' }, 'Nobody yet — start or join a session.'))
      return
    }
    el.peers.replaceChildren(
      ...peers.map((peer) => {
        const isHost = peer.rank === 0
        const swatch = h('span', { className: 'swatch' })
        swatch.style.background = colourOf(peer.id)
        const rtt = peer.self ? '—' : peer.rtt !== undefined ? `${Math.round(peer.rtt)} ms` : 'measuring'
        return h(
          'li',
          { className: isHost ? 'host' : '', dataset: { peerId: peer.id, role: peer.role, rank: String(peer.rank) } },
          swatch,
          h('span', { className: 'name' }, peer.name, peer.self ? ' (you)' : ''),
          h('span', {}, h('span', { className: `badge ${isHost ? 'host' : ''}` }, isHost ? 'host' : peer.role), ...(peer.stale ? [' ', h('span', { className: 'badge stale' }, 'silent')] : [])),
          h(
            'span',
            { className: 'meta' },
            `rank ${peer.rank} · RTT ${rtt} · candidate ${peer.self ? '—' : peer.linked ? 'n/a' : 'via host'}`,
          ),
        )
      }),
    )
  }

  function renderExpiry(): void {
    if (!inviteExpiresAt) return
    const left = Math.max(0, inviteExpiresAt - Date.now())
    el.inviteExpiry.textContent = left ? `Expires in ${Math.floor(left / 60_000)}:${String(Math.floor(left / 1000) % 60).padStart(2, '0')}` : 'Expired — create a new invite'
  }
  setInterval(() => {
    renderExpiry()
    // RTT and "silent" change without an event.
    if (options.installed()) renderPeers(options.session())
  }, 1000)

  // ---- wiring the controller's events (once it exists)

  function attach(session: SessionSyncController): void {
    session.on('session-state-changed', ({ state }) => {
      // "Session ended: …" and "Host lost…" stay up until something new happens.
      if (state === 'hosting' || state === 'joining' || state === 'connected') statusOverride = null
      render()
    })
    session.on('session-started', () => {
      statusOverride = null
      render()
    })
    session.on('session-host-lost', () => {
      statusOverride = ['Host lost — electing a new host', 'bad']
      render()
    })
    session.on('session-ended', ({ reason }) => {
      statusOverride = [`Session ended: ${reason}`, reason === 'left' || reason === 'ended' || reason === 'saved' ? '' : 'bad']
      el.answerCode.value = ''
      inviteExpiresAt = 0
      render()
    })
    for (const type of ['session-peer-joined', 'session-peer-dropped', 'session-role-changed', 'session-reconnecting'] as const) session.on(type, () => render())
    session.on('session-bootstrap-progress', ({ bytes, total }) => {
      el.progress.hidden = false
      el.progress.max = Math.max(total, 1)
      el.progress.value = bytes
    })
    session.on('session-bootstrap-complete', () => {
      el.progress.hidden = true
    })
    session.on('session-diagnostic', ({ code, message }) => diagnostic(code, message))
  }

  // ---- actions

  action(el.start, async () => {
    const session = options.session()
    await session.start()
  })

  action(el.invite, async () => {
    let invite
    try {
      invite = await options.session().createInvite()
    } catch (error) {
      if (!(error instanceof InviteTooLongError)) throw error
      // Too long for a link: the bare code still works, pasted on the guest's side.
      invite = error.invite
      showError(error)
    }
    el.inviteUrl.value = invite.url
    el.inviteBox.hidden = false
    inviteExpiresAt = invite.expiresAt
    renderExpiry()
    el.inviteUrl.select()
  })

  action($<HTMLButtonElement>('#copy-invite'), () => copy(el.inviteUrl))
  action($<HTMLButtonElement>('#copy-answer'), () => copy(el.answerCode))

  action(el.addPeer, async () => {
    const code = el.answerInput.value.trim()
    if (!code) throw new Error('Paste the answer code the guest sent back first.')
    await options.session().acceptAnswer(code)
    el.answerInput.value = ''
  })

  action(el.join, async () => {
    const fragment = invitedTo()
    if (!fragment) throw new Error('This page was not opened from an invite link.')
    const { answerCode } = await options.session().join(location.href)
    el.answerCode.value = answerCode
    el.answerBox.hidden = false
    el.answerCode.select()
  })

  action($<HTMLButtonElement>('#leave'), () => options.session().leave())
  action(el.end, () => options.session().end())
  action(el.saveEnd, async () => {
    const session = options.session()
    const state = { savedAt: new Date().toISOString(), sessionId: session.sessionId, peers: session.getPeers(), ...(options.saveState() as object) }
    download(`session-${session.sessionId ?? 'state'}.json`, JSON.stringify(state, null, 2))
    await session.end('saved')
  })

  $<HTMLInputElement>('#follow-host').addEventListener('change', (e) => options.setFollowHost((e.target as HTMLInputElement).checked))
  window.addEventListener('hashchange', render)

  render()
  return { attach, render, showError, clearError }
}

/** A message a person can act on, for anything thrown. */
export function describe(error: unknown): string {
  if (error instanceof IncompatibleModulesError) return `${error.message}\n(Use “Unload” in the Modules card.)`
  if (error instanceof InviteError || error instanceof SessionLockedError) return error.message
  if (error instanceof Error) return error.message
  return String(error)
}

async function copy(field: HTMLInputElement | HTMLTextAreaElement): Promise<void> {
  field.select()
  try {
    await navigator.clipboard.writeText(field.value)
  } catch {
    // Clipboard permission denied (e.g. not focused): fall back to the selection.
    document.execCommand('copy')
  }
}

function download(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }))
  const a = h('a', { href: url, download: name })
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}
