/**
 * What an invited guest sees before joining: who invites, as what, the places left and until
 * when. A link that can seat nobody any more (withdrawn, expired, full) says so at once, in
 * words, before anything is sent.
 */
import type { SessionInvitePreview, SessionSyncController } from '../src/index.js'

export interface InvitePreviewOptions {
  /** Where the preview goes, one line. */
  text: HTMLElement
  /** What Join will do, which depends on how the invite travels. */
  hint: HTMLElement
  showError: (error: unknown) => void
  /** What was said about the last link goes with it. */
  clearError: () => void
}

const BY_HAND = 'Joining sends nothing yet: it makes an answer code for you to send back to the host.'
const BY_RELAY = 'Join, and your answer goes to the host by itself: you are in as soon as they let you in.'

export function invitePreview(session: SessionSyncController, options: InvitePreviewOptions) {
  /** The fragment last looked at: a late answer about another link is dropped. */
  let asked = ''

  /** Looks at the invite in the address bar (call on load and on every change of it). */
  return async function preview(fragment: string | null): Promise<void> {
    if (fragment === asked) return
    asked = fragment ?? ''
    options.clearError()
    options.text.textContent = ''
    options.hint.textContent = BY_HAND
    if (!fragment || session.getState() !== 'idle') return
    try {
      const seen = await session.previewInvite(fragment)
      if (asked !== fragment) return
      options.text.textContent = describe(seen)
      options.hint.textContent = seen.relayed ? BY_RELAY : BY_HAND
    } catch (error) {
      if (asked === fragment && session.getState() === 'idle') options.showError(error)
    }
  }
}

function describe(seen: SessionInvitePreview): string {
  const until = new Date(seen.expiresAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
  const who = seen.invitedBy ? `${seen.invitedBy} invites you` : 'You are invited'
  const as = seen.access ? ` as ${seen.access === 'viewer' ? 'a viewer (look and point only)' : 'an editor'}` : ''
  const places = seen.seats > 1 ? ` · ${seen.open} of ${seen.seats} places free` : ''
  return `${who}${as}${places} · valid until ${until}`
}
