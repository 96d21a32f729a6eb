/** Copies a field; its button says "Copied" until there is something new to copy. */
export async function copy(field: HTMLInputElement | HTMLTextAreaElement, button: HTMLButtonElement): Promise<void> {
  field.select()
  try {
    await navigator.clipboard.writeText(field.value)
  } catch {
    // Clipboard permission denied (e.g. not focused): fall back to the selection.
    document.execCommand('copy')
  }
  button.textContent = 'Copied'
}
