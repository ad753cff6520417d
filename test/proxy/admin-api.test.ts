/**
 * The proxy admin HTTP API against a real codis-proxy process and real redis-servers: read-only views,
 * xauth, going online by hand, fillslots validation and effects (moving and locking slots), stats
 * flags and reset, log level, sentinels, shutdown.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { evenSlots, startProxy, type ProxyProcess, type SlotSpec } from '../helpers/proxy.js';
import { startRedis, RedisError, type RedisServer } from '../helpers/redis.js';
import { proxyXAuth } from '../../src/utils/xauth.js';
import { until } from '../topom/flow.js';

const PRODUCT_AUTH = 'prod-secret-7f3a';
const SESSION_AUTH = 'sess-secret-9b1c';

let r1: RedisServer;
let r2: RedisServer;
let proxy: ProxyProcess;
let xauth: string;

interface HttpAnswer {
  status: number;
  type: string;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

async function http(p: ProxyProcess, method: string, path: string, body?: unknown): Promise<HttpAnswer> {
  const init: RequestInit = { method, redirect: 'manual', signal: AbortSignal.timeout(10_000) };
  if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
  const res = await fetch(`http://${p.admin}${path}`, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, type: res.headers.get('content-type') ?? '', text, json };
}

async function ok(p: ProxyProcess, method: string, path: string, body?: unknown): Promise<HttpAnswer> {
  const a = await http(p, method, path, body);
  assert.equal(a.status, 200, `${method} ${path}: ${a.text}`);
  return a;
}

/** 4xx with a JSON error body; returns its cause. */
async function refused(p: ProxyProcess, method: string, path: string, body?: unknown): Promise<string> {
  const a = await http(p, method, path, body);
  assert.ok(a.status >= 400 && a.status < 500, `${method} ${path}: expected 4xx, got ${a.status} ${a.text}`);
  assert.match(a.type, /application\/json/);
  assert.equal(typeof a.json?.cause, 'string', a.text);
  return a.json.cause as string;
}

const slotOf = (key: string) => crc32(key) % 1024;
/** The first key `${prefix}N` whose slot satisfies `want`. */
function keyWhere(prefix: string, want: (slot: number) => boolean): string {
  for (let i = 0; ; i++) if (want(slotOf(`${prefix}${i}`))) return `${prefix}${i}`;
}

/** The promise's value, or `late` if it takes longer than ms (the timer never outlives the race). */
async function within<T>(p: Promise<T>, ms: number, late = 'timeout'): Promise<T | string> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<string>((r) => (timer = setTimeout(() => r(late), ms)));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

const client = () => proxy.connect({ password: SESSION_AUTH, timeoutMs: 5000 });

before(async () => {
  [r1, r2] = await Promise.all([
    startRedis({ password: PRODUCT_AUTH }),
    startRedis({ password: PRODUCT_AUTH }),
  ]);
  proxy = await startProxy({
    backends: [r1!.addr, r2!.addr],
    config: { product_auth: PRODUCT_AUTH, session_auth: SESSION_AUTH },
  });
  const model = (await ok(proxy, 'GET', '/api/proxy/model')).json;
  xauth = proxyXAuth('test', PRODUCT_AUTH, model.token);
});

after(async () => {
  await proxy?.stop();
  await Promise.all([r1?.stop(), r2?.stop()]);
});

test('GET /proxy: overview with version, compile, config without secrets, model, stats and 1024 slots', async () => {
  const a = await ok(proxy, 'GET', '/proxy');
  assert.match(a.type, /application\/json/);
  const o = a.json;
  assert.equal(typeof o.version, 'string');
  assert.ok(o.version.length > 0);
  assert.equal(typeof o.compile, 'string');
  assert.ok(o.compile.length > 0);
  assert.equal(o.config.product_name, 'test');
  assert.equal(o.config.proxy_addr, `127.0.0.1:${proxy.port}`);
  assert.equal(o.config.backend_recv_timeout, '30s');
  assert.ok(!('product_auth' in o.config) && !('session_auth' in o.config), 'secret keys are hidden');
  assert.ok(!a.text.includes(PRODUCT_AUTH) && !a.text.includes(SESSION_AUTH), 'no secret value anywhere');
  assert.equal(o.model.product_name, 'test');
  assert.equal(o.model.pid, proxy.child.pid);
  assert.equal(o.stats.online, true);
  assert.ok(Array.isArray(o.slots));
  assert.equal(o.slots.length, 1024);
  assert.deepEqual(
    o.slots.map((s: SlotSpec) => s.id),
    Array.from({ length: 1024 }, (_, i) => i),
  );
  const redirect = await http(proxy, 'GET', '/');
  assert.ok(redirect.status >= 300 && redirect.status < 400);
});

test('GET /proxy/model and /api/proxy/model: the same model, with token and product_name', async () => {
  const a = (await ok(proxy, 'GET', '/proxy/model')).json;
  const b = (await ok(proxy, 'GET', '/api/proxy/model')).json;
  assert.deepEqual(a, b);
  assert.match(b.token, /^[0-9a-f]{32}$/);
  assert.equal(b.product_name, 'test');
  assert.equal(b.proxy_addr, `127.0.0.1:${proxy.port}`);
  assert.equal(b.admin_addr, proxy.admin);
  assert.equal(b.pid, proxy.child.pid);
});

test('GET /proxy/stats: the Codis stats shape', async () => {
  const c = await client();
  assert.equal(await c.call('SET', 'stats-shape', 'v'), 'OK');
  const s = (await ok(proxy, 'GET', '/proxy/stats')).json;
  c.destroy();
  assert.equal(s.online, true);
  assert.equal(s.closed, false);
  assert.equal(typeof s.sentinels, 'object');
  assert.equal(s.sentinels.servers, undefined);
  for (const k of ['total', 'fails', 'qps']) assert.equal(typeof s.ops[k], 'number', `ops.${k}`);
  assert.ok(s.ops.total >= 2, 'AUTH and SET were counted');
  assert.equal(typeof s.ops.redis.errors, 'number');
  assert.ok(Array.isArray(s.ops.cmd));
  assert.ok(s.ops.cmd.some((e: { opstr: string }) => e.opstr === 'SET'));
  assert.equal(typeof s.sessions.total, 'number');
  assert.ok(s.sessions.alive >= 1, 'our client is alive');
  assert.equal(typeof s.rusage.now, 'string');
  assert.equal(typeof s.rusage.cpu, 'number');
  assert.ok(s.rusage.mem > 10 * 1024 * 1024, 'mem is an RSS in bytes');
  assert.equal(typeof s.rusage.raw, 'object');
  assert.deepEqual(s.backend, { primary_only: false });
  assert.equal(typeof s.runtime, 'object');
});

test('GET /proxy/slots: 1024 slots spread over the two backends', async () => {
  const slots: SlotSpec[] = (await ok(proxy, 'GET', '/proxy/slots')).json;
  assert.equal(slots.length, 1024);
  assert.equal(slots[0]!.backend_addr, r1.addr);
  assert.equal(slots[511]!.backend_addr, r1.addr);
  assert.equal(slots[512]!.backend_addr, r2.addr);
  assert.equal(slots[1023]!.backend_addr, r2.addr);
  assert.equal(slots[1023]!.backend_addr_group_id, 2);
  const viaXauth = (await ok(proxy, 'GET', `/api/proxy/slots/${xauth}`)).json;
  assert.deepEqual(viaXauth, slots);
});

test('xauth-protected routes: the right xauth works, a wrong or missing one is refused with no effect', async () => {
  await ok(proxy, 'GET', `/api/proxy/xping/${xauth}`);
  const s = (await ok(proxy, 'GET', `/api/proxy/stats/${xauth}`)).json;
  assert.equal(s.online, true);
  assert.equal(s.ops.cmd, undefined, 'flags 0: no per-command stats');
  assert.equal(s.runtime, undefined, 'flags 0: no runtime');

  const wrong = proxyXAuth('test', 'not-the-auth', (await ok(proxy, 'GET', '/api/proxy/model')).json.token);
  const slotsBefore = (await ok(proxy, 'GET', '/proxy/slots')).json;
  const calls: [string, string, unknown?][] = [
    ['GET', `/api/proxy/xping/${wrong}`],
    ['GET', `/api/proxy/stats/${wrong}`],
    ['GET', `/api/proxy/stats/${wrong}/1`],
    ['GET', `/api/proxy/slots/${wrong}`],
    ['PUT', `/api/proxy/start/${wrong}`],
    ['PUT', `/api/proxy/stats/reset/${wrong}`],
    ['PUT', `/api/proxy/loglevel/${wrong}/DEBUG`],
    ['PUT', `/api/proxy/fillslots/${wrong}`, [{ id: 0 }]],
    ['PUT', `/api/proxy/sentinels/${wrong}`, { servers: ['127.0.0.1:1'] }],
    ['PUT', `/api/proxy/shutdown/${wrong}`],
  ];
  for (const [method, path, body] of calls) {
    assert.equal(await refused(proxy, method, path, body), 'invalid xauth, please check product name & auth');
  }
  for (const path of ['/api/proxy/xping/', '/api/proxy/start/']) {
    const cause = await refused(proxy, path.includes('start') ? 'PUT' : 'GET', path);
    assert.match(cause, /^(missing|invalid) xauth, please check product name & auth$/);
  }
  assert.deepEqual((await ok(proxy, 'GET', '/proxy/slots')).json, slotsBefore, 'fillslots had no effect');
  const after = (await ok(proxy, 'GET', '/proxy/stats')).json;
  assert.equal(after.sentinels.servers, undefined, 'sentinels had no effect');
  assert.equal(proxy.child.exitCode, null, 'shutdown had no effect');
});

test('successful calls answer the JSON string "OK", as Codis tools expect', async () => {
  const calls: [string, string, unknown?][] = [
    ['GET', `/api/proxy/xping/${xauth}`],
    ['PUT', `/api/proxy/start/${xauth}`],
    ['PUT', `/api/proxy/stats/reset/${xauth}`],
    ['PUT', `/api/proxy/forcegc/${xauth}`],
    ['PUT', `/api/proxy/loglevel/${xauth}/WARN`],
    ['PUT', `/api/proxy/sentinels/${xauth}`, { servers: [] }],
    ['PUT', `/api/proxy/fillslots/${xauth}`, []],
  ];
  const wrong: string[] = [];
  for (const [method, path, body] of calls) {
    const a = await ok(proxy, method, path, body);
    if (a.text !== '"OK"' || !/application\/json/.test(a.type)) {
      wrong.push(`${method} ${path.replace(xauth, ':xauth')} → ${a.type}, body: ${a.text}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('fillslots with a bad body: 400 naming the problem, slot table unchanged', async () => {
  const before = (await ok(proxy, 'GET', '/proxy/slots')).json;
  const path = `/api/proxy/fillslots/${xauth}`;
  const cases: [string | unknown[] | object, RegExp][] = [
    ['[{"id": 0, "backend_addr": ', /JSON/i],
    [{ id: 0, backend_addr: r2.addr }, /array/i],
    [[{ id: 1024, backend_addr: r2.addr }], /\bid\b.*1024|1024.*\bid\b/],
    [[{ id: -1, backend_addr: r2.addr }], /\bid\b/],
    [[{ id: 5, backend_addr: 'no-port-here' }], /backend_addr/],
    [[{ id: 5, backend_addr: r2.addr, forward_method: 7 }], /forward_method/],
    [
      [
        { id: 0, backend_addr: r2.addr },
        { id: 1024, backend_addr: r2.addr },
      ],
      /1024/,
    ],
  ];
  for (const [body, cause] of cases) {
    const a = await http(proxy, 'PUT', path, body);
    assert.equal(a.status, 400, `${JSON.stringify(body)} → ${a.status} ${a.text}`);
    assert.match(a.json?.cause ?? '', cause, JSON.stringify(body));
  }
  assert.deepEqual((await ok(proxy, 'GET', '/proxy/slots')).json, before);
});

test('GET /api/proxy/stats/:xauth/:flags: 1 adds per-command calls, 4 adds runtime, abc is refused', async () => {
  await ok(proxy, 'PUT', `/api/proxy/stats/reset/${xauth}`);
  const c = await client();
  for (let i = 0; i < 5; i++) assert.equal(await c.call('SET', `flags-${i}`, i), 'OK');
  for (let i = 0; i < 3; i++) assert.deepEqual(await c.call('GET', `flags-${i}`), Buffer.from(String(i)));
  c.destroy();
  const s1 = (await ok(proxy, 'GET', `/api/proxy/stats/${xauth}/1`)).json;
  const byName = new Map<string, { calls: number }>(s1.ops.cmd.map((e: { opstr: string }) => [e.opstr, e]));
  assert.equal(byName.get('SET')?.calls, 5);
  assert.equal(byName.get('GET')?.calls, 3);
  const names = s1.ops.cmd.map((e: { opstr: string }) => e.opstr);
  assert.deepEqual(names, [...names].sort(), 'cmd is sorted by opstr');
  assert.equal(s1.runtime, undefined);
  const s4 = (await ok(proxy, 'GET', `/api/proxy/stats/${xauth}/4`)).json;
  assert.equal(s4.ops.cmd, undefined);
  assert.equal(typeof s4.runtime, 'object');
  assert.match(await refused(proxy, 'GET', `/api/proxy/stats/${xauth}/abc`), /abc/);
});

test('stats runtime counts the garbage collections that requests cause, and the heap', async () => {
  const gc = async () => (await ok(proxy, 'GET', `/api/proxy/stats/${xauth}/4`)).json.runtime.gc;
  const before = await gc();
  const c = await client();
  // About 12 MB of request and reply garbage: more than the proxy's young generation holds.
  const value = 'v'.repeat(256);
  for (let i = 0; i < 10; i++) {
    const replies = await c.pipeline(Array.from({ length: 2_000 }, (_, j) => ['SET', `gc-${j}`, value]));
    assert.equal(replies.length, 2_000);
  }
  c.destroy();
  const s = (await ok(proxy, 'GET', `/api/proxy/stats/${xauth}/4`)).json.runtime;
  assert.ok(s.gc.num > before.num, `gc.num ${before.num} -> ${s.gc.num}`);
  assert.ok(s.gc.total_pausems >= before.total_pausems);
  assert.ok(s.gc.num_major <= s.gc.num);
  assert.ok(s.gc.cpu_fraction > 0 && s.gc.cpu_fraction < 1, `cpu_fraction ${s.gc.cpu_fraction}`);
  assert.ok(s.heap.inuse > 1024 * 1024 && s.heap.inuse <= s.heap.sys, JSON.stringify(s.heap));
  assert.equal(s.num_procs, 1);
});

test('PUT /api/proxy/stats/reset zeroes ops.total and the per-command stats', async () => {
  const c = await client();
  assert.equal(await c.call('SET', 'reset-me', '1'), 'OK');
  assert.ok((await ok(proxy, 'GET', '/proxy/stats')).json.ops.total > 0);
  await ok(proxy, 'PUT', `/api/proxy/stats/reset/${xauth}`);
  const s = (await ok(proxy, 'GET', '/proxy/stats')).json;
  assert.equal(s.ops.total, 0);
  assert.equal(s.ops.fails, 0);
  assert.deepEqual(s.ops.cmd, []);
  assert.equal(s.sessions.total, s.sessions.alive);
  c.destroy();
});

test('PUT /api/proxy/loglevel: DEBUG is accepted, bogus is refused', async () => {
  await ok(proxy, 'PUT', `/api/proxy/loglevel/${xauth}/DEBUG`);
  assert.match(await refused(proxy, 'PUT', `/api/proxy/loglevel/${xauth}/bogus`), /loglevel/);
  await ok(proxy, 'PUT', `/api/proxy/loglevel/${xauth}/warn`);
});

test('PUT /api/proxy/sentinels: the list shows in stats.sentinels.servers; a bad body is refused', async () => {
  const path = `/api/proxy/sentinels/${xauth}`;
  await ok(proxy, 'PUT', path, { servers: ['127.0.0.1:1'] });
  const s = (await ok(proxy, 'GET', '/proxy/stats')).json;
  assert.deepEqual(s.sentinels.servers, ['127.0.0.1:1']);
  await refused(proxy, 'PUT', path, { servers: 'not-a-list' });
  await ok(proxy, 'PUT', path, { servers: [] });
  assert.equal((await ok(proxy, 'GET', '/proxy/stats')).json.sentinels.servers, undefined);
});

test('fillslots moving a slot to another backend changes where new writes land', async () => {
  const key = keyWhere('move-', (s) => s < 512);
  const slot = slotOf(key);
  const c = await client();
  assert.equal(await c.call('SET', key, 'before'), 'OK');
  assert.deepEqual(await r1.call('GET', key), Buffer.from('before'));
  assert.equal(await r2.call('GET', key), null);

  const moved = { id: slot, backend_addr: r2.addr, backend_addr_group_id: 2 };
  await ok(proxy, 'PUT', `/api/proxy/fillslots/${xauth}`, [moved]);
  assert.deepEqual((await ok(proxy, 'GET', '/proxy/slots')).json[slot], moved);
  assert.equal(await c.call('SET', key, 'after'), 'OK');
  assert.deepEqual(await r2.call('GET', key), Buffer.from('after'));
  assert.deepEqual(await r1.call('GET', key), Buffer.from('before'), 'the old backend is not written');
  assert.deepEqual(await c.call('GET', key), Buffer.from('after'));

  const back = evenSlots([r1.addr, r2.addr])[slot];
  await ok(proxy, 'PUT', `/api/proxy/fillslots/${xauth}`, [back]);
  assert.deepEqual(await c.call('GET', key), Buffer.from('before'));
  c.destroy();
});

test('fillslots adds a replica group, reads follow it; a later fill without it sends them back to the master', async () => {
  const key = keyWhere('replica-', (s) => s < 512);
  const slot = slotOf(key);
  await r1.call('SET', key, 'on-master');
  await r2.call('SET', key, 'on-replica');
  const c = await client();
  const spec = evenSlots([r1.addr, r2.addr])[slot]!;
  await ok(proxy, 'PUT', `/api/proxy/fillslots/${xauth}`, [{ ...spec, replica_groups: [[r2.addr]] }]);
  assert.deepEqual((await ok(proxy, 'GET', '/proxy/slots')).json[slot].replica_groups, [[r2.addr]]);
  // Until the proxy's connection to the replica is up, reads stay on the master.
  await until(
    'reads to go to the replica group',
    async () => String(await c.call('GET', key)) === 'on-replica',
  );
  await ok(proxy, 'PUT', `/api/proxy/fillslots/${xauth}`, [spec]);
  assert.equal((await ok(proxy, 'GET', '/proxy/slots')).json[slot].replica_groups, undefined);
  assert.deepEqual(await c.call('GET', key), Buffer.from('on-master'));
  await Promise.all([r1.call('DEL', key), r2.call('DEL', key)]);
  c.destroy();
});

test('a locked slot holds a GET until a later fillslots unlocks it; other slots are served', async () => {
  const key = keyWhere('locked-', (s) => s < 512);
  const other = keyWhere('free-', (s) => s !== slotOf(key));
  const spec = evenSlots([r1.addr, r2.addr])[slotOf(key)]!;
  const [a, b] = await Promise.all([client(), client()]);
  assert.equal(await a.call('SET', key, 'held-value'), 'OK');
  await ok(proxy, 'PUT', `/api/proxy/fillslots/${xauth}`, [{ ...spec, locked: true }]);
  assert.equal((await ok(proxy, 'GET', '/proxy/slots')).json[slotOf(key)].locked, true);

  const events: string[] = [];
  const held = a.call('GET', key).then((r) => (events.push('reply'), r));
  // Another slot is served meanwhile, and the held reply does not come on its own.
  assert.equal(await b.call('SET', other, 'x'), 'OK');
  assert.equal(
    await within(
      held.then(() => 'answered'),
      500,
      'still held',
    ),
    'still held',
  );

  events.push('unlock');
  const unlocked = ok(proxy, 'PUT', `/api/proxy/fillslots/${xauth}`, [spec]);
  assert.deepEqual(await held, Buffer.from('held-value'));
  await unlocked;
  assert.deepEqual(events, ['unlock', 'reply']);
  assert.equal((await ok(proxy, 'GET', '/proxy/slots')).json[slotOf(key)].locked, undefined);
  a.destroy();
  b.destroy();
});

test("a switch waits for the slot's in-flight requests to finish on the old backend", async () => {
  const key = keyWhere('drain-', (s) => s < 512);
  const spec = evenSlots([r1.addr, r2.addr])[slotOf(key)]!;
  const c = await client();
  await r2.call('SET', key, 'on-r2');
  // r1 holds writes for 800 ms: the SET below stays in flight there.
  await r1.call('CLIENT', 'PAUSE', '800', 'WRITE');
  const t0 = Date.now();
  const set = c.call('SET', key, 'on-r1');
  await until('the SET to wait on r1', async () =>
    /blocked_clients:1/.test(String(await r1.call('INFO', 'clients'))),
  );
  await ok(proxy, 'PUT', `/api/proxy/fillslots/${xauth}`, [{ ...spec, backend_addr: r2.addr }]);
  const waited = Date.now() - t0;
  assert.equal(await set, 'OK');
  // Without the drain the switch would answer at once, long before r1 lets the SET through.
  assert.ok(waited >= 600, `the switch answered after ${waited} ms`);
  assert.equal(String(await r1.call('GET', key)), 'on-r1');
  assert.deepEqual(await c.call('GET', key), Buffer.from('on-r2'), 'the new backend serves the slot');
  await ok(proxy, 'PUT', `/api/proxy/fillslots/${xauth}`, [spec]);
  await Promise.all([r1.call('DEL', key), r2.call('DEL', key)]);
  c.destroy();
});

test('an offline proxy refuses clients until fillslots + start bring it online', async () => {
  const p = await startProxy({ offline: true, config: { product_auth: PRODUCT_AUTH } });
  try {
    const x = proxyXAuth('test', PRODUCT_AUTH, (await ok(p, 'GET', '/api/proxy/model')).json.token);
    const refusedClient = async () => {
      const c = await p.connect();
      const r = await c.readReply(5000);
      assert.ok(r instanceof RedisError);
      assert.equal(r.message, 'ERR router is not online');
      await c.waitClosed(5000);
    };
    await refusedClient();
    assert.equal((await ok(p, 'GET', '/proxy/stats')).json.online, false);
    const slots = (await ok(p, 'GET', '/proxy/slots')).json;
    assert.ok(slots.every((s: SlotSpec) => s.backend_addr === undefined));

    await ok(p, 'PUT', `/api/proxy/fillslots/${x}`, evenSlots([r1.addr]));
    await refusedClient();
    await ok(p, 'PUT', `/api/proxy/start/${x}`);
    assert.equal((await ok(p, 'GET', '/proxy/stats')).json.online, true);

    const c = await p.connect({ timeoutMs: 5000 });
    assert.equal(await c.call('SET', 'offline-then-online', 'yes'), 'OK');
    assert.deepEqual(await c.call('GET', 'offline-then-online'), Buffer.from('yes'));
    assert.deepEqual(await r1.call('GET', 'offline-then-online'), Buffer.from('yes'));
    c.destroy();
  } finally {
    await p.stop();
  }
});

test('unknown path: 404 with a JSON body', async () => {
  const a = await http(proxy, 'GET', '/api/proxy/no-such-thing');
  assert.equal(a.status, 404);
  assert.match(a.type, /application\/json/);
  assert.equal(typeof a.json?.cause, 'string');
});

test('PUT /api/proxy/shutdown: the process exits with code 0 and drops its clients', async () => {
  const c = await client();
  await ok(proxy, 'PUT', `/api/proxy/shutdown/${xauth}`);
  assert.equal(await within(proxy.exited, 10_000), 0);
  await c.waitClosed(5000);
});
