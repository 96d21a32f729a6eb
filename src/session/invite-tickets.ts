/**
 * The host's list of what it handed out: each invite or room link (a "ticket") with its
 * seats, its status and its place on the relay. It reports every change as
 * `session-invite-changed`, in words for the host, and runs the page's one relay
 * listener (`session-relay-state`). The seats themselves (pending offers) stay in
 * `Session.invites`, one per seat, as the paste flow has them.
 */
import { type RelayListener, RelayError, type RelayPublished } from '../relay/index.js'
import type { SessionAccess, SessionInvite, SessionInviteInfo, SessionInviteStatus, SessionViewer } from '../types.js'
import type { Core, Session } from './state.js'

export interface TicketOptions {
  access: SessionAccess
  seats: number
  ttlMs: number
}

export interface Ticket {
  /** The first seat's invite id: how the host names the whole link. */
  id: string
  options: TicketOptions
  invite: SessionInvite
  /** Seat invite ids in relay slot order, and each seat's paste code. */
  seats: string[]
  codes: string[]
  /** Seats still waiting for a guest. */
  open: Set<string>
  seated: number
  relay: RelayPublished | null
  status: SessionInviteStatus
  message: string
  /** The relay's DELETE once the ticket is revoked or burned. */
  withdrawn?: Promise<void>
}

/** Used, expired, revoked and burned tickets `listInvites` still shows; older ones are forgotten. */
const KEPT_CLOSED = 64

const WORDS: Record<SessionInviteStatus, (t: Ticket) => string> = {
  open: (t) =>
    t.relay
      ? t.options.seats > 1
        ? `Room link open: ${t.seated} of ${t.options.seats} seats taken. Guests who open it come in by themselves.`
        : 'Invite open: the guest who opens the link comes in by itself.'
      : "Invite open: send the link, then paste the guest's answer code here.",
  used: (t) => (t.options.seats > 1 ? `All ${t.options.seats} seats of this room link are taken.` : 'The guest has used this invite.'),
  expired: () => 'This invite has expired. Re-issue it to send a new link.',
  revoked: () => 'You withdrew this invite: its link no longer works.',
  burned: () => 'A reply to this invite arrived that cannot be used (damaged, or from an outdated page). Re-issue the invite and send the new link.',
  lost: () => "The relay no longer knows this invite (it may have been restarted). Its link will not work: send the guest the invite code instead, and paste their answer back, or re-issue the invite.",
}

export class Tickets<V extends SessionViewer = SessionViewer> {
  private readonly bySession = new WeakMap<Session, Map<string, Ticket>>()

  constructor(
    private readonly core: Core<V>,
    private readonly listener: () => RelayListener | undefined,
  ) {}

  of(session: Session): Map<string, Ticket> {
    let map = this.bySession.get(session)
    if (!map) this.bySession.set(session, (map = new Map()))
    return map
  }

  /** The ticket a seat belongs to. */
  bySeat(session: Session, inviteId: string): Ticket | undefined {
    for (const ticket of this.of(session).values()) if (ticket.seats.includes(inviteId)) return ticket
    return undefined
  }

  add(session: Session, ticket: Ticket): void {
    const tickets = this.of(session)
    tickets.set(ticket.id, ticket)
    // Open tickets are bounded by the seat limit; of the closed ones, the newest are kept.
    const closed = [...tickets.values()].filter((t) => t.status !== 'open' && t.status !== 'lost')
    for (const old of closed.slice(0, Math.max(0, closed.length - KEPT_CLOSED))) tickets.delete(old.id)
    this.announce(ticket)
  }

  list(session: Session | null): SessionInviteInfo[] {
    return session ? [...this.of(session).values()].map((t) => this.info(session, t)) : []
  }

  /** A seat was taken; the ticket is used once no seat is left. */
  seatTaken(session: Session, inviteId: string): void {
    const ticket = this.bySeat(session, inviteId)
    if (!ticket || !ticket.open.delete(inviteId)) return
    ticket.seated++
    if (ticket.open.size === 0) void this.close(ticket, 'used')
    else this.announce(ticket)
  }

  /** A seat is gone without a guest (expired, dropped with the session, burned). */
  seatLost(session: Session, inviteId: string, status: 'expired' | 'burned' | 'revoked'): void {
    const ticket = this.bySeat(session, inviteId)
    if (!ticket || !ticket.open.delete(inviteId)) return
    if (ticket.open.size === 0 && (ticket.status === 'open' || ticket.status === 'lost')) void this.close(ticket, ticket.seated > 0 && status === 'expired' ? 'used' : status)
    else if (status === 'burned') this.announce(ticket, WORDS.burned(ticket))
  }

  /** The relay reports the invite gone; `lost` leaves its seats open for the paste flow. */
  gone(ticket: Ticket, reason: 'expired' | 'revoked' | 'not-found'): void {
    if (ticket.status !== 'open') return
    if (reason === 'not-found') {
      ticket.status = 'lost'
      ticket.relay = null
      return this.announce(ticket)
    }
    void this.close(ticket, reason)
  }

  /** Ends a ticket: it stops being listened for, and (revoked, burned) its link stops working on the relay. */
  close(ticket: Ticket, status: Exclude<SessionInviteStatus, 'open' | 'lost'>): Promise<void> {
    if (ticket.status === status) return ticket.withdrawn ?? Promise.resolve()
    const relay = ticket.relay
    ticket.status = status
    if (relay) {
      this.listener()?.remove(relay.id)
      // Whoever opens a link that can seat nobody more should hear so at once.
      if (status === 'revoked' || status === 'burned') ticket.withdrawn = this.withdraw(relay)
    }
    this.announce(ticket)
    return ticket.withdrawn ?? Promise.resolve()
  }

  private async withdraw(relay: RelayPublished): Promise<void> {
    try {
      await this.core.relay?.revoke(relay)
    } catch (error) {
      if (error instanceof RelayError && ['relay-expired', 'relay-revoked', 'relay-not-found'].includes(error.code)) return
      this.core.diagnostic('relay-revoke-failed', `The relay could not withdraw the link: ${(error as Error)?.message ?? String(error)} It stops working when it expires.`, { error })
    }
  }

  announce(ticket: Ticket, message = WORDS[ticket.status](ticket)): void {
    ticket.message = message
    const session = this.core.session
    if (!session) return
    const { url: _url, code: _code, ...change } = this.info(session, ticket)
    this.core.emit('session-invite-changed', change)
  }

  private info(session: Session, ticket: Ticket): SessionInviteInfo {
    const firstOpen = ticket.seats.findIndex((seat) => ticket.open.has(seat) && session.invites.has(seat))
    const code = ticket.codes[firstOpen] ?? ticket.invite.code
    return {
      inviteId: ticket.id,
      url: ticket.invite.url,
      code,
      expiresAt: ticket.invite.expiresAt,
      access: ticket.options.access,
      seats: ticket.options.seats,
      seated: ticket.seated,
      relayed: ticket.relay !== null,
      status: ticket.status,
      message: ticket.message,
    }
  }
}
