/**
 * What an annotation is on the wire and in a save: the shape (outline, who drew it, when)
 * and its comments, each comment an entry of its own with author and time, so two people
 * commenting one shape add two entries instead of overwriting one field. Conversions to
 * and from Annotorious' model live here, where comments are `commenting` bodies.
 */
import type { ImageAnnotation } from '@annotorious/openseadragon'

export interface Person {
  id: string
  name?: string
}

export interface CommentEntry {
  id: string
  text: string
  author: Person
  /** Epoch ms, as the author's clock had it. */
  at: number
}

/** The shape alone: what moving or reshaping changes. */
export interface ShapeState {
  id: string
  selector: ImageAnnotation['target']['selector']
  creator: Person | null
  /** When it was drawn (epoch ms), where known. */
  created?: number
}

export interface AnnotationState extends ShapeState {
  /** Oldest first. */
  comments: CommentEntry[]
}

export function toState(a: ImageAnnotation): AnnotationState {
  return { ...shapeOf(a), comments: commentsOf(a) }
}

export function shapeOf(a: ImageAnnotation): ShapeState {
  const { creator, created } = a.target
  const at = created ? new Date(created).getTime() : NaN
  return {
    id: a.id,
    selector: JSON.parse(JSON.stringify(a.target.selector)),
    creator: creator ? person(creator) : null,
    ...(Number.isFinite(at) ? { created: at } : {}),
  }
}

export function commentsOf(a: ImageAnnotation): CommentEntry[] {
  return a.bodies
    .filter((b) => b.purpose === 'commenting')
    .map((b) => ({ id: b.id, text: b.value ?? '', author: b.creator ? person(b.creator) : { id: '' }, at: b.created ? new Date(b.created).getTime() : 0 }))
    .sort((x, y) => x.at - y.at || x.id.localeCompare(y.id))
}

export function toAnnotorious(s: ShapeState, comments: readonly CommentEntry[] = []): ImageAnnotation {
  return { id: s.id, bodies: comments.map((c) => toBody(s.id, c)), target: toTarget(s) }
}

export function toTarget(s: ShapeState): ImageAnnotation['target'] {
  return {
    annotation: s.id,
    selector: s.selector,
    ...(s.creator ? { creator: s.creator } : {}),
    ...(s.created !== undefined ? { created: new Date(s.created) } : {}),
  }
}

export function toBody(annotationId: string, c: CommentEntry): ImageAnnotation['bodies'][number] {
  return { id: c.id, annotation: annotationId, purpose: 'commenting', value: c.text, creator: c.author, created: new Date(c.at) }
}

/** Comments of both, each once: a merge never loses an entry either side holds. */
export function mergeComments(a: readonly CommentEntry[], b: readonly CommentEntry[]): CommentEntry[] {
  const byId = new Map([...a, ...b].map((c) => [c.id, c]))
  return [...byId.values()].sort((x, y) => x.at - y.at || x.id.localeCompare(y.id))
}

export function sameShape(a: ShapeState | null, b: ShapeState | null): boolean {
  return stable(a && shapePart(a)) === stable(b && shapePart(b))
}

const shapePart = ({ id, selector, creator, created }: ShapeState): ShapeState => ({ id, selector, creator, ...(created !== undefined ? { created } : {}) })

function person(user: { id: string; name?: string }): Person {
  return { id: user.id, ...(user.name ? { name: user.name } : {}) }
}

/** JSON with sorted keys: two peers' copies of a shape compare equal whatever their key order. */
function stable(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
  )
}
