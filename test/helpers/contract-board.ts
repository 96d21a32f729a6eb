/// <reference path="../../types/global.d.ts" />
/**
 * A provider written the way the published SessionSyncProvider contract shows one, field
 * for field, against the ambient types of `session-sync/global` (no import): deltas are
 * `{ providerId, viewerUniqueId, intentId: '', sourceUserId: '', kind, payload }`, echoes are
 * skipped with an `applyingRemote` flag, `applyDelta` starts with `if (meta.bootstrap) return`.
 * Nothing in it knows session-sync's own names (`viewerId`, `view`). Unit tests and the
 * browser tests (e2e/pages/contract.ts) use it alike.
 */

interface NotePayload {
  key: string
  value: string
}

/** What a test reads back: every applyDelta call, as the provider saw it. */
export interface AppliedCall {
  delta: SessionDelta
  meta: { remote: boolean; origin: string; role: string; viewer: string | null; bootstrap: boolean | undefined; seq?: number; intentId?: string }
}

export class ContractBoard {
  /** viewerUniqueId (or '*' for a global board) → key → value */
  readonly notes = new Map<string, Record<string, string>>()
  readonly applied: AppliedCall[] = []
  readonly provider: SessionSyncProvider
  private emit: ((delta: SessionDelta) => void) | null = null
  private applyingRemote = false
  private readonly seenIntents = new Set<string>()
  private held: Array<() => void> | null = null

  constructor(readonly id: string, readonly scope: 'per-viewer' | 'global', priority = 40) {
    const board = this
    this.provider = {
      id,
      scope,
      priority,
      snapshot(viewer) {
        const state = { ...board.notesOf(viewer?.uniqueId) }
        // Read now, handed over later when held: the contract allows a late promise.
        return board.held ? new Promise((resolve) => board.held!.push(() => resolve(state))) : state
      },
      applySnapshot(data, viewer) {
        board.applyingRemote = true
        board.notes.set(viewer?.uniqueId ?? '*', { ...(data as Record<string, string>) })
        board.applyingRemote = false
      },
      subscribe(emit) {
        board.emit = emit
        return () => {
          board.emit = null
        }
      },
      applyDelta(delta, meta) {
        board.applied.push({
          delta: JSON.parse(JSON.stringify(delta)) as SessionDelta,
          meta: { remote: meta.remote, origin: meta.origin, role: meta.role, viewer: meta.viewer?.uniqueId ?? null, bootstrap: meta.bootstrap, seq: meta.seq, intentId: meta.intentId },
        })
        if (meta.bootstrap) return
        // Idempotent per intent, as the contract asks (view deltas carry none).
        if (delta.intentId) {
          if (board.seenIntents.has(delta.intentId)) return
          board.seenIntents.add(delta.intentId)
        }
        const { key, value } = delta.payload as NotePayload
        board.applyingRemote = true
        board.notesOf(delta.viewerUniqueId ?? undefined)[key] = value
        // A real module's post-event would fire here and reach `emit`; the flag keeps it local.
        board.changed(key, value, delta.viewerUniqueId ?? undefined)
        board.applyingRemote = false
      },
    }
  }

  notesOf(viewerUniqueId: string | undefined): Record<string, string> {
    const key = viewerUniqueId ?? '*'
    let notes = this.notes.get(key)
    if (!notes) this.notes.set(key, (notes = {}))
    return notes
  }

  /** A local user's change. */
  write(key: string, value: string, viewerUniqueId?: string): void {
    this.notesOf(viewerUniqueId)[key] = value
    this.changed(key, value, viewerUniqueId)
  }

  /** Snapshots wait (already read) until `release()`. */
  hold(): void {
    this.held = []
  }

  release(): void {
    const waiting = this.held ?? []
    this.held = null
    for (const resolve of waiting) resolve()
  }

  /** The module's own change event, as the contract's subscribe wires it. */
  private changed(key: string, value: string, viewerUniqueId?: string): void {
    if (this.applyingRemote) return
    this.emit?.({
      providerId: this.id,
      viewerUniqueId,
      intentId: '',
      sourceUserId: '',
      kind: 'note-set',
      payload: { key, value },
    })
  }
}
