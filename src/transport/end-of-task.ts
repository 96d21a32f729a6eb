/**
 * Work to do once the current task's synchronous code and microtasks so far are done: a
 * link that sent in this task writes what queued behind its first message then, batched.
 * One microtask serves every link that sent in the task (a change to six peers schedules
 * one, not six).
 */
import { soon } from '../runtime/maybe.js'

/** What waits for the end of the task. */
export interface EndOfTask {
  endOfTask(): void
}

const waiting: EndOfTask[] = []

/** `item.endOfTask()` at the end of this task; call it once a task for each item. */
export function atEndOfTask(item: EndOfTask): void {
  if (waiting.push(item) === 1) soon(runWaiting)
}

function runWaiting(): void {
  // One may join (send again) while an earlier one runs: the loop reaches it too. One that
  // throws stays an uncaught error, as in a task of its own, and stops no other.
  for (let i = 0; i < waiting.length; i++) {
    try {
      waiting[i]!.endOfTask()
    } catch (error) {
      queueMicrotask(() => {
        throw error
      })
    }
  }
  waiting.length = 0
}
