/**
 * The Session card, the status bar and the People list: everything a person needs to
 * start, invite, join, leave and see who is there. Every action's error lands in #error.
 */
import {
  ICE_FAILURES,
  IncompatibleModulesError,
  InviteError,
  InviteTooLongError,
  parseRelayFragment,
  SessionLockedError,
  SessionStateError,
  type PeerInfo,
  type SessionAccess,
  type SessionPeer,
  type SessionSyncController,
} from '../src/index.js'
import { colourOf } from './colours.js'
import { ask, type Question } from './confirm.js'
import { copy } from './copy.js'
import { $, h } from './dom.js'
import { download } from './download.js'
import { bytes, fileSafe } from './format.js'
import { inviteList } from './invite-list.js'
import { invitePreview } from './invite-preview.js'
import { bootstrapProgress } from './progress.js'
import { relayIndicator } from './relay-state.js'

export interface SessionUiOptions {
  /** The page's controller (`window.SESSION`). */
  session: SessionSyncController
  /** Called with the typed name just before Start or Join. */
  setName: (name: string) => void
  hasIceServers: boolean
  setFollowHost: (on: boolean) => void
  /** The demo's own summary (viewports, annotations…) to download with the library's final save. */
  saveState: () => unknown
  /** A signalling relay is configured (`?relay=`): invites are one click, a room link seats several guests. */
  relay: boolean
  /** Asked before joining: false stops the join (e.g. the person wants to keep their work). */
  beforeJoin: () => Promise<boolean>
  /** The name a module goes by in the Modules card. */
  moduleLabel: (id: string) => string
  /** Unloads a module, from the error that says it is in the way. */
  unloadModule: (id: string) => void
}

/**
 * Joins that fail: what happened and what to do, said at once where the person looks first
 * (the error line under the Join button), not only in the status bar.
 */
const JOIN_FAILED: Record<string, string> = {
  // Without ICE servers the transport knows within seconds that nobody answers at the invite's addresses.
  'ice-no-servers':
    'Could not reach the host: the session this invite was for has ended, or the host’s page was closed — or the host is on another network, and without a STUN server only people on the host’s network can join. Ask the host for a new invite link (an invite works once, for one session).',
  'ice-needs-turn': ICE_FAILURES['ice-needs-turn'],
  'ice-failed': ICE_FAILURES['ice-failed'],
  'ice-unanswered': ICE_FAILURES['ice-unanswered'],
  'join-failed': 'Could not reach the host. Ask the host for a new invite link (an invite works once, for one session).',
  'join-timeout': 'The host did not add you in time. Ask the host for a new invite link.',
  'host-lost': 'The host left before you had joined. Ask for a new invite link.',
  refused: 'The host did not let you in.',
}

/** Why a session ended, as a person would say it. */
const ENDED: Record<string, string> = {
  'host-ended': 'the host ended it',
  removed: 'the host removed you',
  refused: 'the host did not let you in',
  saved: 'saved by the host',
  'host-lost': 'the host left before you had joined',
  'join-timeout': 'the host did not add you in time',
  'join-failed': 'the host could not be reached',
  'ice-no-servers': 'the host could not be reached',
  'ice-needs-turn': 'a NAT between you and the host allows no direct link: a TURN server is needed',
  isolated: 'the host left, and too few of the others could be reached to go on without it — ask for a new invite',
  'host-unreachable': 'you lost your link to the host while the others still reach it — ask for a new invite',
  'no-new-host': 'no new host could be agreed on — ask for a new invite',
  'cut-off': 'you were out of touch with most of the session for too long — ask for a new invite',
}

const STATUS: Record<string, [string, string]> = {
  idle: ['Not in a session', ''],
  hosting: ['Hosting — waiting for a guest’s answer code', 'wait'],
  joining: ['Joining — waiting for the host to add you', 'wait'],
  connected: ['Connected', 'ok'],
  reconnecting: ['Reconnecting…', 'wait'],
  leaving: ['Leaving…', 'wait'],
}

export function sessionUi(options: SessionUiOptions) {
  const { session } = options
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
    inviteAccess: $<HTMLSelectElement>('#invite-access'),
    inviteBox: $('#invite-box'),
    inviteLabel: $('#invite-label'),
    inviteUrl: $<HTMLInputElement>('#invite-url'),
    inviteExpiry: $('#invite-expiry'),
    roomOptions: $('#room-options'),
    inviteSeats: $<HTMLInputElement>('#invite-seats'),
    inviteTtl: $<HTMLSelectElement>('#invite-ttl'),
    pasteAnswer: $('#paste-answer'),
    showPaste: $<HTMLButtonElement>('#show-paste'),
    answerInput: $<HTMLTextAreaElement>('#answer-input'),
    addPeer: $<HTMLButtonElement>('#add-peer'),
    relaySent: $('#relay-sent'),
    inSession: $('#in-session'),
    aloneHint: $('#alone-hint'),
    followHost: $('#follow-host-row'),
    viewerNotice: $('#viewer-notice'),
    end: $<HTMLButtonElement>('#end'),
    saveEnd: $<HTMLButtonElement>('#save-end'),
    save: $<HTMLButtonElement>('#save'),
    status: $('#status'),
    state: $('#state'),
    role: $('#role'),
    peers: $('#peers'),
    error: $('#error'),
    diagnostics: $('#diagnostics'),
    iceNotice: $('#ice-notice'),
    admitPrompt: $('#admit-prompt'),
    admitText: $('#admit-text'),
    admitDetail: $('#admit-detail'),
    admitYes: $<HTMLButtonElement>('#admit-yes'),
    admitNo: $<HTMLButtonElement>('#admit-no'),
  }
  el.iceNotice.hidden = options.hasIceServers
  const invitedTo = () => (location.hash.startsWith('#session=') ? location.hash : null)
  /** A banner in place of the state's own text; `until` keeps it up through state changes for a while. */
  let statusOverride: { text: string; tone: string; until?: number } | null = null
  let inviteExpiresAt = 0
  /** With a relay, answers come back by themselves: the paste field is tucked away until needed or asked for. */
  let pasteWanted = false
  /** This guest's answer went through the relay: nothing to paste, just wait. */
  let joinRelayed = false
  /** Somebody else has been in this session: being alone now means everyone else left. */
  let hadCompany = false
  /** What to say when this page's own Leave ends its session ("You left; Bob is host now"). */
  let leftMessage = 'You left the session'
  /** This page's session began (a guest was let in): a failure now is not a failed join. */
  let started = false
  const progress = bootstrapProgress()
  const errorFix = $('#error-fix')
  const relay = relayIndicator(session, $('#relay-state'), () => render())
  const invites = inviteList({ session, list: $('#invite-list'), relayDown: relay.down, showError, clearError })
  const preview = invitePreview(session, { text: $('#invite-preview'), hint: $('#join-hint'), showError, clearError })

  function announce(text: string, tone: string, stickyMs = 0): void {
    statusOverride = { text, tone, ...(stickyMs ? { until: Date.now() + stickyMs } : {}) }
    render()
  }
  function clearAnnouncement(force = false): void {
    if (!force && statusOverride?.until && statusOverride.until > Date.now()) return
    statusOverride = null
  }

  // ---- errors and diagnostics

  function showError(error: unknown): void {
    el.error.textContent = describe(error, options.moduleLabel)
    // A module in the way: the way out is right under the message.
    const modules = error instanceof IncompatibleModulesError ? error.modules : []
    errorFix.replaceChildren(
      ...modules.map((id) =>
        h('button', {
          textContent: `Unload ${options.moduleLabel(id)}`,
          dataset: { unload: id },
          onclick: () => {
            options.unloadModule(id)
            clearError()
            focusWayForward()
          },
        }),
      ),
    )
    errorFix.hidden = !modules.length
  }
  function clearError(): void {
    el.error.textContent = ''
    errorFix.replaceChildren()
    errorFix.hidden = true
  }
  /** Focus on the next step (Start, or Join), so a keyboard user does not land on the page's body. */
  function focusWayForward(): void {
    const next = [el.start, el.join].find((b) => b.offsetParent !== null && !b.hidden)
    next?.focus()
  }
  /**
   * Runs a button's action, with its error (if any) shown instead of thrown; `question`, when
   * given, is asked first (and the action runs only on its yes).
   */
  function action(button: HTMLButtonElement, run: () => Promise<void> | void, question?: () => Question): void {
    button.addEventListener('click', async () => {
      clearError()
      if (question && (await ask(question())) !== 'yes') return
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
    const state = session.getState()
    const role = session.getRole()
    el.state.textContent = state
    el.role.textContent = role ?? 'none'
    renderStatus(state)
    const idle = state === 'idle'
    el.name.disabled = !idle
    el.name.title = idle ? '' : 'Your name can be changed between sessions.'
    el.hostStart.hidden = !idle || !!invitedTo()
    el.joinPanel.hidden = !invitedTo() || (!idle && role !== 'guest') || role === 'host'
    el.join.hidden = !idle
    el.answerBox.hidden = !(role === 'guest' && el.answerCode.value)
    el.relaySent.hidden = !(role === 'guest' && joinRelayed && state === 'joining')
    el.hostPanel.hidden = role !== 'host'
    el.roomOptions.hidden = !options.relay
    relay.render(options.relay && role === 'host')
    invites.render()
    el.pasteAnswer.hidden = options.relay && !(pasteWanted || relay.down() || invites.needsPaste())
    el.showPaste.hidden = !el.pasteAnswer.hidden
    el.inSession.hidden = idle
    // The host's view is the one being followed.
    el.followHost.hidden = role === 'host'
    el.viewerNotice.hidden = idle || session.getSelf().access !== 'viewer'
    el.end.hidden = el.saveEnd.hidden = el.save.hidden = role !== 'host'
    if (idle) {
      el.inviteBox.hidden = true
      progress.hide()
    }
    renderPeers()
  }

  function renderStatus(state: string): void {
    if (statusOverride?.until && statusOverride.until <= Date.now() && state !== 'idle') statusOverride = null
    const [text, tone] = statusOverride
      ? [statusOverride.text, statusOverride.tone]
      : state === 'hosting' && options.relay
        ? ['Hosting — waiting for a guest', 'wait']
        : state === 'joining' && joinRelayed
          ? ['Joining — waiting for the host to let you in', 'wait']
          : (STATUS[state] ?? [state, ''])
    el.status.textContent = text
    el.status.dataset.tone = tone
  }

  /**
   * Rows are kept and only their figures updated while nothing else about the peer changed:
   * rebuilt every second, a row would swallow clicks on its Remove button.
   */
  function renderPeers(): void {
    const peers = session.getPeers()
    const hosting = session.getRole() === 'host'
    if (peers.length > 1) hadCompany = true
    el.aloneHint.hidden = !(hosting && session.isActive() && peers.length === 1 && hadCompany)
    if (!peers.length) {
      const waiting = session.getState() === 'joining'
      el.peers.replaceChildren(h('li', { className: 'muted empty' }, waiting ? 'The host’s people appear once you are let in.' : 'Nobody yet — start or join a session.'))
      return
    }
    const rows = peers.map((peer) => {
      const kickable = hosting && !peer.self
      const signature = JSON.stringify([peer.name, peer.self, peer.rank === 0, peer.role, peer.access ?? 'editor', peer.stale, kickable])
      const existing = Array.from(el.peers.children).find((li): li is HTMLLIElement => li instanceof HTMLLIElement && li.dataset.peerId === peer.id)
      const row = existing?.dataset.signature === signature ? existing : peerRow(peer, kickable, signature)
      row.dataset.rank = String(peer.rank)
      const meta = row.querySelector<HTMLElement>('.meta')!
      meta.textContent = peerMeta(peer)
      meta.title = peer.stats ? `${peer.stats.localAddress ?? '?'} → ${peer.stats.remoteAddress ?? '?'}` : ''
      return row
    })
    const current = Array.from(el.peers.children)
    if (rows.length !== current.length || rows.some((row, i) => current[i] !== row)) el.peers.replaceChildren(...rows)
  }

  function peerRow(peer: SessionPeer, kickable: boolean, signature: string): HTMLLIElement {
    const isHost = peer.rank === 0
    const swatch = h('span', { className: 'swatch' })
    swatch.style.background = colourOf(peer.id)
    const badges: Array<Node | string> = [h('span', { className: `badge ${isHost ? 'host' : ''}` }, isHost ? 'host' : peer.role)]
    if (peer.access === 'viewer') badges.push(h('span', { className: 'badge viewer', title: 'Can look and point, not change anything' }, 'viewer'))
    if (peer.stale) badges.push(h('span', { className: 'badge stale' }, 'silent'))
    if (kickable) badges.push(h('button', { className: 'kick', textContent: 'Remove', title: `Remove ${peer.name} from the session`, dataset: { kick: peer.id } }))
    return h(
      'li',
      { className: isHost ? 'host' : '', dataset: { peerId: peer.id, role: peer.role, rank: String(peer.rank), access: peer.access ?? 'editor', signature } },
      swatch,
      h('span', { className: 'name' }, peer.name, peer.self ? ' (you)' : ''),
      h('span', { className: 'badges' }, ...badges),
      h('span', { className: 'meta' }),
    )
  }

  function peerMeta(peer: SessionPeer): string {
    if (peer.self) return `rank ${peer.rank} · this page`
    const rtt = peer.rtt !== undefined ? `${Math.round(peer.rtt)} ms` : 'measuring'
    if (!peer.linked) return `rank ${peer.rank} · RTT ${rtt} · via host`
    if (!peer.stats) return `rank ${peer.rank} · RTT ${rtt} · candidate measuring`
    const { candidateType, bytesSent, bytesReceived } = peer.stats
    return `rank ${peer.rank} · RTT ${rtt} · candidate ${candidateType ?? 'unknown'} · ${peer.path ?? 'path unknown'} · ↑ ${bytes(bytesSent)} ↓ ${bytes(bytesReceived)}`
  }

  // ---- admission: knocks queue up, one prompt at a time; the session goes on meanwhile

  const knocks: Array<{ peer: PeerInfo; access: SessionAccess; answer: (ok: boolean) => void }> = []

  function admit(peer: PeerInfo, invite: { inviteId: string; access: SessionAccess }): Promise<boolean> {
    return new Promise((resolve) => {
      knocks.push({ peer, access: invite.access, answer: resolve })
      renderKnock()
    })
  }
  function renderKnock(): void {
    const knock = knocks[0]
    el.admitPrompt.hidden = !knock
    if (!knock) {
      el.admitText.textContent = el.admitDetail.textContent = ''
      delete el.admitPrompt.dataset.peerId
      return
    }
    el.admitText.textContent = `${knock.peer.name} wants to join`
    const more = knocks.length - 1
    el.admitDetail.textContent = `Invited as ${knock.access === 'viewer' ? 'a viewer (look and point only)' : 'an editor'}${more ? ` · ${more} more waiting` : ''}`
    el.admitPrompt.dataset.peerId = knock.peer.id
    // Keyboard users land on the answer, unless they are typing somewhere.
    if (!document.activeElement?.matches('input, textarea, select, [contenteditable]')) el.admitYes.focus()
  }
  function answerKnock(ok: boolean): void {
    const knock = knocks.shift()
    knock?.answer(ok)
    renderKnock()
  }
  /** The session is over: nobody is let in to it any more. */
  function dropKnocks(): void {
    for (const knock of knocks.splice(0)) knock.answer(false)
    renderKnock()
  }
  el.admitYes.addEventListener('click', () => answerKnock(true))
  el.admitNo.addEventListener('click', () => answerKnock(false))

  function renderExpiry(): void {
    if (!inviteExpiresAt) return
    const left = Math.max(0, inviteExpiresAt - Date.now())
    el.inviteExpiry.textContent = left ? `Expires in ${Math.floor(left / 60_000)}:${String(Math.floor(left / 1000) % 60).padStart(2, '0')}` : 'Expired — create a new invite'
  }
  setInterval(() => {
    renderExpiry()
    // Time left on each link; the relay's retry countdown.
    invites.tick()
    relay.render(options.relay && session.getRole() === 'host')
    // RTT, stats and "silent" change without an event; timed banners run out.
    renderStatus(session.getState())
    renderPeers()
  }, 1000)

  // ---- wiring the controller's events (once it exists)

  function attach(): void {
    session.on('session-state-changed', ({ state }) => {
      // "Session ended: …" and "Host lost…" stay up until something new happens; a role
      // change's banner stays a few seconds even though the state settles right after it.
      if (state === 'hosting' || state === 'joining' || state === 'connected') clearAnnouncement()
      render()
    })
    session.on('session-started', ({ role }) => {
      // A guest hears this once per session; a host on start. Neither is a takeover.
      if (role === 'host') hadCompany = false
      started = true
      clearAnnouncement(true)
      render()
    })
    session.on('session-host-lost', () => announce('Host lost — electing a new host', 'bad'))
    session.on('session-role-changed', ({ role, previous }) => {
      if (role === 'host' && previous === 'guest') announce('You are the host now', 'ok', 8_000)
      else if (role === 'guest' && previous === 'host') announce('Another host took over; you are a guest', 'wait', 8_000)
      else render()
    })
    // Guest: the relayed answer is not picked up; the code goes back by hand (the library words it for the guest).
    session.on('session-answer-unclaimed', ({ answerCode, message }) => {
      showError(message)
      el.answerCode.value = answerCode
      render()
    })
    session.on('session-ended', ({ reason }) => {
      const text = reason === 'left' ? leftMessage : `Session ended: ${ENDED[reason] ?? reason}`
      statusOverride = { text, tone: ['left', 'ended', 'saved', 'host-ended'].includes(reason) ? '' : 'bad' }
      if (JOIN_FAILED[reason] && !started) showError(JOIN_FAILED[reason])
      started = false
      leftMessage = 'You left the session'
      el.answerCode.value = ''
      inviteExpiresAt = 0
      joinRelayed = false
      pasteWanted = false
      hadCompany = false
      dropKnocks()
      render()
    })
    for (const type of ['session-peer-joined', 'session-peer-dropped', 'session-reconnecting'] as const) session.on(type, () => render())
    // An invite admits one person: once someone is in, its link is spent — do not offer it again.
    session.on('session-peer-joined', () => {
      if (session.getRole() === 'host') el.inviteBox.hidden = true
    })
    // Once joined, the invite has done its job: take it out of the address bar, and what was
    // said while waiting for the host (an answer not picked up yet) is over too.
    session.on('session-started', ({ role }) => {
      if (role !== 'guest') return
      if (location.hash.startsWith('#session=')) history.replaceState(null, '', location.pathname + location.search)
      clearError()
      el.answerCode.value = ''
      render()
    })
    session.on('session-bootstrap-progress', ({ bytes: received, total }) => progress.update(received, total))
    session.on('session-bootstrap-complete', () => progress.complete())
    session.on('session-diagnostic', ({ code, message, reason }) => {
      diagnostic(code, message)
      if (code === 'intent-refused') {
        // The library has already asked the host for its state again: the change rolls back.
        el.error.textContent = reason === 'unauthorized' ? 'You may look and point, not change anything: the host invited you as a viewer. Your change was undone.' : message
      }
    })
  }

  // ---- actions

  const takeName = () => options.setName(el.name.value.trim() || 'Guest')

  action(el.start, async () => {
    takeName()
    await session.start()
    // Start is gone now; the next step is inviting someone.
    render()
    el.invite.focus()
  })

  action(el.invite, async () => {
    const access = el.inviteAccess.value === 'viewer' ? 'viewer' : 'editor'
    // With a relay, the host says how many guests one link seats and for how long.
    const room = options.relay ? { seats: Number(el.inviteSeats.value), ttlMs: Number(el.inviteTtl.value) } : {}
    let invite
    try {
      invite = await session.createInvite({ access, ...room })
    } catch (error) {
      // A room link the relay could not take: say the relay is out of reach (one guest at a time still works, by code).
      if (error instanceof SessionStateError && error.code === 'relay-unavailable') relay.publishFailed()
      if (!(error instanceof InviteTooLongError)) throw error
      // Too long for a link: the bare code still works, pasted on the guest's side.
      invite = error.invite
      showError(error)
    }
    if (options.relay) {
      // The library words it for the host already, the fallback included.
      if (invite.relayError) {
        showError(invite.relayError)
        relay.publishFailed()
      }
      invites.created(invite)
      return
    }
    el.inviteLabel.textContent = `Invite link for ${access === 'viewer' ? 'a viewer' : 'an editor'} (one guest, one use)`
    el.inviteUrl.value = invite.url
    copyInvite.textContent = 'Copy link'
    el.inviteBox.hidden = false
    inviteExpiresAt = invite.expiresAt
    renderExpiry()
    el.inviteUrl.select()
  })

  const copyInvite = $<HTMLButtonElement>('#copy-invite')
  action(copyInvite, () => copy(el.inviteUrl, copyInvite))
  const copyAnswer = $<HTMLButtonElement>('#copy-answer')
  action(copyAnswer, () => copy(el.answerCode, copyAnswer))

  el.showPaste.addEventListener('click', () => {
    pasteWanted = true
    render()
    el.answerInput.focus()
  })

  el.peers.addEventListener('click', (event) => {
    const button = (event.target as Element).closest<HTMLButtonElement>('button[data-kick]')
    if (!button) return
    clearError()
    button.disabled = true
    try {
      session.kick(button.dataset.kick!)
    } catch (error) {
      showError(error)
      button.disabled = false
    }
    render()
  })

  action(el.addPeer, async () => {
    const code = el.answerInput.value.trim()
    if (!code) throw new Error('Paste the answer code the guest sent back first.')
    await session.acceptAnswer(code)
    el.answerInput.value = ''
  })

  action(el.join, async () => {
    const fragment = invitedTo()
    if (!fragment) throw new Error('This page was not opened from an invite link.')
    if (!(await options.beforeJoin())) return
    takeName()
    const { answerCode, relayed } = await session.join(location.href)
    joinRelayed = relayed
    if (relayed) return
    // No relay, or it failed: the answer goes back by hand.
    if (parseRelayFragment(fragment)) showError('The relay could not take the answer: send this code to the host instead.')
    el.answerCode.value = answerCode
    copyAnswer.textContent = 'Copy code'
    el.answerBox.hidden = false
    el.answerCode.select()
  })

  action($<HTMLButtonElement>('#leave'), () => {
    // A host's Leave hands the session on: say to whom, not "ended".
    const next = session.getRole() === 'host' ? session.getPeers().find((p) => p.rank === 1) : undefined
    leftMessage = next ? `You left; ${next.name} is host now` : 'You left the session'
    return session.leave()
  })
  action(
    el.end,
    () => session.end(),
    () => {
      const others = session.getPeers().length - 1
      const who = others ? `${others} other ${others === 1 ? 'person' : 'people'} will be disconnected. ` : ''
      return { title: 'End the session for everyone?', text: `${who}Nothing is saved: use Save first to keep a copy.`, yes: 'End for everyone' }
    },
  )
  /**
   * The file: the library's save (every provider's state, as a new host would bootstrap
   * from it, and everyone who took part, with when they joined and left) plus the demo's
   * readable summary.
   */
  async function saveFile(final: boolean): Promise<void> {
    const summary = options.saveState()
    const save = final ? await session.saveAndEnd() : await session.save()
    const file = { savedAt: new Date().toISOString(), final, ...save, demo: summary }
    download(`session-${fileSafe(save.sessionId)}${final ? '' : `-${save.seq}`}.json`, JSON.stringify(file, null, 2))
  }
  action(el.save, () => saveFile(false))
  action(
    el.saveEnd,
    () => saveFile(true),
    () => ({ title: 'Save and end the session?', text: 'The final state is downloaded, then the session ends for everyone.', yes: 'Save & end' }),
  )

  $<HTMLInputElement>('#follow-host').addEventListener('change', (e) => options.setFollowHost((e.target as HTMLInputElement).checked))
  window.addEventListener('hashchange', () => {
    render()
    void preview(invitedTo())
  })

  attach()
  render()
  void preview(invitedTo())
  return { showError, clearError, admit, focusWayForward }
}

/** A message a person can act on, for anything thrown; modules go by the names the Modules card shows. */
function describe(error: unknown, moduleLabel: (id: string) => string): string {
  if (error instanceof IncompatibleModulesError) {
    const names = error.modules.map(moduleLabel)
    return `${names.join(', ')} cannot take part in a session: unload ${names.length === 1 ? 'it' : 'them'}, then try again.`
  }
  if (error instanceof InviteError || error instanceof SessionLockedError) return error.message
  if (error instanceof Error) return error.message
  return String(error)
}
