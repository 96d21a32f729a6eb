/**
 * The listeners of one link, by event: an array per event in use. Links are many (one per
 * peer, and a host holds one to each guest), and an emitter per link (a Map and three
 * closures) cost more than the handlers it holds.
 */
import type { LinkEvents } from './transport.js'

export class Listeners {
  private byType: Partial<Record<keyof LinkEvents, Array<(event: never) => void>>> = {}

  on<K extends keyof LinkEvents>(type: K, handler: (event: LinkEvents[K]) => void): void {
    const list = this.byType[type]
    if (list) list.push(handler)
    else this.byType[type] = [handler]
  }

  off<K extends keyof LinkEvents>(type: K, handler: (event: LinkEvents[K]) => void): void {
    const list = this.byType[type]
    const at = list ? list.indexOf(handler) : -1
    if (at >= 0) list!.splice(at, 1)
  }

  emit<K extends keyof LinkEvents>(type: K, event: LinkEvents[K]): void {
    const list = this.byType[type] as Array<(event: LinkEvents[K]) => void> | undefined
    if (!list) return
    // A handler may add or remove handlers: those called are the ones there when the event came.
    if (list.length === 1) list[0]!(event)
    else for (const handler of list.slice()) handler(event)
  }

  clear(): void {
    this.byType = {}
  }
}
