/**
 * The relay client's factory (src/relay/client.ts): it checks the endpoint at once, and
 * loads the client itself (http-client.ts, with the sealing code) on the first call only.
 */
import { describe, expect, it, vi } from 'vitest'
import { createRelayClient, RelayError } from '../../src/relay/index.js'

const ID = 'AAAAAAAAAAAAAAAAAAAAAA'
const KEY = 'AAAAAAAAAAAAAAAAAAAAAA'

function notFound(): { fetch: typeof fetch; urls: string[] } {
  const urls: string[] = []
  const fetch = (async (url: string) => {
    urls.push(url)
    return new Response(JSON.stringify({ error: 'not-found' }), { status: 404 })
  }) as unknown as typeof globalThis.fetch
  return { fetch, urls }
}

describe('createRelayClient', () => {
  it('refuses a non-http(s) endpoint at once and trims trailing slashes', () => {
    expect(() => createRelayClient({ endpoint: 'ftp://relay.test' })).toThrow(RangeError)
    expect(createRelayClient({ endpoint: 'https://relay.test//' }).endpoint).toBe('https://relay.test')
  })

  it('loads the client on the first call and goes through the fetch it was given', async () => {
    const { fetch, urls } = notFound()
    const client = createRelayClient({ endpoint: 'https://relay.test/', fetch })
    expect(urls).toEqual([])
    await expect(client.fetchOffer(ID, KEY)).rejects.toMatchObject({ code: 'relay-not-found', status: 404 })
    await expect(client.fetchOffer(ID, KEY)).rejects.toBeInstanceOf(RelayError)
    expect(urls).toEqual([`https://relay.test/v1/invites/${ID}`, `https://relay.test/v1/invites/${ID}`])
    // Argument checks happen in the loaded client, as a rejection.
    await expect(client.fetchOffer('short', KEY)).rejects.toBeInstanceOf(RangeError)
  })

  // Last: it loads a second copy of the relay modules (their classes are not the ones above).
  it('reports a client that cannot load as relay-unavailable, and loads it again on the next call', async () => {
    vi.resetModules()
    vi.doMock('../../src/relay/http-client.js', () => {
      throw new Error('chunk failed to load')
    })
    try {
      const fresh = await import('../../src/relay/index.js')
      const { fetch, urls } = notFound()
      const client = fresh.createRelayClient({ endpoint: 'https://relay.test', fetch })
      await expect(client.fetchOffer(ID, KEY)).rejects.toMatchObject({ code: 'relay-unavailable' })
      expect(urls).toEqual([])
      vi.doUnmock('../../src/relay/http-client.js')
      await expect(client.fetchOffer(ID, KEY)).rejects.toMatchObject({ code: 'relay-not-found' })
      expect(urls).toHaveLength(1)
    } finally {
      vi.doUnmock('../../src/relay/http-client.js')
      vi.resetModules()
    }
  })
})
