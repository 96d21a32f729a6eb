/**
 * The invite desk, loaded with the first invite or join (invites.ts is the part the core
 * holds): open seats (an offer per seat packed into a link, or put on a relay; a room link
 * is several seats behind one relayed link) and take the answers back; list, revoke and
 * re-issue them (invite-tickets.ts keeps the list). A guest's side of joining: read the
 * invite (who invites, until when), answer it.
 */
import { InviteError, InviteTooLongError, SessionError, SessionStateError } from '../errors.js'
import { decodeAnswer, decodeInvite, encodeAnswer, encodeInvite, type Invite, inviteBlobFrom, inviteUrl } from '../invite/invite.js'
import {
  parseRelayFragment,
  RelayError,
  relayFragment,
  type RelayInviteRef,
  relayInviteUrl,
  type RelayListener,
  type RelayListenerState,
  type RelayOffer,
  type RelayPublished,
} from '../relay/index.js'
import { loadOnce } from '../runtime/load-once.js'
import { isIceFailure } from '../transport/ice-failure.js'
import type { Link, Signal } from '../transport/transport.js'
import type { SessionAccess, SessionInvite, SessionInviteInfo, SessionInvitePreview, SessionViewer } from '../types.js'
import { wire } from '../wire/build.js'
import { type Ticket, Tickets } from './invite-tickets.js'
import { Part, type Session } from './state.js'

/** An invite read by a guest, not yet answered. */
export interface OpenedInvite {
  invite: Invite
  offer: Signal
  ref: RelayInviteRef | null
  /** A relayed invite's seat, and who invites. */
  seat: RelayOffer | null
}

export class InviteDesk<V extends SessionViewer = SessionViewer> extends Part<V> {
  private relayListener: RelayListener | undefined
  /** The page's one relay listener, loaded with the first relayed invite (like the relay client: a page without a relay never loads it). */
  private readonly listener = loadOnce(
    () => import('../relay/listener.js'),
    ({ RelayListener }) => (this.relayListener = new RelayListener(this.core.relay!, this.core.clock, this.core.random, (state) => this.core.emit('session-relay-state', state))),
    (cause) => new RelayError('relay-unavailable', 'the relay listener could not be loaded', { cause }),
  )
  readonly tickets = new Tickets<V>(this.core, () => this.relayListener)

  /** The relay listener's state, once there is one. */
  get relayState(): RelayListenerState | undefined {
    return this.relayListener?.state
  }

  /**
   * Open a seat (or, with `seats` > 1, a room link of that many seats: relay only): one
   * offer per seat packed into a link, and put on the relay when there is one.
   */
  async createInvite(options: { access?: SessionAccess; seats?: number; ttlMs?: number } = {}): Promise<SessionInvite> {
    // A guest's invite lets only a peer coming back through (readmission.ts): the host alone admits newcomers.
    if (!this.core.session) throw new SessionStateError('not-host', 'Only a peer of an active session can invite.')
    const seats = options.seats ?? 1
    const maxSeats = this.core.timers.maxRoomSeats
    if (!Number.isInteger(seats) || seats < 1 || seats > maxSeats) throw new RangeError(`seats must be a whole number from 1 to ${maxSeats}, got ${seats}`)
    if (seats > 1 && !this.core.relay) throw new SessionStateError('no-relay', 'A room link needs a signalling relay (signalingEndpoint); without one, make one invite per guest.')
    if (this.s.invites.size + seats > this.core.limits.pendingInvites) {
      throw new SessionStateError('too-many-invites', `At most ${this.core.limits.pendingInvites} invites can be open at once; wait for some to be used or expire, or revoke some.`)
    }
    const ttl = options.ttlMs ?? this.core.timers.inviteTtlMs
    const access = options.access ?? 'editor'
    const session = this.s
    const made = await Promise.allSettled(Array.from({ length: seats }, () => this.core.transport.createOffer()))
    const pendings = made.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))
    const cancelAll = () => pendings.forEach((pending) => pending.cancel())
    const failed = made.find((result): result is PromiseRejectedResult => result.status === 'rejected')
    if (failed) {
      cancelAll()
      throw failed.reason
    }
    const signals = await Promise.all(pendings.map((pending) => this.packSignal(pending.offer))).catch((error: unknown) => {
      cancelAll()
      throw error
    })
    if (!this.current(session)) {
      cancelAll()
      throw new SessionStateError('session-ended', 'The session ended while the invite was being prepared.')
    }
    const expiresAt = this.core.clock.now() + ttl
    const ids: string[] = []
    const codes = pendings.map((pending, i) => {
      const inviteId = this.core.random.id(this.core.timers.idSize)
      const timer = this.core.clock.setTimeout(() => this.current(session) && this.dropInvite(inviteId, 'expired'), ttl)
      this.s.invites.set(inviteId, { pending, access, expiresAt, used: false, timer })
      ids.push(inviteId)
      return encodeInvite({ inviteId, sessionId: this.s.sessionId, expiresAt, signal: signals[i]!, provision: this.core.options.provision?.() })
    })
    const code = codes[0]!
    const invite: SessionInvite = { inviteId: ids[0]!, url: inviteUrl(this.core.options.baseUrl ?? '', code), fragment: `#session=${code}`, code, expiresAt, seats }
    const ticket: Ticket = { id: ids[0]!, options: { access, seats, ttlMs: ttl }, invite, seats: ids, codes, open: new Set(ids), seated: 0, relay: null, status: 'open', message: '' }
    this.tickets.add(session, ticket)
    if (this.core.relay) await this.publish(session, ticket, Math.ceil(ttl / 1000))
    if (seats > 1 && !ticket.relay) {
      await this.revokeInvite(ticket.id)
      throw new SessionStateError('relay-unavailable', `A room link needs the relay, which could not take it: ${invite.relayError ?? 'the session ended'}`)
    }
    const maxLength = this.core.timers.maxInviteUrlLength
    if (!ticket.relay && invite.url.length > maxLength) throw new InviteTooLongError(invite, maxLength)
    return invite
  }

  /** Puts the sealed offers on the relay and listens there for answers; on failure the link stays the paste flow's. */
  private async publish(session: Session, ticket: Ticket, ttlSeconds: number): Promise<void> {
    const relay = this.core.relay!
    const invite = ticket.invite
    let published: RelayPublished
    let listener: RelayListener
    try {
      listener = await this.listener()
      published = await relay.publish(ticket.codes, { from: { id: this.core.self.id, name: this.core.self.name }, access: ticket.options.access }, ttlSeconds)
    } catch (error) {
      // Words for the host: the guest gets the invite code (the link still carries it) and sends an answer code back.
      invite.relayError = `${(error as Error).message} Send the guest the invite code instead, and paste their answer code back.`
      this.core.diagnostic('relay-unavailable', invite.relayError, { error })
      return
    }
    if (!this.current(session) || ticket.status !== 'open') {
      relay.revoke(published).catch(() => undefined)
      return
    }
    invite.url = relayInviteUrl(this.core.options.baseUrl ?? '', published.id, published.key)
    invite.fragment = relayFragment(published.id, published.key)
    invite.relayed = true
    ticket.relay = published
    this.tickets.announce(ticket)
    listener.add({
      ...published,
      onAnswer: (answer, slot) => this.acceptRelayed(session, ticket, answer, slot),
      onDamaged: (error, slot) => this.burnSeat(session, ticket, slot, error),
      onGone: (reason) => this.current(session) && this.tickets.gone(ticket, reason),
    })
  }

  private acceptRelayed(session: Session, ticket: Ticket, answer: string, slot: number): void {
    this.acceptAnswer(answer).catch((error: unknown) => this.burnSeat(session, ticket, slot, error))
  }

  /** A relayed answer that cannot be used has still taken its seat on the relay: the seat is lost, and the host told. */
  private burnSeat(session: Session, ticket: Ticket, slot: number, error: unknown): void {
    if (!this.current(session)) return
    this.core.diagnostic('relay-answer-unusable', `A reply came through the relay that could not be used: ${(error as Error)?.message ?? String(error)}`, { error })
    const seat = ticket.seats[slot]
    if (seat !== undefined && this.s.invites.has(seat)) this.dropInvite(seat, 'burned')
  }

  /** Complete a guest's link from the answer code it sent back. */
  async acceptAnswer(answerCode: string): Promise<void> {
    if (!this.core.session) throw new SessionStateError('not-host', 'Only a peer of an active session can take an answer.')
    const answer = decodeAnswer(answerCode.trim())
    const invite = this.s.invites.get(answer.inviteId)
    if (!invite) throw new InviteError(this.wasInvite(answer.inviteId) ? 'invite-used' : 'invite-unknown')
    if (invite.used) throw new InviteError('invite-used')
    if (this.core.clock.now() > invite.expiresAt) {
      this.dropInvite(answer.inviteId, 'expired')
      throw new InviteError('invite-expired')
    }
    let signal: Signal
    try {
      signal = await this.unpackSignal(answer.signal)
    } catch (cause) {
      throw new InviteError('answer-damaged', undefined, { cause })
    }
    invite.used = true
    const session = this.s
    let link: Link
    try {
      link = await invite.pending.complete(signal)
    } catch (cause) {
      this.dropInvite(answer.inviteId, 'burned')
      if (isIceFailure(cause)) {
        this.core.diagnostic(cause.code, cause.message, { error: cause })
        throw new SessionError(cause.code, `Could not connect to the guest. ${cause.message}`, { cause })
      }
      throw new SessionError('link-failed', 'Could not connect to the guest. Ask them for a new answer code, or send a new invite.', { cause })
    } finally {
      this.core.clock.clearTimeout(invite.timer)
      this.s.invites.delete(answer.inviteId)
      this.core.usedInvites.touch(answer.inviteId)
    }
    if (!this.current(session)) {
      link.close('session-ended')
      return
    }
    const conn = this.parts.links.attach(link, answer.inviteId)
    conn.access = invite.access
    this.tickets.seatTaken(session, answer.inviteId)
  }

  private wasInvite(inviteId: string): boolean {
    return this.core.usedInvites.has(inviteId)
  }

  /** Closes a seat without a guest; `why` is what the host's list says of it. */
  dropInvite(inviteId: string, why: 'expired' | 'burned' | 'revoked' = 'revoked'): void {
    const invite = this.s.invites.get(inviteId)
    if (!invite) return
    this.s.invites.delete(inviteId)
    this.core.clock.clearTimeout(invite.timer)
    invite.pending.cancel()
    this.tickets.seatLost(this.s, inviteId, why)
  }

  listInvites(): SessionInviteInfo[] {
    return this.tickets.list(this.core.session)
  }

  /** Withdraws an invite or room link: its open seats close, and the relay stops serving its link. */
  async revokeInvite(inviteId: string): Promise<void> {
    const ticket = this.core.session && this.tickets.of(this.core.session).get(inviteId)
    if (!ticket) throw new InviteError('invite-unknown', 'There is no invite with this id in the session.')
    if (ticket.status !== 'open' && ticket.status !== 'lost') return
    for (const seat of [...ticket.open]) this.dropInvite(seat, 'revoked')
    await this.tickets.close(ticket, 'revoked')
  }

  /** One click for the host: a new link like the old one (revoked if still open). */
  async reissueInvite(inviteId: string): Promise<SessionInvite> {
    const ticket = this.core.session && this.tickets.of(this.core.session).get(inviteId)
    if (!ticket) throw new InviteError('invite-unknown', 'There is no invite with this id in the session.')
    await this.revokeInvite(inviteId)
    return this.createInvite(ticket.options)
  }

  // ---------------------------------------------------------------- guest

  /** Reads an invite (fetching a relayed one's sealed offer for a free seat): what the guest will answer. */
  async open(urlOrFragment: string): Promise<OpenedInvite> {
    const ref = parseRelayFragment(urlOrFragment)
    if (ref && !this.core.relay) throw new SessionStateError('no-relay', 'This invite goes through a signalling relay, and this page has none configured. Ask the host for an invite code to paste.')
    const seat = ref ? await this.core.relay!.fetchOffer(ref.id, ref.key).catch((error: unknown) => Promise.reject(forGuest(error, 'Try again in a moment, or ask the host to send you the invite code to paste.'))) : null
    const invite = decodeInvite(seat ? seat.offer : inviteBlobFrom(urlOrFragment))
    if (this.core.clock.now() > invite.expiresAt) throw new InviteError('invite-expired')
    try {
      return { invite, offer: await this.unpackSignal(invite.signal), ref, seat }
    } catch (cause) {
      throw new InviteError('invite-damaged', undefined, { cause })
    }
  }

  /** What the guest sees before joining: who invites, until when, the seats left. */
  async preview(urlOrFragment: string): Promise<SessionInvitePreview> {
    const { invite, seat, ref } = await this.open(urlOrFragment)
    return {
      invitedBy: seat?.meta.from.name ?? null,
      expiresAt: invite.expiresAt,
      access: seat?.meta.access ?? null,
      seats: seat?.seats ?? 1,
      open: seat?.open ?? 1,
      relayed: ref !== null,
      ...(invite.provision === undefined ? {} : { provision: invite.provision }),
    }
  }

  /**
   * Answers an opened invite: `begin` starts the session here, then the link to the host
   * completes (or the join times out). The answer code goes back by hand, or by the relay.
   */
  async answer(opened: OpenedInvite, begin: () => void): Promise<{ answerCode: string; provision?: unknown; relayed: boolean }> {
    const { invite, offer, ref, seat } = opened
    const pending = await this.core.transport.acceptOffer(offer)
    begin()
    const session = this.s
    // However the session ends (leave, timeout, the host refusing), the attempt is freed with it.
    session.pendingJoin = pending
    // Past the invite's expiry the host refuses the answer: waiting longer than that (and the
    // time a link takes to open) is waiting for nothing.
    const waitMs = Math.min(this.core.timers.joinTimeoutMs, invite.expiresAt - this.core.clock.now() + this.core.timers.linkTimeoutMs)
    session.joinTimer = this.core.clock.setTimeout(() => {
      pending.cancel()
      if (this.current(session)) this.core.finish('join-timeout')
    }, waitMs)
    pending.link.then(
      (link) => {
        if (!this.current(session)) return link.close('session-ended')
        const conn = this.parts.links.attach(link)
        session.hostConn = conn
        // The attempt is done: neither it (its SDP) nor the pickup watch need outlive it.
        session.pendingJoin = null
        if (session.pickupTimer) this.core.clock.clearTimeout(session.pickupTimer)
        session.pickupTimer = null
        this.parts.links.sendTo(conn, wire.join({ inviteId: invite.inviteId, user: this.core.self, ...this.parts.journaling.resumeClaim() }))
      },
      (error: unknown) => {
        if (!this.current(session)) return
        // The join ends with what was missing (no ICE servers, no TURN), said once as a diagnostic.
        if (isIceFailure(error)) this.core.diagnostic(error.code, error.message, { error })
        this.core.finish(isIceFailure(error) ? error.code : 'join-failed')
      },
    )
    const answerCode = encodeAnswer({ inviteId: invite.inviteId, signal: await this.packSignal(pending.answer) })
    let relayed = false
    if (ref && seat) {
      try {
        await this.core.relay!.postAnswer(ref.id, ref.key, seat.slot, answerCode)
        relayed = true
      } catch (error) {
        if (!(error instanceof RelayError) || (error.code !== 'relay-unavailable' && error.code !== 'relay-rate-limited')) {
          // The seat is taken, the invite withdrawn or expired: pasting the code would not help either.
          pending.cancel()
          this.core.finish('join-failed')
          throw error
        }
        this.core.diagnostic('relay-unavailable', `${error.message} Copy your answer code and send it to the host instead.`, { error })
      }
    }
    this.watchPickup(session, answerCode, relayed)
    return { answerCode, provision: invite.provision, relayed }
  }

  /** An answer the host does not connect for in time: the guest hears what may be wrong, and can send the code by hand. */
  private watchPickup(session: Session, answerCode: string, relayed: boolean): void {
    if (session.hostConn) return
    const waitedMs = relayed ? this.core.timers.relayPickupMs : this.core.timers.pastePickupMs
    session.pickupTimer = this.core.clock.setTimeout(() => {
      session.pickupTimer = null
      if (!this.current(session) || session.hostConn) return
      const message = relayed
        ? `Your answer reached the relay, but the host has not picked it up in ${Math.round(waitedMs / 1000)} s: their page may be closed, asleep or offline. Keep this page open to go on waiting, or copy your answer code and send it to the host to paste.`
        : `The host has not connected in ${Math.round(waitedMs / 60_000)} min. Make sure they got your answer code and pasted it. If they did and nothing happened, someone else may have used this invite first (a pasted invite seats one person): ask the host for a new invite link.`
      this.core.emit('session-answer-unclaimed', { answerCode, waitedMs, relayed, message })
    }, waitedMs)
  }

  // ---------------------------------------------------------------- signals

  private async packSignal(signal: Signal): Promise<Uint8Array> {
    return this.core.transport.signalCodec ? this.core.transport.signalCodec.pack(signal) : new TextEncoder().encode(signal)
  }

  private async unpackSignal(bytes: Uint8Array): Promise<Signal> {
    return this.core.transport.signalCodec ? this.core.transport.signalCodec.unpack(bytes) : new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  }
}

/** A relay failure the guest can wait out, with words for the guest rather than the host. */
function forGuest(error: unknown, advice: string): unknown {
  if (!(error instanceof RelayError) || (error.code !== 'relay-unavailable' && error.code !== 'relay-rate-limited')) return error
  return new RelayError(error.code, undefined, { cause: error, ...(error.status !== undefined ? { status: error.status } : {}), ...(error.retryAfterSeconds !== undefined ? { retryAfterSeconds: error.retryAfterSeconds } : {}), advice })
}
