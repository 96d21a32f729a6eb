/**
 * Resume tokens: how a peer whose page crashed, slept or was discarded (no goodbye was sent)
 * comes back at once, instead of being refused as a duplicate until its old link times out.
 *
 * The host gives each guest it admits a random secret over the authenticated link (in its
 * hello), and keeps only a hash of it. The hashes travel in the roster, so whoever hosts next
 * can check a returning guest's token too. A join that presents the right token replaces the
 * old link the host still holds; one without it is a duplicate, as before. A token is used once:
 * the admission it buys gives a new one.
 */
import { sha256 } from '@noble/hashes/sha2'
import type { SessionViewer } from '../types.js'
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
  issue(peerId: string): string {
    const token = this.core.random.id(TOKEN_SIZE)
    this.s.resumeKeys.set(peerId, hashOf(token))
    return token
  }

  /** Host: the hashes of the roster's guests' tokens, to replicate with the roster. */
  keys(): Array<[string, string]> {
    return this.s.rank.flatMap((id) => {
      const key = this.s.resumeKeys.get(id)
      return key ? [[id, key] as [string, string]] : []
    })
  }

  /** Guest: the hashes our host published; a successor of ours will need them. */
  learn(keys: MessageOf<'roster'>['keys']): void {
    for (const [id, key] of keys ?? []) this.s.resumeKeys.set(id, key)
  }

  /** Guest: our host's hello; when it admitted us, it carries our new token. */
  heard(hello: MessageOf<'hello'>): void {
    this.learn(hello.keys)
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
    const here = this.s.peers.has(userId) || [...this.s.conns].some((c) => c !== conn && c.peerId === userId && !c.fenced)
    if (!here) return 'new'
    const key = this.s.resumeKeys.get(userId)
    if (token === undefined || key === undefined || !sameHash(hashOf(token), key)) return 'duplicate'
    this.s.resumeKeys.delete(userId)
    return 'back'
  }

  /** Host: the links a peer being admitted left behind (dead, or fenced) go; the new one replaces them. */
  closeOldLinks(conn: Conn, userId: string): void {
    for (const old of [...this.s.conns]) if (old !== conn && old.peerId === userId) this.parts.links.detach(old, 'resumed')
  }
}

export function hashOf(token: string): string {
  const digest = sha256(new TextEncoder().encode(token)).subarray(0, HASH_BYTES)
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('')
}

/** Equal hashes, compared in time that does not depend on where they differ. */
export function sameHash(a: string, b: string): boolean {
  if (a.length !== b.length) return false
  let difference = 0
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return difference === 0
}
