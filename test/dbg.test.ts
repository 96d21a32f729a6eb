import { it } from 'vitest'
import { simulate } from './sim/simulate.js'
import { TestSession } from './helpers/session.js'
const WHO = (process.env.WHO ?? 'p3').split(','), SEED = Number(process.env.SEED ?? 37), FROM = Number(process.env.FROM ?? 0)
it('dbg', async () => {
  const orig = TestSession.prototype.peer
  TestSession.prototype.peer = function (name: string, o: any) { const p = orig.call(this, name, o); const c = p.controller as any; const h = c.handle.bind(c); c.handle = (conn: any, m: any) => { if (WHO.includes(name) && this.clock.now() > FROM && (process.env.T ? process.env.T.split(',').includes(m.t) : !['view','signal','relay','delta','links','connect'].includes(m.t))) this.trace.push(`${this.clock.now()} ${name} <- ${conn.peerId} ${m.t} seq=${m.seq ?? ''} ep=${m.epoch ?? ''} ${m.t==='hello'? m.hostId + ' rank=' + m.rank.length : ''} ${m.alive ?? ''} ${m.reason ?? ''}`); return h(conn, m) }; return p }
  const r = await simulate(SEED)
  console.log(r.trace.filter(l => (WHO.some(w => l.includes(` ${w} `)) || l.includes(' sim ')) && Number(l.split(' ')[0]) > FROM && !l.includes('peer-joined') && !l.includes('diagnostic')).join('\n'))
  console.log(r.failures)
})
