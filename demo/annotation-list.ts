/**
 * The Annotations card: every shape, slide by slide, with who drew it, when, and how many
 * comments it has. Clicking one flies its slide there and selects it.
 */
import { clock, type annotationCard } from './annotation-card.js'
import { colourOf } from './colours.js'
import { $, h } from './dom.js'
import type { createAnnotationsModule } from './modules/annotations.js'
import type { DemoViewer } from './viewers.js'

type Annotations = ReturnType<typeof createAnnotationsModule>
type Card = ReturnType<typeof annotationCard>

/** An imported slide may hold thousands: the list shows the latest this many. */
const SHOWN = 100

export function annotationList(viewers: readonly DemoViewer[], annotations: Annotations, card: Card): void {
  const root = $('#anno-list')
  let queued = false

  function render(): void {
    queued = false
    const selected = card.selected()
    // A keyboard user on an item stays on it when the list is drawn again.
    const focused = root.contains(document.activeElement) ? (document.activeElement as HTMLElement).dataset.annotation : undefined
    root.replaceChildren(
      ...viewers.map((viewer) => {
        const all = annotations.summaries(viewer.uniqueId).sort((a, b) => (b.created ?? 0) - (a.created ?? 0))
        const items = all.slice(0, SHOWN).map((a) => {
          const swatch = h('span', { className: 'swatch' })
          swatch.style.background = colourOf(a.creator?.id ?? '')
          const count = a.comments
          const when = a.created ? clock(a.created) : 'earlier'
          const label = `${a.type} by ${a.creator?.name ?? 'someone'}, ${when}, ${count} comment${count === 1 ? '' : 's'}`
          const current = selected?.viewer === viewer && selected.id === a.id
          return h(
            'li',
            {},
            h(
              'button',
              { className: 'item', ariaLabel: `Go to ${label}`, ariaCurrent: current ? 'true' : null, dataset: { annotation: a.id }, onclick: () => go(viewer, a.id) },
              swatch,
              h('span', { className: 'what' }, a.type),
              h('span', { className: 'who' }, a.creator?.name ?? 'someone'),
              h('time', {}, when),
              h('span', { className: 'count' }, `${count} comment${count === 1 ? '' : 's'}`),
            ),
          )
        })
        const more = all.length - items.length
        return h(
          'section',
          { className: 'slide-list', dataset: { viewer: viewer.uniqueId } },
          h('h3', {}, viewer.title, h('small', { className: 'muted' }, ` · ${all.length} shape${all.length === 1 ? '' : 's'}`)),
          items.length ? h('ol', {}, ...items) : h('p', { className: 'muted' }, 'No shapes yet.'),
          ...(more > 0 ? [h('p', { className: 'muted' }, `and ${more} more`)] : []),
        )
      }),
    )
    // One Tab stop per slide (its current shape, or its newest); the arrow keys walk the list.
    for (const list of Array.from(root.querySelectorAll('ol'))) {
      const items = Array.from(list.querySelectorAll<HTMLButtonElement>('button.item'))
      const stop = items.find((b) => b.ariaCurrent === 'true') ?? items[0]
      for (const item of items) item.tabIndex = item === stop ? 0 : -1
    }
    if (focused) root.querySelector<HTMLElement>(`[data-annotation="${CSS.escape(focused)}"]`)?.focus()
  }

  root.addEventListener('keydown', (event) => {
    const item = (event.target as Element).closest<HTMLButtonElement>('button.item')
    const step = event.key === 'ArrowDown' ? 1 : event.key === 'ArrowUp' ? -1 : 0
    if (!item || !step) return
    const items = Array.from(item.closest('ol')!.querySelectorAll<HTMLButtonElement>('button.item'))
    const next = items[items.indexOf(item) + step]
    if (!next) return
    event.preventDefault()
    item.tabIndex = -1
    next.tabIndex = 0
    next.focus()
  })

  function go(viewer: DemoViewer, id: string): void {
    viewer.anno.fitBounds(id, { padding: 60 })
    card.select(viewer, id)
  }

  /** A drag changes a shape every frame: draw the list once per frame at most. */
  function soon(): void {
    if (queued) return
    queued = true
    requestAnimationFrame(render)
  }
  annotations.onChange(soon)
  card.onChange(soon)
  render()
}
