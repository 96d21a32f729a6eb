/**
 * Annotation sync for Annotorious: one mutating delta per shape and action (create,
 * move/reshape, delete), one per comment added or removed, and one for a bulk change
 * (an import), never a dump of a whole viewer. Applying a delta twice changes nothing,
 * whichever order replays arrive in; the host's order settles concurrent edits of one
 * shape. A shape's delta never carries its comments (except to bring a deleted shape
 * back), so moving a shape cannot undo a comment someone added meanwhile.
 */
import type { ImageAnnotation, Store } from '@annotorious/openseadragon'
import { nanoid } from 'nanoid'
import type { SessionDelta, SessionDeltaMeta } from '../../src/index.js'
import type { DemoViewer } from '../viewers.js'
import {
  commentsOf,
  mergeComments,
  sameShape,
  shapeOf,
  toAnnotorious,
  toBody,
  toState,
  toTarget,
  type AnnotationState,
  type CommentEntry,
  type ShapeState,
} from './annotation-state.js'

export type { AnnotationState, CommentEntry } from './annotation-state.js'

export interface ShapeSummary {
  id: string
  /** rectangle, ellipse, polygon… */
  type: string
  creator: { id: string; name?: string } | null
  created?: number
  comments: number
}

type AnnotationDelta = SessionDelta & { viewerId: string } & (
  | { op: 'upsert'; annotation: ShapeState & { comments?: CommentEntry[] } }
  | { op: 'delete'; id: string }
  | { op: 'bulk'; upsert: AnnotationState[]; delete: string[] }
  | { op: 'comment'; id: string; comment: CommentEntry }
  | { op: 'uncomment'; id: string; commentId: string }
)

type UndoEntry =
  | {
      kind: 'shape'
      viewerId: string
      id: string
      /** null: the shape did not exist before (undo deletes it). */
      before: AnnotationState | null
      after: AnnotationState | null
      at: number
    }
  | { kind: 'comment'; viewerId: string; id: string; comment: CommentEntry; added: boolean; at: number }

type Origin = NonNullable<Parameters<Store<ImageAnnotation>['observe']>[1]>['origin']
// Annotorious' store tags every change with an origin. Remote changes are applied as
// REMOTE, and we only listen to LOCAL ones: that is what keeps them from echoing back.
const LOCAL = 'LOCAL' as Origin
const REMOTE = 'REMOTE' as Origin

/** A shape being dragged changes every frame; send its state at most this often. */
const UPDATE_INTERVAL_MS = 100
/** Edits of one shape closer together than this are one step of Undo. */
const UNDO_MERGE_MS = 1500
/** One store event with more shapes than this is an import: it travels as one bulk delta. */
const BULK_FROM = 2

export interface AnnotationsOptions {
  /** Runs a long store call with "Catching up…" on screen (see catching-up.ts). */
  catchUp: <T>(shapes: number, work: () => T) => Promise<T>
}

export function createAnnotationsModule(viewers: readonly DemoViewer[], options: AnnotationsOptions) {
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
        const created = changes.created ?? []
        const deleted = changes.deleted ?? []
        if (created.length + deleted.length >= BULK_FROM) {
          // An import (or a bulk removal): one delta, one store call on every other page.
          send({ viewerId, op: 'bulk', upsert: created.map(toState), delete: deleted.map((a) => a.id) })
          changed()
          return
        }
        for (const a of created) {
          record({ kind: 'shape', viewerId, id: a.id, before: null, after: toState(a), at: Date.now() })
          send({ viewerId, op: 'upsert', annotation: toState(a) })
        }
        for (const { oldValue, newValue } of changes.updated ?? []) {
          record({ kind: 'shape', viewerId, id: newValue.id, before: toState(oldValue), after: toState(newValue), at: Date.now() })
          sendUpdateSoon(viewerId, newValue.id)
        }
        for (const a of deleted) {
          cancelUpdate(viewerId, a.id)
          record({ kind: 'shape', viewerId, id: a.id, before: toState(a), after: null, at: Date.now() })
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
      const a = storeOf(viewerId).getAnnotation(id)
      if (a) send({ viewerId, op: 'upsert', annotation: shapeOf(a) })
    }
    const wait = UPDATE_INTERVAL_MS - (performance.now() - entry.last)
    if (wait <= 0 && !entry.timer) flush()
    else entry.timer ??= setTimeout(flush, Math.max(wait, 0))
  }

  function cancelUpdate(viewerId: string, id: string): void {
    const entry = pending.get(`${viewerId}/${id}`)
    if (!entry?.timer) return
    clearTimeout(entry.timer)
    entry.timer = null
  }

  function record(entry: UndoEntry): void {
    const top = undoStack[undoStack.length - 1]
    // A drag is dozens of updates: keep the state from before it began.
    if (
      entry.kind === 'shape' &&
      top?.kind === 'shape' &&
      top.after &&
      entry.before &&
      top.viewerId === entry.viewerId &&
      top.id === entry.id &&
      entry.at - top.at < UNDO_MERGE_MS
    ) {
      top.after = entry.after
      top.at = entry.at
      return
    }
    undoStack.push(entry)
    if (undoStack.length > 200) undoStack.shift()
  }

  // ---- applying a change here (remote, or our own undo and comments): Annotorious sees REMOTE

  /** Creates or reshapes a shape, keeping the comments it has; a returning shape brings its own. */
  function upsertShape(viewerId: string, shape: ShapeState, comments: readonly CommentEntry[] = []): boolean {
    const store = storeOf(viewerId)
    const existing = store.getAnnotation(shape.id)
    if (!existing) {
      store.addAnnotation(toAnnotorious(shape, comments), REMOTE)
      return true
    }
    const have = new Set(commentsOf(existing).map((c) => c.id))
    const missing = comments.filter((c) => !have.has(c.id))
    if (missing.length) {
      store.updateAnnotation(toAnnotorious(shape, mergeComments(commentsOf(existing), missing)), REMOTE)
      return true
    }
    if (sameShape(shapeOf(existing), shape)) return false
    store.updateTarget(toTarget(shape), REMOTE)
    return true
  }

  function deleteShape(viewer: DemoViewer, id: string): boolean {
    if (!viewer.anno.state.store.getAnnotation(id)) return false
    if (viewer.anno.getSelected().some((a) => a.id === id)) viewer.anno.cancelSelected()
    viewer.anno.state.store.deleteAnnotation(id, REMOTE)
    return true
  }

  function addComment(viewerId: string, id: string, comment: CommentEntry): boolean {
    const store = storeOf(viewerId)
    const a = store.getAnnotation(id)
    if (!a || a.bodies.some((b) => b.id === comment.id)) return false
    store.addBody(toBody(id, comment), REMOTE)
    return true
  }

  function removeComment(viewerId: string, id: string, commentId: string): boolean {
    const store = storeOf(viewerId)
    if (!store.getAnnotation(id)?.bodies.some((b) => b.id === commentId)) return false
    store.deleteBody({ id: commentId, annotation: id }, REMOTE)
    return true
  }

  /** An import: one Annotorious call, with "Catching up…" up while it runs if it is large. */
  async function applyBulk(viewer: DemoViewer, upsert: AnnotationState[], remove: string[]): Promise<boolean> {
    const store = viewer.anno.state.store
    const gone = remove.filter((id) => store.getAnnotation(id))
    await options.catchUp(upsert.length + gone.length, () => {
      if (gone.length) {
        if (viewer.anno.getSelected().some((a) => gone.includes(a.id))) viewer.anno.cancelSelected()
        store.bulkDeleteAnnotations(gone, REMOTE)
      }
      if (upsert.length) {
        const merged = upsert.map((s) => {
          const existing = store.getAnnotation(s.id)
          return toAnnotorious(s, existing ? mergeComments(commentsOf(existing), s.comments) : s.comments)
        })
        store.bulkUpsertAnnotations(merged, REMOTE)
      }
    })
    return true
  }

  /**
   * A remote change. On the host, a guest's comment must be in the guest's own name, a guest
   * removes only its own comments, and a shape keeps who drew it: who sent a change is what
   * the link proved (`meta.origin`), never a field of it.
   */
  function apply(delta: AnnotationDelta, meta: SessionDeltaMeta): boolean | Promise<boolean> {
    const viewer = byId.get(delta.viewerId)
    if (!viewer || !wellFormed(delta)) return false
    const checkOrigin = meta.role === 'host' && meta.remote
    let done: boolean
    switch (delta.op) {
      case 'bulk':
        return applyBulk(viewer, delta.upsert, delta.delete).then((ok) => (changed(), ok))
      case 'delete':
        cancelUpdate(delta.viewerId, delta.id)
        done = deleteShape(viewer, delta.id)
        break
      case 'upsert': {
        // Moving a shape does not make it someone else's.
        const existing = storeOf(delta.viewerId).getAnnotation(delta.annotation.id)
        if (checkOrigin && existing && (existing.target.creator?.id ?? null) !== (delta.annotation.creator?.id ?? null)) return false
        // Whatever someone else did to this shape replaces what we may be about to send.
        cancelUpdate(delta.viewerId, delta.annotation.id)
        done = upsertShape(delta.viewerId, delta.annotation, delta.annotation.comments)
        break
      }
      case 'comment':
        if (checkOrigin && delta.comment.author.id !== meta.origin) return false
        done = addComment(delta.viewerId, delta.id, delta.comment)
        break
      case 'uncomment': {
        const shape = storeOf(delta.viewerId).getAnnotation(delta.id)
        const author = shape && commentsOf(shape).find((c) => c.id === delta.commentId)?.author.id
        if (checkOrigin && author !== meta.origin) return false
        done = removeComment(delta.viewerId, delta.id, delta.commentId)
        break
      }
    }
    if (done) changed()
    return done
  }

  const self = () => {
    const me = window.SESSION?.getSelf()
    return me ? { id: me.id, ...(me.name ? { name: me.name } : {}) } : { id: '' }
  }

  return {
    list: (viewerId: string): AnnotationState[] => (byId.has(viewerId) ? storeOf(viewerId).all().map(toState) : []),
    get: (viewerId: string, id: string): AnnotationState | null => (byId.has(viewerId) ? current(viewerId, id) : null),
    /** What a list shows of each shape, read without copying outlines (a slide may hold thousands). */
    summaries: (viewerId: string): ShapeSummary[] =>
      byId.has(viewerId)
        ? storeOf(viewerId)
            .all()
            .map((a) => ({
              id: a.id,
              type: a.target.selector.type.toLowerCase(),
              creator: a.target.creator ? { id: a.target.creator.id, ...(a.target.creator.name ? { name: a.target.creator.name } : {}) } : null,
              ...(a.target.created ? { created: new Date(a.target.created).getTime() } : {}),
              comments: a.bodies.filter((b) => b.purpose === 'commenting').length,
            }))
        : [],
    onChange(fn: () => void) {
      listeners.add(fn)
      return () => listeners.delete(fn)
    },
    canUndo: () => undoStack.length > 0,
    /** The user comments are signed with (the session identity). */
    self,

    /** Undoes this user's last action by sending its inverse as a new change. */
    undo(): string | null {
      const entry = undoStack.pop()
      if (!entry) return 'Nothing to undo.'
      const viewer = byId.get(entry.viewerId)!
      cancelUpdate(entry.viewerId, entry.id)
      if (entry.kind === 'comment') {
        const shape = current(entry.viewerId, entry.id)
        if (!shape || shape.comments.some((c) => c.id === entry.comment.id) !== entry.added) {
          changed()
          return 'Not undone: that comment or its shape has changed since.'
        }
        if (entry.added) {
          removeComment(entry.viewerId, entry.id, entry.comment.id)
          send({ viewerId: entry.viewerId, op: 'uncomment', id: entry.id, commentId: entry.comment.id })
        } else {
          addComment(entry.viewerId, entry.id, entry.comment)
          send({ viewerId: entry.viewerId, op: 'comment', id: entry.id, comment: entry.comment })
        }
        changed()
        return null
      }
      if (!sameShape(current(entry.viewerId, entry.id), entry.after)) {
        changed()
        return 'Not undone: someone else has changed that shape since.'
      }
      // Applied like a remote change so the observer above does not record it as a new
      // action; sent by hand, as a new change with a fresh intent id.
      if (entry.before) {
        // A deleted shape comes back with its comments; a moved one goes back to where it
        // was and keeps the comments it has now (one removed meanwhile stays removed).
        const { comments, ...shape } = entry.before
        const annotation = entry.after ? shape : entry.before
        upsertShape(entry.viewerId, shape, entry.after ? [] : comments)
        send({ viewerId: entry.viewerId, op: 'upsert', annotation })
      } else {
        deleteShape(viewer, entry.id)
        send({ viewerId: entry.viewerId, op: 'delete', id: entry.id })
      }
      changed()
      return null
    },

    /** Adds a comment in this user's name: an entry of its own, beside everyone else's. */
    addComment(viewerId: string, id: string, text: string): void {
      const comment: CommentEntry = { id: nanoid(), text, author: self(), at: Date.now() }
      if (!byId.has(viewerId) || !addComment(viewerId, id, comment)) return
      record({ kind: 'comment', viewerId, id, comment, added: true, at: Date.now() })
      send({ viewerId, op: 'comment', id, comment })
      changed()
    },

    /** Removes one of this user's comments; the others' stay. */
    removeComment(viewerId: string, id: string, commentId: string): void {
      const comment = current(viewerId, id)?.comments.find((c) => c.id === commentId)
      if (!comment || !removeComment(viewerId, id, commentId)) return
      record({ kind: 'comment', viewerId, id, comment, added: false, at: Date.now() })
      send({ viewerId, op: 'uncomment', id, commentId })
      changed()
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
          // A large review takes a moment to draw: say so rather than look frozen.
          return options.catchUp(data.length, () => {
            v.anno.state.store.bulkAddAnnotations(
              data.map((s) => toAnnotorious(s, s.comments)),
              true,
              REMOTE,
            )
            // The host's state replaced ours: our own history no longer applies.
            for (let i = undoStack.length - 1; i >= 0; i--) if (undoStack[i]!.viewerId === v.uniqueId) undoStack.splice(i, 1)
            changed()
          })
        },
        subscribe: (send) => {
          emit = send
          return () => {
            emit = null
          }
        },
        applyDelta: (delta: AnnotationDelta, meta) => apply(delta, meta),
      })
    },
  }
}

/** A guest may write any bytes: what the handlers above read must be there, with its type. */
function wellFormed(delta: AnnotationDelta): boolean {
  const text = (v: unknown) => typeof v === 'string'
  const shape = (s: unknown) => !!s && typeof s === 'object' && text((s as ShapeState).id) && !!(s as ShapeState).selector && typeof (s as ShapeState).selector === 'object'
  const comment = (c: unknown) =>
    !!c && typeof c === 'object' && text((c as CommentEntry).id) && text((c as CommentEntry).text) && typeof (c as CommentEntry).at === 'number' && text((c as CommentEntry).author?.id)
  const comments = (list: unknown) => list === undefined || (Array.isArray(list) && list.every(comment))
  switch (delta.op) {
    case 'upsert':
      return shape(delta.annotation) && comments(delta.annotation.comments)
    case 'delete':
      return text(delta.id)
    case 'bulk':
      return Array.isArray(delta.upsert) && Array.isArray(delta.delete) && delta.delete.every(text) && delta.upsert.every((s) => shape(s) && Array.isArray(s.comments) && comments(s.comments))
    case 'comment':
      return text(delta.id) && comment(delta.comment)
    case 'uncomment':
      return text(delta.id) && text(delta.commentId)
    default:
      return false
  }
}
