/**
 * Resume tokens: how a peer whose page crashed, slept or was discarded (no goodbye was sent)
 * comes back at once, instead of being refused as a duplicate until its old link times out.
 *
 * The host gives each guest it admits a random secret over the authenticated link (in its
 * hello), and keeps only a hash of it. The hashes travel in the roster, so whoever hosts next
 * can check a returning guest's token too. A join that presents the right token replaces the
 * old link the host still holds; one without it is a duplicate, as before. A token is used once:
 * the admission it buys gives a new one.
 *
 * With no relay, a reloaded page needs a fresh invite, and any peer may give one: a guest's
 * invite lets only a returning peer through (the host alone admits newcomers). The resumer
 * joins the guest; the guest asks it for an offer of a link to the host (`door`), passes its
 * `knock` (offer, word and token) to the host, and the host's answer back (`door`). The host
 * checks the token before it answers; the join on the new link needs no other proof.
 */
import { sha256 } from '@noble/hashes/sha2'
import { toBase64url } from '../encoding/bytes.js'
import type { PendingAnswer } from '../transport/transport.js'
import type { SessionAccess, SessionViewer } from '../types.js'
import { wire } from '../wire/build.js'
import type { MessageOf } from '../wire/messages.js'
import { type Conn, Part } from './state.js'

/** Random characters in a token (nanoid alphabet, 6 bits each): 132 bits. */
const TOKEN_SIZE = 22
/** Bytes of SHA-256 kept as a token's hash: 128 bits, beyond any search. */
const HASH_BYTES = 16

/** Whether a join from `userId` comes back for a peer the session still holds, and may. */
export type Return = 'new' | 'back' | 'duplicate'

export class Readmission<V extends SessionViewer = SessionViewer> extends Part<V> {
  /** Host: a fresh token for a guest being admitted (any earlier one is void from now on). */
  issue(peerId: string, access: SessionAccess): string {
    const token = this.core.random.id(TOKEN_SIZE)
    this.s.resumeKeys.set(peerId, { hash: hashOf(token), access })
    return token
  }

  /** Host: the hashes of the roster's guests' tokens, with their access, to replicate with the roster. */
  keys(): Array<[string, string, SessionAccess]> {
    return this.s.rank.flatMap((id) => {
      const key = this.s.resumeKeys.get(id)
      return key ? [[id, key.hash, key.access] as [string, string, SessionAccess]] : []
    })
  }

  /** Guest: the hashes our host published; a successor of ours will need them. */
  learn(keys: MessageOf<'roster'>['keys']): void {
    this.s.resumeKeys.setAll((keys ?? []).map(([id, hash, access]) => [id, { hash, access }] as const))
  }

  /** Guest: our host's hello; when it admitted us, it carries our new token (its keys are the roster's). */
  heard(hello: MessageOf<'hello'>): void {
    if (hello.token === undefined) return
    this.s.resumeToken = hello.token
    this.parts.journaling.identityChanged()
  }

  /** A peer removed for good cannot come back with its token either. */
  forget(peerId: string): void {
    this.s.resumeKeys.delete(peerId)
  }

  /**
   * Host: whether a join of `userId` (on `conn`) is a newcomer, a peer back with its token
   * (the token is spent), or a duplicate of one still here. "Still here": in the roster, or on
   * a link we still hear (a peer taken back on probation), not only a fenced one.
   */
  returning(conn: Conn, userId: string, token: string | undefined): Return {
    if (userId === this.core.self.id) return 'duplicate'
    // A link opened for a knock whose token we checked: for that user alone.
    if (conn.vouched !== undefined) return conn.vouched === userId ? 'back' : 'duplicate'
    const here = this.s.peers.has(userId) || [...this.s.conns].some((c) => c !== conn && c.peerId === userId && !c.fenced)
    if (!here) return 'new'
    return this.redeem(userId, token) ? 'back' : 'duplicate'
  }

  /** `userId`'s access when `token` is its resume token (which is spent then), or null. */
  private redeem(userId: string, token: string | undefined): SessionAccess | null {
    const key = this.s.resumeKeys.get(userId)
    if (token === undefined || key === undefined || !sameHash(hashOf(token), key.hash)) return null
    this.s.resumeKeys.delete(userId)
    return key.access
  }

  /** Host: the links a peer being admitted left behind (dead, or fenced) go; the new one replaces them. */
  closeOldLinks(conn: Conn, userId: string): void {
    for (const old of [...this.s.conns]) if (old !== conn && old.peerId === userId) this.parts.links.detach(old, 'resumed')
  }

  // ---------------------------------------------------------------- coming back through a guest

  /** Guest: a peer joined through our invite. Only a returning one may (it proves it to the host): ask it for its knock. */
  onJoinThroughUs(conn: Conn, message: MessageOf<'join'>): void {
    conn.joined = true
    if (message.inviteId !== conn.inviteId || message.resume?.token === undefined) {
      this.core.diagnostic('join-refused', `Refused "${message.user.name}": an invite of a guest lets only a peer coming back through.`, { peerId: message.user.id })
      this.parts.links.sendTo(conn, wire.end({ reason: 'guest-invite' }))
      return this.parts.links.detach(conn, 'guest-invite')
    }
    conn.knocker = message.user.id
    this.parts.links.sendTo(conn, wire.door({ peer: message.user.id }))
  }

  /** A knock: a guest passes it on to its host; the host answers it. */
  onKnock(conn: Conn, message: MessageOf<'knock'>): void {
    // One knock per link: passing on more would spend our own signalling budget with the host.
    conn.knocker = undefined
    if (this.s.role === 'host') return this.answerKnock(conn, message)
    if (!this.s.hostConn) return this.parts.links.sendTo(conn, wire.door({ peer: message.user.id, reason: 'no-host' }))
    this.s.knocks.set(message.user.id, conn)
    this.parts.links.sendTo(this.s.hostConn, message)
  }

  /**
   * Host: a peer knocks through one of our guests (or through us, had we been a guest when it
   * joined). Its token must be the one we (or the host before us) gave it; then we answer its
   * offer, and the link that opens is for it alone.
   */
  private answerKnock(conn: Conn, message: MessageOf<'knock'>): void {
    const user = message.user
    const refuse = (reason: string) => this.parts.links.sendTo(conn, wire.door({ peer: user.id, reason }))
    if (!this.parts.host.withinBudget(conn, 'signal')) return this.parts.host.overBudget(conn, 'signal')
    if (this.s.removed.has(user.id)) return refuse('removed')
    const access = user.id === this.core.self.id ? null : this.redeem(user.id, message.resume.token)
    if (!access) {
      this.core.diagnostic('join-refused', `Refused "${user.name}" coming back through ${conn.peerId ?? 'us'}: no valid resume token.`, { peerId: user.id })
      return refuse('duplicate-user')
    }
    const session = this.s
    // Answering takes ICE gathering: the other handlers go on meanwhile.
    this.core.transport.acceptOffer(message.signal).then(
      (pending) => (this.current(session) ? this.openDoor(conn, user.id, access, pending) : pending.cancel()),
      (error: unknown) => {
        if (!this.current(session)) return
        this.core.diagnostic('link-failed', `Could not answer the offer of "${user.name}", coming back: ${(error as Error)?.message ?? String(error)}`, { peerId: user.id, error })
        refuse('link-failed')
      },
    )
  }

  /** Host: our answer goes back the way the knock came; the link it opens is for `userId` alone. */
  private openDoor(conn: Conn, userId: string, access: SessionAccess, pending: PendingAnswer): void {
    const session = this.s
    const doorId = this.core.random.id(this.core.timers.idSize)
    const timer = this.core.clock.setTimeout(() => pending.cancel(), this.core.timers.linkTimeoutMs)
    pending.link.then(
      (link) => {
        this.core.clock.clearTimeout(timer)
        if (!this.current(session)) return link.close('session-ended')
        const back = this.parts.links.attach(link, doorId)
        back.vouched = userId
        back.access = access
      },
      () => this.core.clock.clearTimeout(timer),
    )
    this.parts.links.sendTo(conn, wire.door({ peer: userId, inviteId: doorId, signal: pending.answer }))
  }

  /** A door: for a peer knocking through us (pass it on), or for us, coming back through a guest. */
  onDoor(message: MessageOf<'door'>): void {
    if (message.peer !== this.core.self.id) {
      const knocker = this.s.knocks.get(message.peer)
      if (!knocker || !this.s.conns.has(knocker)) return
      this.parts.links.sendTo(knocker, message)
      if (message.signal !== undefined || message.reason !== undefined) this.s.knocks.delete(message.peer)
      return
    }
    // Ours only while we come back and no host has greeted us yet.
    const via = this.s.hostConn
    if (!via || this.s.hostId !== null) return
    if (message.reason !== undefined) return this.core.finish(message.reason)
    if (message.signal === undefined || message.inviteId === undefined) return this.knock(via)
    this.enter(via, message.inviteId, message.signal)
  }

  /** Resumer: our offer of a link to the host, with our word and token, for the guest to pass on. */
  private knock(via: Conn): void {
    const claim = this.parts.journaling.resumeClaim()
    const token = 'resume' in claim ? claim.resume.token : undefined
    if (this.s.doorOffer || !('resume' in claim) || token === undefined) return
    const session = this.s
    this.core.transport.createOffer().then(
      (pending) => {
        if (!this.current(session) || this.s.hostConn !== via) return pending.cancel()
        this.s.doorOffer = pending
        this.parts.links.sendTo(via, wire.knock({ user: this.core.self, resume: { ...claim.resume, token }, signal: pending.offer }))
      },
      () => this.current(session) && this.core.finish('join-failed'),
    )
  }

  /** Resumer: the host answered our offer: its link becomes our host link, and the guest's goes. */
  private enter(via: Conn, inviteId: string, answer: string): void {
    const offer = this.s.doorOffer
    if (!offer) return
    const session = this.s
    offer.complete(answer).then(
      (link) => {
        if (!this.current(session) || this.s.hostConn !== via) return link.close('session-ended')
        const conn = this.parts.links.attach(link)
        this.s.hostConn = conn
        this.s.doorOffer = null
        this.parts.links.detach(via, 'through')
        this.parts.links.sendTo(conn, wire.join({ inviteId, user: this.core.self, ...this.parts.journaling.resumeClaim() }))
      },
      () => this.current(session) && this.core.finish('join-failed'),
    )
  }
}

/** What is kept of a token: its SHA-256, cut to 128 bits, in base64url (22 characters). */
export function hashOf(token: string): string {
  return toBase64url(sha256(new TextEncoder().encode(token)).subarray(0, HASH_BYTES))
}

/** Equal hashes, compared in time that does not depend on where they differ. */
export function sameHash(a: string, b: string): boolean {
  if (a.length !== b.length) return false
  let difference = 0
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return difference === 0
}
