/**
 * Invites as the core holds them: the host's seats and the guest's side of joining, whose
 * code (invite-desk.ts, with the invite codec, pako and the host's list of invites) loads
 * with the first invite or join, or in idle time after `start()`. A page that never
 * invites or joins never loads it, and a running session never waits for it: a seat, and
 * so every timer or link of one, exists only once the desk has loaded.
 */
import { SessionError } from '../errors.js'
import { loadOnce } from '../runtime/load-once.js'
import type { RelayListenerState } from '../relay/index.js'
import { NO_RELAY_LISTENER } from '../relay/idle.js'
import type { SessionAccess, SessionInvite, SessionInviteInfo, SessionInvitePreview, SessionViewer } from '../types.js'
import type { InviteDesk, OpenedInvite } from './invite-desk.js'
import { Part } from './state.js'

export class Invites<V extends SessionViewer = SessionViewer> extends Part<V> {
  private loaded: InviteDesk<V> | undefined
  private readonly desk = loadOnce(
    () => import('./invite-desk.js'),
    ({ InviteDesk }) => (this.loaded = new InviteDesk<V>(this.core)),
    (cause) => new SessionError('invites-unavailable', 'The code for invites could not be loaded. Check the connection and try again, or reload the page.', { cause }),
  )

  /** Loads the desk soon, off the caller's task, so the first invite does not wait for it; a failure is left for that call to report. */
  preload(): void {
    this.core.clock.setTimeout(() => this.desk().catch(() => undefined), 0)
  }

  /** The relay listener's state (idle when there is no relay or nothing to listen for). */
  get relayState(): RelayListenerState {
    return this.loaded?.relayState ?? NO_RELAY_LISTENER
  }

  listInvites(): SessionInviteInfo[] {
    return this.loaded?.listInvites() ?? []
  }

  /** Closes a seat without a guest (with the session, say); without the desk there is none to close. */
  dropInvite(inviteId: string): void {
    this.loaded?.dropInvite(inviteId)
  }

  async createInvite(options: { access?: SessionAccess; seats?: number; ttlMs?: number } = {}): Promise<SessionInvite> {
    return (await this.desk()).createInvite(options)
  }

  async acceptAnswer(answerCode: string): Promise<void> {
    return (await this.desk()).acceptAnswer(answerCode)
  }

  async revokeInvite(inviteId: string): Promise<void> {
    return (await this.desk()).revokeInvite(inviteId)
  }

  async reissueInvite(inviteId: string): Promise<SessionInvite> {
    return (await this.desk()).reissueInvite(inviteId)
  }

  async open(urlOrFragment: string): Promise<OpenedInvite> {
    return (await this.desk()).open(urlOrFragment)
  }

  async preview(urlOrFragment: string): Promise<SessionInvitePreview> {
    return (await this.desk()).preview(urlOrFragment)
  }

  async answer(opened: OpenedInvite, begin: () => void): Promise<{ answerCode: string; provision?: unknown; relayed: boolean }> {
    return (await this.desk()).answer(opened, begin)
  }
}
