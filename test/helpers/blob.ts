/**
 * Deterministic printable text of `bytes` characters: no JSON escapes, no repetition for a
 * compressor to find. Large provider state for the e2e harness and the benchmarks alike.
 */
export function makeBlob(bytes: number, seed = 1): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const parts: string[] = []
  let x = seed >>> 0
  for (let done = 0; done < bytes; ) {
    const n = Math.min(65_536, bytes - done)
    const codes = new Array<number>(n)
    for (let i = 0; i < n; i++) {
      x = (Math.imul(x, 1_664_525) + 1_013_904_223) >>> 0
      codes[i] = alphabet.charCodeAt(x >>> 26)
    }
    parts.push(String.fromCharCode(...codes))
    done += n
  }
  return parts.join('')
}
