/**
 * Invites: open a seat (an offer packed into a link, or put on a relay) and take the
 * answer back; a guest's side of joining: read the invite, answer it.
 */
import { InviteError, SessionError, SessionStateError } from '../errors.js'
import { decodeAnswer, decodeInvite, encodeAnswer, encodeInvite, type Invite, inviteBlobFrom, inviteUrl } from '../invite/invite.js'
import { parseRelayFragment, RelayError, relayFragment, type RelayInviteRef, relayInviteUrl } from '../relay/index.js'
import { isIceFailure } from '../transport/ice-failure.js'
import type { Link, Signal } from '../transport/transport.js'
import type { SessionAccess, SessionInvite, SessionViewer } from '../types.js'
import { wire } from '../wire/build.js'
import { Part } from './state.js'

/** An invite read by a guest, not yet answered. */
export interface OpenedInvite {
  invite: Invite
  offer: Signal
  ref: RelayInviteRef | null
}

/** Thrown by createInvite when the link would be too long; `invite.code` can be pasted instead. */
export class InviteTooLongError extends InviteError {
  constructor(readonly invite: SessionInvite, readonly maxLength: number) {
    super('invite-too-long', `${invite.url.length} > ${maxLength} characters`)
  }
}

export class Invites<V extends SessionViewer = SessionViewer> extends Part<V> {
  /** Open a seat: an offer packed into a link (and on the relay, when there is one). */
  async createInvite(options: { access?: SessionAccess } = {}): Promise<SessionInvite> {
    if (this.core.session?.role !== 'host') throw new SessionStateError('not-host', 'Only the host of an active session can invite.')
    if (this.s.invites.size >= this.core.limits.pendingInvites) {
      throw new SessionStateError('too-many-invites', `At most ${this.core.limits.pendingInvites} invites can be open at once; wait for some to be used or expire.`)
    }
    const session = this.s
    const pending = await this.core.transport.createOffer()
    const signal = await this.packSignal(pending.offer).catch((error: unknown) => {
      pending.cancel()
      throw error
    })
    if (!this.current(session)) {
      pending.cancel()
      throw new SessionStateError('session-ended', 'The session ended while the invite was being prepared.')
    }
    const inviteId = this.core.random.id(this.core.timers.idSize)
    const ttl = this.core.timers.inviteTtlMs
    const expiresAt = this.core.clock.now() + ttl
    const timer = this.core.clock.setTimeout(() => this.dropInvite(inviteId), ttl)
    this.s.invites.set(inviteId, { pending, access: options.access ?? 'editor', expiresAt, used: false, timer })
    const code = encodeInvite({
      inviteId,
      sessionId: this.s.sessionId,
      expiresAt,
      signal,
      provision: this.core.options.provision?.(),
    })
    const url = inviteUrl(this.core.options.baseUrl ?? '', code)
    const invite: SessionInvite = { inviteId, url, fragment: `#session=${code}`, code, expiresAt }
    if (this.core.relay && (await this.publishToRelay(invite, Math.ceil(ttl / 1000)))) return invite
    const maxLength = this.core.timers.maxInviteUrlLength
    if (url.length > maxLength) throw new InviteTooLongError(invite, maxLength)
    return invite
  }

  /** Puts the sealed offer on the relay and waits there for the answer; false when the relay failed. */
  private async publishToRelay(invite: SessionInvite, ttlSeconds: number): Promise<boolean> {
    const relay = this.core.relay!
    let ref: { id: string; key: string }
    try {
      ref = await relay.publishOffer(invite.code, ttlSeconds)
    } catch (error) {
      invite.relayError = (error as Error).message
      this.core.diagnostic('relay-unavailable', `${(error as Error).message} Use the invite link and the guest's answer code instead.`, { error })
      return false
    }
    invite.url = relayInviteUrl(this.core.options.baseUrl ?? '', ref.id, ref.key)
    invite.fragment = relayFragment(ref.id, ref.key)
    invite.relayed = true
    const stop = typeof AbortController === 'function' ? new AbortController() : undefined
    const pending = this.s.invites.get(invite.inviteId)
    if (pending) pending.abort = () => stop?.abort()
    relay.waitForAnswer(ref.id, ref.key, stop ? { signal: stop.signal } : {}).then(
      (answer) => this.acceptAnswer(answer),
      (error: unknown) => {
        if (!stop?.signal.aborted) this.core.diagnostic('relay-answer-failed', `No answer through the relay: ${(error as Error)?.message ?? String(error)}`, { error })
      },
    ).catch((error: unknown) => this.core.diagnostic('join-failed', `A relayed answer could not be used: ${(error as Error)?.message ?? String(error)}`, { error }))
    return true
  }

  /** Complete a guest's link from the answer code it sent back. */
  async acceptAnswer(answerCode: string): Promise<void> {
    if (this.core.session?.role !== 'host') throw new SessionStateError('not-host', 'Only the host can add a peer.')
    const answer = decodeAnswer(answerCode.trim())
    const invite = this.s.invites.get(answer.inviteId)
    if (!invite) throw new InviteError(this.wasInvite(answer.inviteId) ? 'invite-used' : 'invite-unknown')
    if (invite.used) throw new InviteError('invite-used')
    if (this.core.clock.now() > invite.expiresAt) {
      this.dropInvite(answer.inviteId)
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
      this.dropInvite(answer.inviteId)
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
  }

  private wasInvite(inviteId: string): boolean {
    return this.core.usedInvites.has(inviteId)
  }

  dropInvite(inviteId: string): void {
    const invite = this.s.invites.get(inviteId)
    if (!invite) return
    this.s.invites.delete(inviteId)
    this.core.clock.clearTimeout(invite.timer)
    invite.abort?.()
    invite.pending.cancel()
  }

  // ---------------------------------------------------------------- guest

  /** Reads an invite (fetching a relayed one's sealed offer): what the guest will answer. */
  async open(urlOrFragment: string): Promise<OpenedInvite> {
    const ref = parseRelayFragment(urlOrFragment)
    if (ref && !this.core.relay) throw new SessionStateError('no-relay', 'This invite goes through a signalling relay, and this page has none configured. Ask the host for an invite code to paste.')
    const invite = decodeInvite(ref ? await this.core.relay!.fetchOffer(ref.id, ref.key) : inviteBlobFrom(urlOrFragment))
    if (this.core.clock.now() > invite.expiresAt) throw new InviteError('invite-expired')
    try {
      return { invite, offer: await this.unpackSignal(invite.signal), ref }
    } catch (cause) {
      throw new InviteError('invite-damaged', undefined, { cause })
    }
  }

  /**
   * Answers an opened invite: `begin` starts the session here, then the link to the host
   * completes (or the join times out). The answer code goes back by hand, or by the relay.
   */
  async answer(opened: OpenedInvite, begin: () => void): Promise<{ answerCode: string; provision?: unknown; relayed: boolean }> {
    const { invite, offer, ref } = opened
    const pending = await this.core.transport.acceptOffer(offer)
    begin()
    const session = this.s
    // However the session ends (leave, timeout, the host refusing), the attempt is freed with it.
    session.pendingJoin = pending
    session.joinTimer = this.core.clock.setTimeout(() => {
      pending.cancel()
      if (this.current(session)) this.core.finish('join-timeout')
    }, this.core.timers.joinTimeoutMs)
    pending.link.then(
      (link) => {
        if (!this.current(session)) return link.close('session-ended')
        const conn = this.parts.links.attach(link)
        session.hostConn = conn
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
    if (ref) {
      try {
        await this.core.relay!.postAnswer(ref.id, ref.key, answerCode)
        relayed = true
      } catch (error) {
        if (!(error instanceof RelayError) || error.code !== 'relay-unavailable') {
          // Answered by someone else, expired, unknown: pasting the code would not help either.
          pending.cancel()
          this.core.finish('join-failed')
          throw error
        }
        this.core.diagnostic('relay-unavailable', `${error.message} Send the answer code to the host instead.`, { error })
      }
    }
    return { answerCode, provision: invite.provision, relayed }
  }

  // ---------------------------------------------------------------- signals

  private async packSignal(signal: Signal): Promise<Uint8Array> {
    return this.core.transport.signalCodec ? this.core.transport.signalCodec.pack(signal) : new TextEncoder().encode(signal)
  }

  private async unpackSignal(bytes: Uint8Array): Promise<Signal> {
    return this.core.transport.signalCodec ? this.core.transport.signalCodec.unpack(bytes) : new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  }
}
