/**
 * The emulated internet of the NAT suite, built from network namespaces in the root
 * namespace (needs root) and torn down by `remove()`:
 *
 *   home-a 192.0.2.10 ── lan 192.0.2.1 [nat-a] wan 203.0.113.2 ──┐
 *                                                                 br0 203.0.113.1 [pub]: coturn, the page server
 *   home-b 198.51.100.10 ─ lan 198.51.100.1 [nat-b] wan 203.0.113.3 ┘
 *
 * Only documentation ranges; no namespace has a link or route to the root namespace, so
 * nothing reaches the machine's real interfaces. A home's own address is unreachable
 * from the other side: only its router's public address is. The routers' default route
 * leads to the public namespace, whose default route leads to a device that drops all.
 */
import { execFileSync } from 'node:child_process'

export type Site = 'a' | 'b'

/**
 * How a router translates (RFC 4787 terms). Both filter address-and-port-dependently
 * (only replies to what went out pass), as Linux conntrack and most home routers do.
 * - `eim`: endpoint-independent mapping — one public port per inside socket, whoever it talks to.
 * - `symmetric`: address-and-port-dependent mapping — a fresh random public port per destination,
 *   so the port STUN sees is not the one a peer would have to reach.
 */
export type NatKind = 'eim' | 'symmetric'

export const PUBLIC_ADDRESS = '203.0.113.1'
export const HOME_ADDRESS: Record<Site, string> = { a: '192.0.2.10', b: '198.51.100.10' }
export const ROUTER_PUBLIC_ADDRESS: Record<Site, string> = { a: '203.0.113.2', b: '203.0.113.3' }
/** The public network's default gateway: nobody (see `build`). */
const VOID_GATEWAY = '203.0.113.254'
const LAN: Record<Site, { router: string; prefix: number }> = {
  a: { router: '192.0.2.1', prefix: 24 },
  b: { router: '198.51.100.1', prefix: 24 },
}

export class Topology {
  private readonly created: string[] = []

  /** `prefix` makes the namespace names unique to this run (several runs may share the machine). */
  constructor(readonly prefix: string) {}

  get pub(): string {
    return `${this.prefix}pub`
  }

  home(site: Site): string {
    return `${this.prefix}home-${site}`
  }

  router(site: Site): string {
    return `${this.prefix}nat-${site}`
  }

  build(): void {
    this.namespace(this.pub)
    this.ip(this.pub, 'link', 'add', 'name', 'br0', 'type', 'bridge')
    this.ip(this.pub, 'addr', 'add', `${PUBLIC_ADDRESS}/24`, 'dev', 'br0')
    this.ip(this.pub, 'link', 'set', 'br0', 'up')
    // Where the internet drops what it cannot route (a home's own address): a veth pair whose far
    // end goes nowhere. Without it coturn's sends to such an address fail with ENETUNREACH, and
    // coturn then ends the sender's whole allocation.
    this.ip(this.pub, 'link', 'add', 'name', 'void', 'type', 'veth', 'peer', 'name', 'void-end')
    for (const dev of ['void', 'void-end']) this.ip(this.pub, 'link', 'set', dev, 'up')
    this.ip(this.pub, 'neigh', 'add', VOID_GATEWAY, 'lladdr', '02:00:00:00:00:01', 'dev', 'void', 'nud', 'permanent')
    this.ip(this.pub, 'route', 'add', 'default', 'via', VOID_GATEWAY, 'dev', 'void', 'onlink')
    for (const site of ['a', 'b'] as const) this.buildSite(site)
  }

  private buildSite(site: Site): void {
    const [home, router] = [this.home(site), this.router(site)]
    this.namespace(router)
    this.namespace(home)
    // Created straight inside the namespaces: no interface ever appears in the root namespace.
    run('ip', 'link', 'add', 'wan', 'netns', router, 'type', 'veth', 'peer', 'name', `to-${site}`, 'netns', this.pub)
    run('ip', 'link', 'add', 'lan', 'netns', router, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', home)
    this.ip(this.pub, 'link', 'set', `to-${site}`, 'master', 'br0', 'up')
    this.ip(router, 'addr', 'add', `${ROUTER_PUBLIC_ADDRESS[site]}/24`, 'dev', 'wan')
    this.ip(router, 'addr', 'add', `${LAN[site].router}/${LAN[site].prefix}`, 'dev', 'lan')
    this.ip(home, 'addr', 'add', `${HOME_ADDRESS[site]}/${LAN[site].prefix}`, 'dev', 'eth0')
    for (const [ns, dev] of [[router, 'wan'], [router, 'lan'], [home, 'eth0']] as const) this.ip(ns, 'link', 'set', dev, 'up')
    this.ip(home, 'route', 'add', 'default', 'via', LAN[site].router)
    this.ip(router, 'route', 'add', 'default', 'via', PUBLIC_ADDRESS)
    setSysctl(router, 'net/ipv4/ip_forward', 1)
    this.setNat(site, 'eim')
  }

  /** Replaces the router's rules: from the next connection on it translates as `kind` says. */
  setNat(site: Site, kind: NatKind): void {
    const ruleset = `
      flush ruleset
      table ip nat {
        chain postrouting {
          type nat hook postrouting priority srcnat; policy accept;
          oifname "wan" masquerade${kind === 'symmetric' ? ' fully-random' : ''}
        }
      }
      table ip filter {
        # Nothing is addressed to the router itself. Dropping unsolicited packets here, before
        # conntrack confirms them, keeps them from claiming the public port a hole punch needs.
        chain input { type filter hook input priority filter; policy drop; }
        chain forward {
          type filter hook forward priority filter; policy drop;
          ct state established,related accept
          iifname "lan" oifname "wan" accept
        }
      }`
    execFileSync('ip', ['netns', 'exec', this.router(site), 'nft', '-f', '-'], { input: ruleset, stdio: ['pipe', 'ignore', 'pipe'] })
  }

  /** Removes every namespace this run created (their interfaces go with them). Safe to call twice. */
  remove(): void {
    for (const ns of this.created.splice(0).reverse()) {
      try {
        run('ip', 'netns', 'delete', ns)
      } catch {
        // Already gone.
      }
    }
  }

  private namespace(name: string): void {
    run('ip', 'netns', 'add', name)
    this.created.push(name)
    // IPv4 only: fewer candidates, and no IPv6 path around the NATs.
    for (const scope of ['all', 'default']) setSysctl(name, `net/ipv6/conf/${scope}/disable_ipv6`, 1)
    this.ip(name, 'link', 'set', 'lo', 'up')
  }

  private ip(ns: string, ...args: string[]): void {
    run('ip', '-n', ns, ...args)
  }
}

/** Written through /proc, which shows the namespace's own settings (no procps needed). */
function setSysctl(ns: string, key: string, value: number): void {
  run('ip', 'netns', 'exec', ns, 'sh', '-c', `echo ${value} > /proc/sys/${key}`)
}

function run(command: string, ...args: string[]): void {
  execFileSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'] })
}
