/**
 * Who is here, at a glance: a row of avatars in the header (initials in each person's colour,
 * their role, the host marked) and a short notice to everyone when someone joins, leaves or
 * becomes host ("Alice left — Bob is host now"). Clicking someone's avatar follows their view
 * (again: stops); moving a view yourself stops it, and the notice says so, as it does when the
 * host brings everyone to its view.
 */
import type { SessionPeer, SessionSyncController } from '../src/index.js'
import type { OsdSync } from '../src/openseadragon/index.js'
import { colourOf } from './colours.js'
import { $, h } from './dom.js'

/** How long a notice stays up. */
const NOTICE_MS = 6_000
const MAX_NOTICES = 4

export function presence(session: SessionSyncController, views: OsdSync) {
  const avatars = $('#avatars')
  const notices = $('#notices')
  /** The host we last told everyone about; a change of host is announced once it is settled. */
  let host: { id: string; name: string } | null = null
  /** The host left; who took over is said with it, once the others agree on one. */
  let hostLeft: string | null = null
  /** A guest's first roster lists everyone already there: they did not just join. */
  let settling = false

  function notice(text: string): void {
    const item = h('li', {}, text)
    notices.append(item)
    while (notices.children.length > MAX_NOTICES) notices.firstElementChild!.remove()
    setTimeout(() => item.remove(), NOTICE_MS)
  }

  const you = (peer: { id: string; name: string }) => (peer.id === session.getSelf().id ? 'you are' : `${peer.name} is`)

  /** Whom this page follows as last drawn, by name: to say whom it stopped following. */
  let followed: string | null = null
  const nameOf = (id: string | null) => (id ? (session.getPeers().find((p) => p.id === id)?.name ?? null) : null)

  function renderAvatars(): void {
    const peers = session.getPeers()
    followed = nameOf(views.followedId())
    avatars.replaceChildren(...peers.map(avatar))
  }

  function avatar(peer: SessionPeer): HTMLLIElement {
    const isHost = peer.rank === 0
    const role = isHost ? 'host' : peer.access === 'viewer' ? 'viewer' : 'editor'
    const title = `${peer.name}${peer.self ? ' (you)' : ''} — ${role}`
    const following = views.followedId() === peer.id
    const face = peer.self
      ? h('span', { className: 'face', ariaHidden: 'true' }, initials(peer.name))
      : h('button', {
          className: 'face',
          ariaPressed: String(following),
          ariaLabel: `${following ? 'Stop following' : 'Follow'} ${peer.name}’s view (${role})`,
          onclick: () => (views.followedId() === peer.id ? views.unfollow() : views.follow(peer.id)),
        }, initials(peer.name))
    face.style.background = colourOf(peer.id)
    return h(
      'li',
      { className: isHost ? 'host' : '', title, ariaLabel: title, dataset: { peerId: peer.id, role } },
      face,
      // The host, and who may only look and point, are marked under their initials.
      ...(role !== 'editor' ? [h('span', { className: `crown ${role}`, ariaHidden: 'true' }, role)] : []),
    )
  }

  /** Announces a new host once the session is settled again (not mid-election). */
  function checkHost(): void {
    const state = session.getState()
    if (state !== 'connected' && state !== 'hosting') return
    const top = session.getPeers().find((p) => p.rank === 0)
    if (!top || top.id === host?.id) return
    const previous = host
    host = { id: top.id, name: top.name }
    if (!previous) return
    notice(hostLeft ? `${hostLeft} left — ${you(host)} host now` : `${you(host)} host now`.replace(/^./, (c) => c.toUpperCase()))
    hostLeft = null
  }

  function update(): void {
    checkHost()
    renderAvatars()
  }

  session.on('session-started', () => {
    host = null
    hostLeft = null
    settling = true
    queueMicrotask(() => {
      settling = false
      update()
    })
    update()
  })
  session.on('session-peer-joined', ({ peer }) => {
    if (!settling && peer.id !== session.getSelf().id) notice(`${peer.name} joined`)
    update()
  })
  session.on('session-peer-dropped', ({ peer, reason }) => {
    if (peer.id === host?.id) hostLeft = peer.name
    // The host sees why; the others learn it from the roster, where a removal looks like leaving.
    else notice(reason === 'removed' ? `${peer.name} was removed` : reason === 'timeout' ? `${peer.name} lost the connection` : `${peer.name} left`)
    update()
  })
  for (const type of ['session-role-changed', 'session-state-changed'] as const) session.on(type, update)
  session.on('session-ended', () => {
    host = null
    hostLeft = null
    renderAvatars()
  })

  views.on('follow-changed', ({ peerId, host: followsHost, reason }) => {
    const name = nameOf(peerId)
    if (name && !followsHost) notice(`Following ${name}’s view — move a view to stop`)
    // Brought to the host's view: the `summoned` notice says it, and whom we stopped following.
    else if (!peerId && followed && reason !== 'summoned') {
      notice(reason === 'local-input' ? `You moved the view — no longer following ${followed}` : reason === 'peer-left' ? `${followed} left — no longer following` : `No longer following ${followed}`)
    }
    renderAvatars()
  })
  views.on('summoned', ({ by, unfollowed }) => {
    const stopped = nameOf(unfollowed)
    notice(`${nameOf(by) ?? 'The host'} brought everyone to their view${stopped ? ` — no longer following ${stopped}` : ''}`)
  })
  renderAvatars()
  return { notice }
}

/** "Alice Smith" → "AS", "bob" → "B". */
export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean)
  const letters = words.length > 1 ? [words[0]!, words.at(-1)!].map((w) => [...w][0]) : [...(words[0] ?? '?')].slice(0, 1)
  return letters.join('').toUpperCase()
}
