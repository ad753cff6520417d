import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyOn, proxyOverTwoGroups } from '../helpers/proxy.js';
import type { Reply } from '../helpers/resp-client.js';
import { RawConn } from '../helpers/raw-conn.js';

// LATENCY: HISTOGRAM is the proxy's own; LATEST, HISTORY and RESET merge every server's monitor.
const two = proxyOverTwoGroups({ client: true });

/** A script that keeps its server busy for `ms`. */
const spin = (ms: number) =>
  `local s = redis.call('TIME') repeat local n = redis.call('TIME') until (n[1] - s[1]) * 1000 + (n[2] - s[2]) / 1000 >= ${ms}`;

/** A flat RESP2 map as a Map with string keys. */
function pairs(r: Reply): Map<string, Reply> {
  assert.ok(Array.isArray(r), `a map, got ${String(r)}`);
  const m = new Map<string, Reply>();
  for (let i = 0; i < r.length; i += 2) m.set(String(r[i]), r[i + 1]!);
  return m;
}

/** calls and [µs, cumulative count] steps of one command's histogram, checked for shape. */
function steps(h: Reply): { calls: number; points: [number, number][] } {
  const m = pairs(h);
  const calls = m.get('calls') as number;
  const flat = m.get('histogram_usec') as number[];
  const points: [number, number][] = [];
  for (let i = 0; i < flat.length; i += 2) points.push([flat[i]!, flat[i + 1]!]);
  for (let i = 0; i < points.length; i++) {
    const [us, n] = points[i]!;
    assert.equal(Math.log2(us) % 1, 0, `bucket ${us} is a power of two`);
    if (i > 0) assert.ok(us > points[i - 1]![0] && n > points[i - 1]![1], 'ascending, and growing');
  }
  assert.equal(points.at(-1)?.[1], calls, 'the last step counts every call');
  return { calls, points };
}

test("LATENCY HISTOGRAM gives each command's latency through the proxy, in Redis's format", async () => {
  const c = two.client;
  assert.equal(await c.call('CONFIG', 'RESETSTAT'), 'OK');
  await c.call('SET', keyOn('lat', 0), 'a');
  await c.call('SET', keyOn('lat', 1), 'b');
  await c.call('GET', keyOn('lat', 0));
  await c.call('CLIENT', 'ID');
  await c.call('EVAL', spin(20), 1, keyOn('lat', 1));
  const all = pairs(await c.call('LATENCY', 'HISTOGRAM'));
  assert.deepEqual([...all.keys()].sort(), ['client|id', 'config|resetstat', 'eval', 'get', 'set']);
  assert.equal(steps(all.get('set')!).calls, 2);
  assert.equal(steps(all.get('get')!).calls, 1);
  // The script ran 20 ms: its only call is counted from a bucket of 16384 µs or more.
  assert.ok(steps(all.get('eval')!).points[0]![0] >= 16384);
  // Named commands only; a container names its subcommands; an unknown name is skipped.
  const some = pairs(await c.call('LATENCY', 'HISTOGRAM', 'set', 'client', 'nosuch'));
  assert.deepEqual([...some.keys()].sort(), ['client|id', 'set']);
  assert.deepEqual(await c.call('LATENCY', 'HISTOGRAM', 'nosuch'), []);
  // RESP3: maps, of maps (two commands here: HELLO and PING ran on this connection).
  const r3 = await RawConn.open(two.proxy.port);
  try {
    await r3.send([['HELLO', 3]]);
    const text = await r3.send([['LATENCY', 'HISTOGRAM', 'hello', 'ping']]);
    assert.match(
      text,
      /^%2\r\n\$5\r\nhello\r\n%2\r\n\$5\r\ncalls\r\n:1\r\n\$14\r\nhistogram_usec\r\n%1\r\n:\d+\r\n:1\r\n\$4\r\nping\r\n%2\r\n/,
    );
  } finally {
    r3.close();
  }
});

test("LATENCY LATEST, HISTORY and RESET merge every server's latency monitor", async () => {
  const c = two.client;
  assert.equal(await c.call('CONFIG', 'SET', 'latency-monitor-threshold', '10'), 'OK');
  try {
    assert.equal(await c.call('LATENCY', 'RESET'), 0);
    for (const b of [0, 1]) await c.call('EVAL', spin(25), 1, keyOn('monitored', b));
    const latest = (await c.call('LATENCY', 'LATEST')) as Reply[][];
    assert.equal(latest.length, 1, 'one event, seen on both servers');
    const [name, time, last, max] = latest[0]!;
    assert.equal(String(name), 'command');
    assert.ok((time as number) > 0 && (last as number) >= 25 && (max as number) >= (last as number));
    const history = (await c.call('LATENCY', 'HISTORY', 'command')) as number[][];
    assert.equal(history.length, 2, 'one sample from each server');
    assert.ok(history[0]![0]! <= history[1]![0]!, 'oldest first');
    assert.equal(await c.call('LATENCY', 'RESET'), 2);
    assert.deepEqual(await c.call('LATENCY', 'LATEST'), []);
    // DOCTOR describes one server: slot 0's group's, as that server says it.
    assert.equal(
      String(await c.call('LATENCY', 'DOCTOR')),
      String(await two.servers[0]!.call('LATENCY', 'DOCTOR')),
    );
  } finally {
    await c.call('CONFIG', 'SET', 'latency-monitor-threshold', '0');
  }
});
