import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, type ProxyProcess } from '../helpers/proxy.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { RedisError } from '../helpers/resp-client.js';

let redis: RedisServer;
const proxies: ProxyProcess[] = [];

before(async () => {
  redis = await startRedis();
});
after(async () => {
  await Promise.all(proxies.map((p) => p.stop()));
  await redis?.stop();
});

async function proxyWith(config: Record<string, string | number | boolean>): Promise<ProxyProcess> {
  const p = await startProxy({ backends: [redis.addr], config });
  proxies.push(p);
  return p;
}

test('session_break_on_failure: a refused command gets its error, then the connection closes', async () => {
  const p = await proxyWith({ session_break_on_failure: true });
  const c = await p.connect();
  const r = await c.call('KEYS', '*');
  assert.ok(r instanceof RedisError && /not allowed/.test(r.message));
  await c.waitClosed();
  // Without the option the same connection goes on (covered in session.test.ts); others are unaffected.
  const other = await p.connect();
  assert.equal(await other.call('PING'), 'PONG');
  other.close();
});

test('session_recv_timeout drops an idle client; an active one stays', async () => {
  const p = await proxyWith({ session_recv_timeout: '1s' });
  const idle = await p.connect();
  const t0 = Date.now();
  await idle.waitClosed();
  const waited = Date.now() - t0;
  assert.ok(waited >= 900 && waited < 5000, `idle client dropped after ${waited} ms`);
});

test('backend_primary_parallel opens that many connections per backend and spreads sessions over them', async () => {
  const p = await proxyWith({ backend_primary_parallel: 3 });
  const clients = await Promise.all(Array.from({ length: 6 }, () => p.connect()));
  await Promise.all(clients.map((c, i) => c.call('SET', `par:${i}`, i)));
  for (const [i, c] of clients.entries()) assert.equal(String(await c.call('GET', `par:${i}`)), String(i));
  const list = String(await redis.call('CLIENT', 'LIST'));
  const fromProxy = list.split('\n').filter((l) => /cmd=(set|get|ping)/.test(l)).length;
  assert.ok(fromProxy >= 3, `backend sees ${fromProxy} proxy connections that served commands`);
  for (const c of clients) c.close();
});
