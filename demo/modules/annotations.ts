/**
 * Annotation sync for Annotorious: one mutating delta per shape and action (create,
 * move/reshape/comment, delete), never a dump of a whole viewer. A delta carries the
 * shape's whole new state, so applying it twice changes nothing, whichever order
 * replays arrive in; the host's order settles concurrent edits of one shape.
 */
import type { ImageAnnotation, Store } from '@annotorious/openseadragon'
import type { SessionDelta } from '../../src/index.js'
import type { DemoViewer } from '../viewers.js'

/** What travels: only what the shape is, not Annotorious' internal bookkeeping. */
export interface AnnotationState {
  id: string
  selector: ImageAnnotation['target']['selector']
  comment: string
  creator: { id: string; name?: string } | null
}

type AnnotationDelta = SessionDelta & { viewerId: string } & (
  | { op: 'upsert'; annotation: AnnotationState }
  | { op: 'delete'; id: string }
)

interface UndoEntry {
  viewerId: string
  id: string
  /** null: the shape did not exist before (undo deletes it). */
  before: AnnotationState | null
  after: AnnotationState | null
  at: number
}

type Origin = NonNullable<Parameters<Store<ImageAnnotation>['observe']>[1]>['origin']
// Annotorious' store tags every change with an origin. Remote changes are applied as
// REMOTE, and we only listen to LOCAL ones: that is what keeps them from echoing back.
const LOCAL = 'LOCAL' as Origin
const REMOTE = 'REMOTE' as Origin

/** A shape being dragged changes every frame; send its state at most this often. */
const UPDATE_INTERVAL_MS = 100
/** Edits of one shape closer together than this are one step of Undo. */
const UNDO_MERGE_MS = 1500

export function createAnnotationsModule(viewers: readonly DemoViewer[]) {
  const byId = new Map(viewers.map((v) => [v.uniqueId, v]))
  let emit: ((delta: AnnotationDelta) => void) | null = null
  const undoStack: UndoEntry[] = []
  const pending = new Map<string, { timer: ReturnType<typeof setTimeout> | null; last: number }>()
  const listeners = new Set<() => void>()
  const changed = () => listeners.forEach((fn) => fn())

  const storeOf = (viewerId: string) => byId.get(viewerId)!.anno.state.store

  function current(viewerId: string, id: string): AnnotationState | null {
    const a = storeOf(viewerId).getAnnotation(id)
    return a ? toState(a) : null
  }

  // ---- local changes → deltas

  for (const viewer of viewers) {
    viewer.anno.state.store.observe(
      ({ changes }) => {
        if (window.SESSION?.isApplyingRemote()) return
        const viewerId = viewer.uniqueId
        for (const a of changes.created ?? []) {
          record({ viewerId, id: a.id, before: null, after: toState(a), at: Date.now() })
          send({ viewerId, op: 'upsert', annotation: toState(a) })
        }
        for (const { oldValue, newValue } of changes.updated ?? []) {
          record({ viewerId, id: newValue.id, before: toState(oldValue), after: toState(newValue), at: Date.now() })
          sendUpdateSoon(viewerId, newValue.id)
        }
        for (const a of changes.deleted ?? []) {
          cancelUpdate(viewerId, a.id)
          record({ viewerId, id: a.id, before: toState(a), after: null, at: Date.now() })
          send({ viewerId, op: 'delete', id: a.id })
        }
        changed()
      },
      { origin: LOCAL },
    )
  }

  function send(delta: AnnotationDelta): void {
    emit?.(delta)
  }

  /** Leading and trailing: the first move goes out at once, the final position always does. */
  function sendUpdateSoon(viewerId: string, id: string): void {
    const key = `${viewerId}/${id}`
    const entry = pending.get(key) ?? { timer: null, last: 0 }
    pending.set(key, entry)
    const flush = () => {
      entry.timer = null
      entry.last = performance.now()
      const state = current(viewerId, id)
      if (state) send({ viewerId, op: 'upsert', annotation: state })
    }
    const wait = UPDATE_INTERVAL_MS - (performance.now() - entry.last)
    if (wait <= 0 && !entry.timer) flush()
    else entry.timer ??= setTimeout(flush, Math.max(wait, 0))
  }

  function cancelUpdate(viewerId: string, id: string, flushNow = false): void {
    const entry = pending.get(`${viewerId}/${id}`)
    if (!entry?.timer) return
    clearTimeout(entry.timer)
    entry.timer = null
    const state = flushNow ? current(viewerId, id) : null
    if (state) send({ viewerId, op: 'upsert', annotation: state })
  }

  function record(entry: UndoEntry): void {
    const top = undoStack[undoStack.length - 1]
    // A drag is dozens of updates: keep the state from before it began.
    if (top && top.after && entry.before && top.viewerId === entry.viewerId && top.id === entry.id && entry.at - top.at < UNDO_MERGE_MS) {
      top.after = entry.after
      top.at = entry.at
      return
    }
    undoStack.push(entry)
    if (undoStack.length > 200) undoStack.shift()
  }

  // ---- remote deltas → Annotorious

  function apply(delta: AnnotationDelta): boolean {
    const viewer = byId.get(delta.viewerId)
    if (!viewer) return false
    const store = viewer.anno.state.store
    const id = delta.op === 'delete' ? delta.id : delta.annotation.id
    // Whatever someone else did to this shape replaces what we may be about to send.
    cancelUpdate(delta.viewerId, id)
    if (delta.op === 'delete') {
      if (!store.getAnnotation(id)) return false
      if (viewer.anno.getSelected().some((a) => a.id === id)) viewer.anno.cancelSelected()
      store.deleteAnnotation(id, REMOTE)
    } else {
      if (same(current(delta.viewerId, id), delta.annotation)) return false
      store.upsertAnnotation(toAnnotorious(delta.annotation), REMOTE)
    }
    changed()
    return true
  }

  return {
    list: (viewerId: string): AnnotationState[] => (byId.has(viewerId) ? storeOf(viewerId).all().map(toState) : []),
    onChange(fn: () => void) {
      listeners.add(fn)
      return () => listeners.delete(fn)
    },
    canUndo: () => undoStack.length > 0,

    /** Undoes this user's last action by sending its inverse as a new change. */
    undo(): string | null {
      const entry = undoStack.pop()
      if (!entry) return 'Nothing to undo.'
      const viewer = byId.get(entry.viewerId)!
      cancelUpdate(entry.viewerId, entry.id)
      if (!same(current(entry.viewerId, entry.id), entry.after)) {
        changed()
        return 'Not undone: someone else has changed that shape since.'
      }
      if (viewer.anno.getSelected().some((a) => a.id === entry.id)) viewer.anno.cancelSelected()
      // Applied like a remote change so the observer above does not record it as a new
      // action; sent by hand, as a new change with a fresh intent id.
      const store = viewer.anno.state.store
      if (entry.before) {
        store.upsertAnnotation(toAnnotorious(entry.before), REMOTE)
        send({ viewerId: entry.viewerId, op: 'upsert', annotation: entry.before })
      } else {
        store.deleteAnnotation(entry.id, REMOTE)
        send({ viewerId: entry.viewerId, op: 'delete', id: entry.id })
      }
      changed()
      return null
    },

    /** Sets the comment of a shape (a `commenting` body), as a local edit. */
    setComment(viewerId: string, id: string, text: string): void {
      const viewer = byId.get(viewerId)
      const annotation = viewer?.anno.getAnnotationById(id)
      if (!viewer || !annotation) return
      const state = toState(annotation)
      if (state.comment === text) return
      viewer.anno.updateAnnotation(toAnnotorious({ ...state, comment: text }))
      cancelUpdate(viewerId, id, true)
    },

    connect() {
      const session = window.SESSION
      if (!session) return
      session.declareModule({ id: 'annotations', sessionCompatible: 'provider' })
      session.registerProvider({
        id: 'annotations',
        scope: 'per-viewer',
        priority: 20,
        snapshot: (viewer) => storeOf(viewer!.uniqueId).all().map(toState),
        applySnapshot: (data: AnnotationState[], viewer) => {
          const v = byId.get(viewer!.uniqueId)!
          v.anno.cancelSelected()
          v.anno.state.store.bulkAddAnnotations(data.map(toAnnotorious), true, REMOTE)
          // The host's state replaced ours: our own history no longer applies.
          for (let i = undoStack.length - 1; i >= 0; i--) if (undoStack[i]!.viewerId === v.uniqueId) undoStack.splice(i, 1)
          changed()
        },
        subscribe: (send) => {
          emit = send
          return () => {
            emit = null
          }
        },
        applyDelta: (delta: AnnotationDelta) => apply(delta),
      })
    },
  }
}

function toState(a: ImageAnnotation): AnnotationState {
  const creator = a.target.creator
  return {
    id: a.id,
    selector: JSON.parse(JSON.stringify(a.target.selector)),
    comment: a.bodies.find((b) => b.purpose === 'commenting')?.value ?? '',
    creator: creator ? { id: creator.id, ...(creator.name ? { name: creator.name } : {}) } : null,
  }
}

function toAnnotorious(s: AnnotationState): ImageAnnotation {
  return {
    id: s.id,
    bodies: s.comment ? [{ id: `${s.id}:comment`, annotation: s.id, purpose: 'commenting', value: s.comment }] : [],
    target: { annotation: s.id, selector: s.selector, ...(s.creator ? { creator: s.creator } : {}) },
  }
}

function same(a: AnnotationState | null, b: AnnotationState | null): boolean {
  return stable(a) === stable(b)
}

/** JSON with sorted keys: two peers' copies of a shape compare equal whatever their key order. */
function stable(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
  )
}
