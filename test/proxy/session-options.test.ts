import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { promisify } from 'node:util';
import { startProxy, type ProxyProcess } from '../helpers/proxy.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { RedisError } from '../helpers/resp-client.js';

const execFileAsync = promisify(execFile);

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
  const r = await c.call('MODULE', 'LOAD', '/nothing.so');
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

/** The keepalive timer ss shows on the proxy's side of the connection from `clientPort`, in s, or null. */
async function keepaliveSecs(proxyPort: number, clientPort: number): Promise<number | null> {
  const { stdout } = await execFileAsync('ss', [
    '-tnoH',
    'state',
    'established',
    `( sport = :${proxyPort} )`,
  ]);
  const line = stdout.split('\n').find((l) => new RegExp(`:${clientPort}(\\s|$)`).test(l));
  assert.ok(line, `no socket of the proxy for client port ${clientPort} in:\n${stdout}`);
  const m = /timer:\(keepalive,(?:(\d+)min)?(\d+)(?:\.\d+)?sec/.exec(line);
  return m === null ? null : Number(m[1] ?? 0) * 60 + Number(m[2]);
}

async function pingingClient(port: number): Promise<net.Socket> {
  const c = net.connect({ port, host: '127.0.0.1' });
  await once(c, 'connect');
  c.write('PING\r\n');
  await once(c, 'data');
  return c;
}

const noSs = process.platform !== 'linux' || spawnSync('ss', ['-V']).status !== 0;

test(
  'session_keepalive_period: client connections keep alive at that period, in one process or handed to workers',
  { skip: noSs },
  async () => {
    for (const args of [[], ['--ncpu', '2']]) {
      const p = await startProxy({
        backends: [redis.addr],
        config: { session_keepalive_period: '33s' },
        args,
      });
      proxies.push(p);
      const c = await pingingClient(Number(p.port));
      const secs = await keepaliveSecs(Number(p.port), c.localPort!);
      assert.ok(
        secs !== null && secs > 20 && secs <= 33,
        `keepalive timer ${secs}s (${args.join(' ') || 'one process'})`,
      );
      c.destroy();
    }
    const off = await proxyWith({ session_keepalive_period: '0' });
    const c = await pingingClient(Number(off.port));
    assert.equal(await keepaliveSecs(Number(off.port), c.localPort!), null);
    c.destroy();
  },
);
