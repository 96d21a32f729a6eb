/**
 * The host's invites when a relay is configured: each link with its seats taken, the time
 * left, Copy, Revoke and Reissue. Drawn from `listInvites()` on every
 * `session-invite-changed`; rows are kept and only their figures updated, so a redraw never
 * swallows a click or moves the focus.
 */
import type { SessionInvite, SessionInviteInfo, SessionInviteStatus, SessionSyncController } from '../src/index.js'
import { copy } from './copy.js'
import { h } from './dom.js'

export interface InviteListOptions {
  session: SessionSyncController
  list: HTMLElement
  /** The relay cannot carry links now: rows offer the link with the paste code instead. */
  relayDown: () => boolean
  showError: (error: unknown) => void
  clearError: () => void
}

/** Used invites are done with; the others stay in view, the closed ones to be re-issued. */
const SHOWN: ReadonlySet<SessionInviteStatus> = new Set(['open', 'lost', 'revoked', 'expired', 'burned'])
const live = (info: SessionInviteInfo) => info.status === 'open' || info.status === 'lost'

interface Row {
  li: HTMLLIElement
  field: HTMLInputElement
  copyButton: HTMLButtonElement
  revoke: HTMLButtonElement
  reissue: HTMLButtonElement
  seats: HTMLElement
  left: HTMLElement
  message: HTMLElement
  status: SessionInviteStatus
  expiresAt: number
}

export function inviteList(options: InviteListOptions) {
  const { session, list } = options
  const rows = new Map<string, Row>()
  /** Invites re-issued: the new link takes their place in the list. */
  const replaced = new Set<string>()
  /** Invites `createInvite` has returned: until then a new link may still be on its way to the relay. */
  const settled = new Set<string>()
  const publishing = (info: SessionInviteInfo) => info.status === 'open' && !info.relayed && !settled.has(info.inviteId)

  /** The link that works now: the relay's, or, while the relay is out of reach, one carrying the paste code. */
  function linkOf(info: SessionInviteInfo): string {
    return info.relayed && !options.relayDown() ? info.url : `${location.href.split('#')[0]}#session=${info.code}`
  }

  function render(): void {
    const invites = session.getRole() === 'host' ? session.listInvites().filter((i) => SHOWN.has(i.status) && !replaced.has(i.inviteId)).reverse() : []
    const shown = invites.map((info) => {
      const row = rows.get(info.inviteId) ?? makeRow(info)
      rows.set(info.inviteId, row)
      update(row, info)
      return row.li
    })
    for (const [id, row] of rows) if (!shown.includes(row.li)) rows.delete(id)
    // The session is over: its invites are forgotten.
    if (!invites.length && session.getState() === 'idle') {
      replaced.clear()
      settled.clear()
    }
    const current = Array.from(list.children)
    if (shown.length !== current.length || shown.some((li, i) => current[i] !== li)) list.replaceChildren(...shown)
    list.hidden = !shown.length
  }

  function makeRow(info: SessionInviteInfo): Row {
    const kind = info.seats > 1 ? `Room link · ${info.seats} seats` : 'Invite link · 1 guest'
    const field = h('input', { readOnly: true, className: 'url' })
    field.setAttribute('aria-label', `${kind}, for ${info.access === 'viewer' ? 'viewers' : 'editors'}`)
    const row: Row = {
      li: h('li', { dataset: { inviteId: info.inviteId } }),
      field,
      copyButton: h('button', { className: 'copy', textContent: 'Copy link' }),
      revoke: h('button', { className: 'revoke danger', textContent: 'Revoke', title: 'Withdraw this link: nobody else can join with it' }),
      reissue: h('button', { className: 'reissue', textContent: 'Reissue', title: 'A new link like this one (this one stops working)' }),
      seats: h('span', { className: 'seats' }),
      left: h('span', { className: 'left muted' }),
      message: h('p', { className: 'message muted' }),
      status: info.status,
      expiresAt: info.expiresAt,
    }
    row.li.append(
      h('div', { className: 'head' }, h('b', {}, kind), ` for ${info.access === 'viewer' ? 'viewers' : 'editors'}`),
      h('div', { className: 'figures' }, row.seats, row.left),
      field,
      row.message,
      h('div', { className: 'row' }, row.copyButton, row.revoke, row.reissue),
    )
    act(row.copyButton, () => copy(field, row.copyButton))
    act(row.revoke, async () => {
      await session.revokeInvite(info.inviteId)
      render()
      row.reissue.focus()
    })
    act(row.reissue, async () => {
      // The old row goes at once, so the list never shows the old link beside the new one.
      replaced.add(info.inviteId)
      try {
        created(await session.reissueInvite(info.inviteId))
      } catch (error) {
        replaced.delete(info.inviteId)
        render()
        throw error
      }
    })
    return row
  }

  function update(row: Row, info: SessionInviteInfo): void {
    row.li.dataset.status = info.status
    row.li.dataset.seated = `${info.seated}/${info.seats}`
    row.seats.textContent = info.seats > 1 ? `${info.seated} of ${info.seats} seats taken` : info.seated ? 'Taken' : 'Not used yet'
    const link = linkOf(info)
    // Something new to copy: the button offers to copy again.
    if (row.field.value !== link) {
      row.field.value = link
      row.copyButton.textContent = 'Copy link'
    }
    // A link still on its way to the relay is not offered: its one-seat paste form would be copied for a room.
    const waiting = publishing(info)
    row.message.textContent = waiting
      ? 'Putting the link on the relay…'
      : info.relayed && options.relayDown() && live(info)
        ? 'The relay is out of reach: this link carries the invite code. The guest sends an answer code back; paste it below.'
        : info.message
    for (const el of [row.field, row.copyButton]) el.hidden = !live(info) || waiting
    row.revoke.hidden = !live(info)
    row.status = info.status
    row.expiresAt = info.expiresAt
    tick(row)
  }

  /** Time left on an open link; what became of a closed one. */
  function tick(row: Row): void {
    const left = row.expiresAt - Date.now()
    row.left.textContent = CLOSED[row.status] ?? (left > 60_000 ? `${Math.ceil(left / 60_000)} min left` : left > 0 ? `${Math.ceil(left / 1000)} s left` : 'Expired')
  }

  /** Runs a row's action once at a time, its failure shown in the Session card. */
  function act(button: HTMLButtonElement, run: () => Promise<void>): void {
    button.addEventListener('click', async () => {
      options.clearError()
      button.disabled = true
      try {
        await run()
      } catch (error) {
        options.showError(error)
      } finally {
        button.disabled = false
      }
    })
  }

  /** A new invite is in the list: the next step is copying its link. */
  function created(invite: SessionInvite): void {
    settled.add(invite.inviteId)
    render()
    rows.get(invite.inviteId)?.copyButton.focus()
  }

  session.on('session-invite-changed', () => render())

  return {
    render,
    created,
    /** Time left, every second. */
    tick: () => rows.forEach((row) => tick(row)),
    /** An open invite whose answer can only come back by hand. */
    needsPaste: () => session.listInvites().some((i) => (i.status === 'open' && !i.relayed && !publishing(i)) || i.status === 'lost'),
  }
}

const CLOSED: Partial<Record<SessionInviteStatus, string>> = {
  used: 'Used',
  revoked: 'Revoked',
  expired: 'Expired',
  burned: 'Unusable reply',
}
