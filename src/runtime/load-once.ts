/**
 * Code loaded on first use, once: every caller shares the one load, and what it builds
 * from the module. A failed load (offline, or a deploy replaced the chunk) is forgotten,
 * so the next call tries again, and reaches the caller as `fail(cause)`.
 */
export function loadOnce<M, T>(load: () => Promise<M>, use: (module: M) => T, fail: (cause: unknown) => Error): () => Promise<T> {
  let loading: Promise<T> | undefined
  return () =>
    (loading ??= load().then(use, (cause: unknown) => {
      loading = undefined
      throw fail(cause)
    }))
}
