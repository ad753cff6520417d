/**
 * Back-pressure: a client that pipelines many GETs of a 1 MB value and never reads its replies must not
 * make the proxy buffer them all. The proxy's RSS stays bounded while other clients are served, and
 * the proxy is back to normal once the slow client is gone.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { startProxy, type ProxyProcess } from '../helpers/proxy.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { encodeCommand } from '../helpers/resp-client.js';

const MB = 1024 * 1024;
const VALUE = Buffer.alloc(MB, 'v');
/** GETs the slow client sends: about 1 GB of would-be replies. */
const SLOW_GETS = 1000;
/** How far over its baseline the proxy's RSS may grow. */
const RSS_BOUND = 200 * MB;
/** How long the slow client stays connected while the proxy is watched. */
const WINDOW_MS = 3000;

let redis: RedisServer | undefined;
let proxy: ProxyProcess | undefined;

after(async () => {
  await proxy?.stop();
  await redis?.stop();
});

function rssOf(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m, 'VmRSS in /proc/<pid>/status');
  return Number(m[1]) * 1024;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function stats(p: ProxyProcess): Promise<any> {
  return (await fetch(`http://${p.admin}/proxy/stats`, { signal: AbortSignal.timeout(5000) })).json();
}

function getCalls(s: { ops: { cmd: { opstr: string; calls: number }[] } }): number {
  return s.ops.cmd.find((c) => c.opstr === 'GET')?.calls ?? 0;
}

test('a client that never reads its 1 MB replies does not blow up the proxy', async (t) => {
  redis = await startRedis();
  proxy = await startProxy({ backends: [redis.addr] });
  const p = proxy;
  const pid = p.child.pid!;

  const fast = await p.connect({ timeoutMs: 5000 });
  assert.equal(await fast.call('SET', 'big', VALUE), 'OK');
  assert.equal(await fast.call('SET', 'small', 'ok'), 'OK');
  for (let i = 0; i < 5; i++) assert.equal((await fast.call('GET', 'big'))?.toString().length, MB);
  const baseline = rssOf(pid);
  const before = await stats(p);
  const getsBefore = getCalls(before);
  const offheapBefore: number = before.runtime.mem_offheap;

  // The slow client: writes GETs as fast as its socket takes them and never reads.
  const slow = net.connect({ port: p.port, host: '127.0.0.1' });
  slow.on('error', () => {});
  await new Promise((r) => slow.once('connect', r));
  slow.pause();
  const get = encodeCommand(['GET', 'big']);
  let sent = 0;
  const writer = (async () => {
    for (; sent < SLOW_GETS && !slow.destroyed; sent++) {
      if (!slow.write(get)) await new Promise((r) => slow.once('drain', r).once('close', r));
    }
  })();

  // Watch the proxy's RSS; past the bound, drop the slow client at once (the test fails).
  let peak = baseline;
  let tripped = false;
  let trippedAt = 0;
  const start = Date.now();
  const watchdog = setInterval(() => {
    peak = Math.max(peak, rssOf(pid));
    if (peak - baseline > RSS_BOUND && !tripped) {
      tripped = true;
      trippedAt = Date.now() - start;
      slow.destroy();
    }
  }, 20);

  // Meanwhile another client is served.
  const latencies: number[] = [];
  const failures: string[] = [];
  let fastGets = 0;
  try {
    while (Date.now() - start < WINDOW_MS && !tripped) {
      const t0 = Date.now();
      try {
        assert.equal((await fast.call('STRLEN', 'big')) as number, MB);
        assert.equal(String(await fast.call('GET', 'small')), 'ok');
        fastGets++;
      } catch (e) {
        failures.push((e as Error).message);
        break;
      }
      latencies.push(Date.now() - t0);
    }
  } finally {
    clearInterval(watchdog);
  }
  // An operator finds the slow reader in CLIENT LIST: replies wait for it (omem), to be written (w).
  const listed = String(await fast.call('CLIENT', 'LIST')).split('\n');
  const slowLine = listed.find((l) => / cmd=get /.test(l) && !/ omem=0 /.test(l));
  assert.ok(
    slowLine !== undefined && /events=rw /.test(slowLine) && Number(/ omem=(\d+)/.exec(slowLine)![1]) >= MB,
    `the slow client in CLIENT LIST:\n${listed.join('\n')}`,
  );
  const slowAnswered = getCalls(await stats(p)) - getsBefore - fastGets;
  const wouldBe = sent * MB;
  t.diagnostic(
    `slow client sent ${sent} GETs (${(wouldBe / MB).toFixed(0)} MB of replies), proxy answered ` +
      `${slowAnswered}; RSS baseline ${(baseline / MB).toFixed(0)} MB, peak +${((peak - baseline) / MB).toFixed(0)} MB` +
      `${tripped ? `, bound passed after ${trippedAt} ms` : ''}; ` +
      `other client: ${latencies.length} round trips, max ${Math.max(0, ...latencies)} ms`,
  );

  slow.destroy();
  await writer;
  assert.ok(wouldBe >= 4 * RSS_BOUND, `the slow client sent only ${sent} GETs`);
  assert.ok(
    peak - baseline <= RSS_BOUND,
    `proxy RSS grew by ${((peak - baseline) / MB).toFixed(0)} MB (bound ${RSS_BOUND / MB} MB) ` +
      `while a client did not read ${sent} 1 MB replies; it answered ${slowAnswered} of them meanwhile`,
  );
  assert.ok(slowAnswered >= 1, 'the proxy did serve the slow client up to its limit');
  assert.deepEqual(failures, [], 'the other client was served');
  assert.ok(latencies.length >= 10, `the other client made only ${latencies.length} round trips`);
  assert.ok(Math.max(...latencies) < 2000, `the other client waited up to ${Math.max(...latencies)} ms`);

  // Once the slow client is gone: its session closes, its reply buffers are released (RSS itself may stay
  // up: the allocator keeps freed pages), and clients are served normally.
  const until = Date.now() + 10_000;
  while ((await stats(p)).sessions.alive !== 1) {
    assert.ok(Date.now() < until, 'the slow session is closed');
    await sleep(50);
  }
  const fresh = await p.connect({ timeoutMs: 5000 });
  assert.ok(VALUE.equals((await fresh.call('GET', 'big')) as Buffer));
  fresh.destroy();
  let offheap = (await stats(p)).runtime.mem_offheap;
  while (offheap - offheapBefore > RSS_BOUND) {
    assert.ok(
      Date.now() < until,
      `buffers still +${((offheap - offheapBefore) / MB).toFixed(0)} MB after 10 s`,
    );
    await sleep(100);
    offheap = (await stats(p)).runtime.mem_offheap;
  }
  assert.equal(String(await fast.call('GET', 'small')), 'ok');
  fast.destroy();
  assert.equal(p.child.exitCode, null);
});
