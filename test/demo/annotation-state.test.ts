/** The demo's annotation model: comments as entries, and what counts as the same shape. */
import { describe, expect, it } from 'vitest'
import { mergeComments, sameShape, toAnnotorious, toState, type AnnotationState, type CommentEntry } from '../../demo/modules/annotation-state.js'
import { initials } from '../../demo/presence.js'

const comment = (id: string, at: number, author = 'u-alice'): CommentEntry => ({ id, text: `text ${id}`, author: { id: author, name: author.slice(2) }, at })

const shape: AnnotationState = {
  id: 'shape-1',
  selector: { type: 'RECTANGLE', geometry: { x: 1, y: 2, w: 3, h: 4, bounds: { minX: 1, minY: 2, maxX: 4, maxY: 6 } } } as AnnotationState['selector'],
  creator: { id: 'u-alice', name: 'Alice' },
  created: 1_700_000_000_000,
  comments: [comment('c1', 10), comment('c2', 20, 'u-bob')],
}

describe('annotation state', () => {
  it('survives the trip through Annotorious, each comment a body with its author and time', () => {
    const annotation = toAnnotorious(shape, shape.comments)
    expect(annotation.bodies.map((b) => [b.id, b.purpose, b.creator?.id])).toEqual([
      ['c1', 'commenting', 'u-alice'],
      ['c2', 'commenting', 'u-bob'],
    ])
    expect(toState(annotation)).toEqual(shape)
  })

  it('merges two lists of comments without losing or doubling one, oldest first', () => {
    const mine = [comment('c1', 10), comment('c3', 30)]
    const theirs = [comment('c2', 20, 'u-bob'), comment('c1', 10)]
    expect(mergeComments(mine, theirs).map((c) => c.id)).toEqual(['c1', 'c2', 'c3'])
  })

  it('calls shapes the same whatever their comments or key order, and different when the outline moved', () => {
    const reordered = JSON.parse(JSON.stringify({ comments: [], created: shape.created, creator: shape.creator, selector: shape.selector, id: shape.id }))
    expect(sameShape(shape, reordered)).toBe(true)
    const moved = { ...shape, selector: { ...shape.selector, geometry: { ...shape.selector.geometry, x: 9 } } } as AnnotationState
    expect(sameShape(shape, moved)).toBe(false)
    expect(sameShape(shape, null)).toBe(false)
  })
})

describe('initials', () => {
  it('takes the first letters of the first and last word', () => {
    expect(initials('Alice')).toBe('A')
    expect(initials('  ada  lovelace ')).toBe('AL')
    expect(initials('Jean Claude Van Damme')).toBe('JD')
    expect(initials('')).toBe('?')
    expect(initials('éa')).toBe('É')
  })
})
