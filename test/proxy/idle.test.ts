import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { startProxy, type ProxyProcess } from '../helpers/proxy.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';

const N = 10_000;
let redis: RedisServer;
let proxy: ProxyProcess;

before(async () => {
  redis = await startRedis();
  proxy = await startProxy({ backends: [redis.addr], config: { proxy_max_clients: N + 100 } });
});
after(async () => {
  await proxy?.stop();
  await redis?.stop();
});

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]);
}

async function alive(): Promise<number> {
  const s = (await (await fetch(`http://${proxy.admin}/proxy/stats`)).json()) as {
    sessions: { alive: number };
  };
  return s.sessions.alive;
}

/** Opens a connection and waits for the proxy's PONG, so its session exists. */
function pinged(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write('PING\r\n'));
    s.once('data', (d) => (d.toString() === '+PONG\r\n' ? resolve(s) : reject(new Error(d.toString()))));
    s.once('error', reject);
  });
}

test(
  `${N} idle connections are accepted and held; RSS growth is bounded`,
  { timeout: 120_000 },
  async (t) => {
    const pid = proxy.child.pid!;
    const before = rssKb(pid);
    const sockets: net.Socket[] = [];
    for (let i = 0; i < N; i += 500) {
      sockets.push(
        ...(await Promise.all(Array.from({ length: Math.min(500, N - i) }, () => pinged(proxy.port)))),
      );
    }
    assert.equal(await alive(), N);
    const grown = (rssKb(pid) - before) / 1024;
    t.diagnostic(
      `RSS grew ${grown.toFixed(1)} MB for ${N} idle connections (${((grown * 1000) / N).toFixed(2)} MB per 1,000)`,
    );
    // Measured 1.4-1.9 MB per 1,000 on bare handles (4.7 over net.Socket); the bound leaves room
    // for the heap growing in steps, and still fails a return to a net.Socket per client.
    assert.ok(grown < (2.5 * N) / 1000, `RSS grew ${grown.toFixed(1)} MB`);
    // Still serving: a new client works while all of them are held.
    const extra = await pinged(proxy.port);
    extra.destroy();
    for (const s of sockets) s.destroy();
    for (let i = 0; i < 100 && (await alive()) > 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await alive(), 0);
  },
);
