/** Tiny DOM helpers: the demo has no framework. */
export function $<T extends HTMLElement = HTMLElement>(selector: string): T {
  const el = document.querySelector<T>(selector)
  if (!el) throw new Error(`Missing element ${selector}`)
  return el
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> & { dataset?: Record<string, string> } = {}, ...children: Array<Node | string>): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  const { dataset, ...rest } = props
  Object.assign(el, rest)
  if (dataset) Object.assign(el.dataset, dataset)
  el.append(...children)
  return el
}
