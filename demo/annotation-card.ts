/**
 * The Annotation card: the selected shape, its comments (each with author and time, removable
 * by its author) and a field to add one. The selection follows the slide being worked on:
 * touching, focusing or drawing on one slide drops the other slide's selection, so a comment
 * always goes to the shape the person sees selected.
 */
import { colourOf } from './colours.js'
import { $, h } from './dom.js'
import type { createAnnotationsModule } from './modules/annotations.js'
import type { DemoViewer } from './viewers.js'

type Annotations = ReturnType<typeof createAnnotationsModule>

export interface Selection {
  viewer: DemoViewer
  id: string
}

export function annotationCard(viewers: readonly DemoViewer[], annotations: Annotations, showError: (message: string) => void) {
  let selected: Selection | null = null
  const editor = $('#anno-editor')
  const empty = $('#anno-empty')
  const comment = $<HTMLTextAreaElement>('#anno-comment')
  const comments = $('#anno-comments')
  const meta = $('#anno-meta')
  const undo = $<HTMLButtonElement>('#undo')
  const listeners = new Set<() => void>()

  function render(): void {
    const annotation = selected && annotations.get(selected.viewer.uniqueId, selected.id)
    if (!annotation) selected = null
    editor.hidden = !selected
    empty.hidden = !!selected
    undo.disabled = !annotations.canUndo()
    listeners.forEach((fn) => fn())
    if (!selected || !annotation) return
    editor.dataset.viewer = selected.viewer.uniqueId
    editor.dataset.annotation = annotation.id
    const who = annotation.creator?.name
    meta.textContent = `${annotation.selector.type.toLowerCase()} on ${selected.viewer.title}, ${who ? `drawn by ${who}` : 'drawn here before the session'}`
    const me = annotations.self().id
    comments.replaceChildren(
      ...annotation.comments.map((c) => {
        const swatch = h('span', { className: 'swatch' })
        swatch.style.background = colourOf(c.author.id)
        const mine = c.author.id === me
        return h(
          'li',
          { dataset: { commentId: c.id, author: c.author.name ?? '' } },
          h('div', { className: 'by' }, swatch, h('b', {}, c.author.name ?? 'Someone'), ' ', h('time', { dateTime: new Date(c.at).toISOString() }, clock(c.at))),
          h('p', {}, c.text),
          ...(mine ? [h('button', { className: 'link', textContent: 'Remove', ariaLabel: `Remove your comment “${c.text.slice(0, 40)}”`, dataset: { removeComment: c.id } })] : []),
        )
      }),
    )
  }

  /** The card shows this slide's selection from now on; the other slides let theirs go. */
  function workOn(viewer: DemoViewer): void {
    if (selected && selected.viewer !== viewer) selected = null
    for (const other of viewers) if (other !== viewer && other.anno.getSelected().length) other.anno.cancelSelected()
    render()
  }

  for (const viewer of viewers) {
    viewer.anno.on('selectionChanged', (list) => {
      const first = list[0]
      if (first) {
        selected = { viewer, id: first.id }
        workOn(viewer)
      } else if (selected?.viewer === viewer) {
        selected = null
        render()
      }
    })
    // Capture: Annotorious and the freehand overlay stop some pointer events on the way down.
    viewer.osd.element.addEventListener('pointerdown', () => workOn(viewer), { capture: true })
    viewer.osd.element.addEventListener('focusin', () => workOn(viewer))
    // A shape just drawn here (by any tool, freehand included) is the one to comment on;
    // an import of many selects none.
    viewer.anno.state.store.observe(
      ({ changes }) => {
        const [drawn, ...more] = changes.created ?? []
        if (drawn && !more.length && !window.SESSION?.isApplyingRemote()) viewer.anno.setSelected(drawn.id)
      },
      { origin: 'LOCAL' as never },
    )
  }

  function add(): void {
    const text = comment.value.trim()
    if (!selected || !text) return
    annotations.addComment(selected.viewer.uniqueId, selected.id, text)
    comment.value = ''
  }
  $('#anno-save').addEventListener('click', add)
  comment.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) add()
  })
  comments.addEventListener('click', (event) => {
    const button = (event.target as Element).closest<HTMLButtonElement>('button[data-remove-comment]')
    if (button && selected) annotations.removeComment(selected.viewer.uniqueId, selected.id, button.dataset.removeComment!)
  })
  $('#anno-delete').addEventListener('click', () => {
    if (!selected) return
    selected.viewer.anno.removeAnnotation(selected.id)
    selected = null
    render()
  })
  undo.addEventListener('click', () => {
    const problem = annotations.undo()
    if (problem) showError(problem)
  })
  annotations.onChange(render)
  render()

  return {
    selected: (): Selection | null => selected,
    /** Selects a shape (e.g. from the list): the card and the slide both show it. */
    select(viewer: DemoViewer, id: string): void {
      workOn(viewer)
      viewer.anno.setSelected(id)
    },
    onChange(fn: () => void) {
      listeners.add(fn)
    },
  }
}

/** 14:05, in the reader's own time zone and clock style. */
export function clock(at: number): string {
  return new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
}
