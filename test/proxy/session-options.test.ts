import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
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
  const [idle, active] = await Promise.all([p.connect(), p.connect()]);
  const t0 = Date.now();
  let pings = 0;
  const busy = (async () => {
    // Well past the timeout, but never more than 300 ms without a command.
    for (; Date.now() - t0 < 2500; pings++) {
      assert.equal(await active.call('PING'), 'PONG');
      await new Promise((r) => setTimeout(r, 300));
    }
  })();
  await idle.waitClosed();
  const waited = Date.now() - t0;
  assert.ok(waited >= 900 && waited < 5000, `idle client dropped after ${waited} ms`);
  await busy;
  assert.ok(pings >= 7, `${pings} pings`);
  assert.equal(await active.call('PING'), 'PONG', 'the active client is still connected');
  active.close();
});

test('session_send_timeout drops a client that stops reading its replies', async () => {
  const p = await proxyWith({ session_send_timeout: '1s' });
  await redis.call('SET', 'big', Buffer.alloc(4 * 1024 * 1024, 'x'));
  const sock = net.connect(p.port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  sock.on('error', () => {});
  sock.pause(); // never reads: the proxy's writes back up
  sock.write('*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n'.repeat(8));
  // A paused socket does not see the FIN behind its unread data: ask the proxy instead.
  const alive = async () =>
    ((await (await fetch(`http://${p.admin}/proxy/stats`)).json()) as { sessions: { alive: number } })
      .sessions.alive;
  const t0 = Date.now();
  assert.equal(await alive(), 1);
  while ((await alive()) > 0 && Date.now() - t0 < 15_000) await new Promise((r) => setTimeout(r, 100));
  assert.equal(await alive(), 0, 'the proxy dropped the client that does not read');
  sock.destroy();
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
