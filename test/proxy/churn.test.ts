import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startProxy, type ProxyProcess } from '../helpers/proxy.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { runProgram } from '../helpers/run.js';

// Clients that open a connection for each request (PHP's default, cron jobs, shell loops).
const N = 80_000;
let redis: RedisServer;
let proxy: ProxyProcess;

before(async () => {
  redis = await startRedis();
  proxy = await startProxy({ backends: [redis.addr] });
});
after(async () => {
  await proxy?.stop();
  await redis?.stop();
});

function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]);
}

interface Counts {
  ops: number;
  sessions: number;
  alive: number;
}

async function counts(): Promise<Counts> {
  const s = (await (await fetch(`http://${proxy.admin}/proxy/stats`)).json()) as {
    ops: { total: number };
    sessions: { total: number; alive: number };
  };
  return { ops: s.ops.total, sessions: s.sessions.total, alive: s.sessions.alive };
}

/** `n` GETs over 50 clients, each request on a connection of its own (redis-benchmark -k 0). */
async function reconnectingGets(n: number): Promise<void> {
  const r = await runProgram(
    'redis-benchmark',
    ['-p', String(proxy.port), '-t', 'get', '-n', String(n), '-c', '50', '-k', '0', '-r', '1000', '--csv'],
    120_000,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^"GET","\d/m, r.stdout);
}

async function allClosed(): Promise<Counts> {
  let c = await counts();
  for (let i = 0; i < 100 && c.alive > 0; i++) {
    await new Promise((r) => setTimeout(r, 50));
    c = await counts();
  }
  return c;
}

test(
  `${N} connections of one GET each are all served and closed; the proxy's peak RSS stays bounded`,
  { timeout: 180_000 },
  async (t) => {
    const pid = proxy.child.pid!;
    // Warm up first, so that what the run adds is per-connection memory, not compiled code.
    await reconnectingGets(2_000);
    const start = await allClosed();
    const rssBefore = statusKb(pid, 'VmRSS');
    await reconnectingGets(N);
    const end = await allClosed();
    const grown = (statusKb(pid, 'VmHWM') - rssBefore) / 1024;
    t.diagnostic(`peak RSS ${grown.toFixed(1)} MB above the RSS before ${N} reconnecting clients`);
    // Each connection is a session of its own, and each is gone once its client left.
    assert.ok(end.sessions - start.sessions >= N, `${end.sessions - start.sessions} sessions`);
    assert.ok(end.ops - start.ops >= N, `${end.ops - start.ops} commands`);
    assert.equal(end.alive, 0);
    // Measured 7 MB. With V8's default heap growth (up to 4 times what the last full GC
    // left) it was 33-36 MB: every connection leaves some 500 bytes in the old generation.
    assert.ok(grown < 20, `peak RSS grew ${grown.toFixed(1)} MB`);
  },
);
