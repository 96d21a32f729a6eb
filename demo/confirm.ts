/**
 * An in-page question with two or three answers (a native modal <dialog>: focus stays inside,
 * Escape cancels), for the actions that cannot be taken back.
 */
import { $ } from './dom.js'

export interface Question {
  title: string
  text: string
  /** The button that goes ahead. */
  yes: string
  /** A third way, e.g. "Save a copy first". */
  extra?: string
}

export type Answer = 'yes' | 'extra' | 'no'

export function ask(question: Question): Promise<Answer> {
  const dialog = $<HTMLDialogElement>('#confirm')
  const extra = $<HTMLButtonElement>('#confirm-extra')
  $('#confirm-title').textContent = question.title
  $('#confirm-text').textContent = question.text
  $('#confirm-yes').textContent = question.yes
  extra.hidden = !question.extra
  extra.textContent = question.extra ?? ''
  dialog.returnValue = 'no'
  const opener = document.activeElement as HTMLElement | null
  return new Promise((resolve) => {
    dialog.addEventListener(
      'close',
      () => {
        // Back where the person was, unless that control went away meanwhile.
        if (opener?.isConnected && !opener.closest('[hidden]')) opener.focus()
        resolve(dialog.returnValue === 'yes' || dialog.returnValue === 'extra' ? dialog.returnValue : 'no')
      },
      { once: true },
    )
    dialog.showModal()
    $<HTMLButtonElement>(question.extra ? '#confirm-extra' : '#confirm-no').focus()
  })
}
