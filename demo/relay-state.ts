/**
 * The host's relay, in plain words: ready, reachable (waiting for guests), not answering
 * (retrying), or unreachable — then invites fall back to codes and the paste field shows.
 * From `getRelayState()` and every `session-relay-state`.
 */
import type { RelayListenerState, SessionSyncController } from '../src/index.js'

export function relayIndicator(session: SessionSyncController, el: HTMLElement, onChange: () => void) {
  let state: RelayListenerState = session.getRelayState()
  let since = Date.now()
  /** The last invite could not be put on the relay: it is as good as unreachable until it listens again. */
  let publishFailed = false

  session.on('session-relay-state', (next) => {
    state = next
    since = Date.now()
    if (next.state === 'listening') publishFailed = false
    onChange()
  })
  session.on('session-started', () => (publishFailed = false))

  const down = () => publishFailed || state.state === 'unreachable'

  function words(): [string, string] {
    if (down()) return ['Relay unreachable — invites fall back to codes: send the link below, and paste the answer code the guest sends back.', 'bad']
    switch (state.state) {
      case 'idle':
        return ['Relay ready — a link you create lets guests in with one click.', '']
      case 'listening':
        return [`Relay reachable — waiting for guests on ${state.watching === 1 ? '1 link' : `${state.watching} links`}.`, 'ok']
      case 'retrying': {
        const left = Math.max(0, Math.ceil((since + state.retryInMs - Date.now()) / 1000))
        return [`Relay not answering — trying again${left ? ` in ${left} s` : ' now'}.`, 'wait']
      }
      default:
        return [state.message, '']
    }
  }

  return {
    /** Draws the line (also every second, for the retry countdown); shown to a host with a relay. */
    render(visible: boolean): void {
      el.hidden = !visible
      if (!visible) return
      const [text, tone] = words()
      el.textContent = text
      el.dataset.tone = tone
      el.dataset.state = down() ? 'unreachable' : state.state
    },
    down,
    /** The relay refused or missed the last invite. */
    publishFailed(): void {
      publishFailed = true
      onChange()
    },
  }
}
