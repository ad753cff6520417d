/**
 * Backend failures seen through a real codis-proxy: a killed backend fails its slots' requests quickly
 * (never a hang) while the other backend's slots keep working, and traffic recovers after a restart;
 * a paused backend is timed out by backend_recv_timeout; product_auth is used for backends; a
 * command split over a live and a killed backend answers the failure.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { startProxy, type ProxyProcess } from '../helpers/proxy.js';
import { startRedis, RedisError, type Reply, type RedisServer, type RespClient } from '../helpers/redis.js';
import { until } from '../topom/flow.js';

/** Every call must resolve within this; a RespClient times out (and rejects) after it. */
const CALL_TIMEOUT_MS = 3000;
/** The proxy's own error replies when a backend connection is lost. */
const BACKEND_ERROR = /^ERR handle (request|response), backend conn (failure|reset)/;

const slotOf = (key: string) => crc32(key) % 1024;
function keyWhere(prefix: string, want: (slot: number) => boolean): string {
  for (let i = 0; ; i++) if (want(slotOf(`${prefix}${i}`))) return `${prefix}${i}`;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Calls `fn` until it returns true, `intervalMs` apart, failing after `ms`. */
async function pollUntil(
  what: string,
  ms: number,
  fn: () => Promise<boolean>,
  intervalMs = 50,
): Promise<number> {
  const start = Date.now();
  while (!(await fn())) {
    if (Date.now() - start > ms) assert.fail(`${what}: not within ${ms} ms`);
    await sleep(intervalMs);
  }
  return Date.now() - start;
}

type Phase = 'steady' | 'down' | 'recovering' | 'recovered';

/** Outcomes of the workers' calls by phase and backend; `until` waits for a condition on them. */
class Tally {
  phase: Phase = 'steady';
  readonly ok = new Map<string, number>();
  readonly errors: { phase: Phase; backend: number; msg: string }[] = [];
  readonly hangs: string[] = [];
  readonly mismatches: string[] = [];
  private waiters: { pred: () => boolean; resolve: () => void }[] = [];

  okCount(phase: Phase, backend: number): number {
    return this.ok.get(`${phase}/${backend}`) ?? 0;
  }

  errorsOf(phase: Phase, backend: number): string[] {
    return this.errors.filter((e) => e.phase === phase && e.backend === backend).map((e) => e.msg);
  }

  /**
   * Records a reply to a call sent in `sent`; true if it is the expected one. A call counts in the phase
   * it was sent in, except that one sent while steady and answered after the kill counts as down.
   */
  check(sent: Phase, backend: number, reply: Reply, expected: string): boolean {
    const phase = sent === 'steady' ? this.phase : sent;
    let good = false;
    if (reply instanceof RedisError) this.errors.push({ phase, backend, msg: reply.message });
    else if (String(reply) !== expected) this.mismatches.push(`${phase}: ${String(reply)} !== ${expected}`);
    else {
      const k = `${phase}/${backend}`;
      this.ok.set(k, (this.ok.get(k) ?? 0) + 1);
      good = true;
    }
    this.notify();
    return good;
  }

  hang(phase: Phase, backend: number, e: Error): void {
    this.hangs.push(`${phase} backend ${backend}: ${e.message}`);
    this.notify();
  }

  until(what: string, ms: number, pred: () => boolean): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${what}: not within ${ms} ms; ${this.summary()}`)),
        ms,
      );
      this.waiters.push({ pred, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  summary(): string {
    return JSON.stringify({ ok: Object.fromEntries(this.ok), errors: this.errors.length, hangs: this.hangs });
  }

  private notify(): void {
    const ready = this.waiters.filter((w) => w.pred());
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }
}

const servers: RedisServer[] = [];
const proxies: ProxyProcess[] = [];

async function redis(password?: string): Promise<RedisServer> {
  const r = await startRedis(password === undefined ? {} : { password });
  servers.push(r);
  return r;
}

async function proxyOver(backends: string[], config: Record<string, string> = {}): Promise<ProxyProcess> {
  const p = await startProxy({ backends, config });
  proxies.push(p);
  return p;
}

after(async () => {
  await Promise.all(proxies.map((p) => p.stop()));
  await Promise.all(servers.map((s) => s.stop()));
});

test('a killed backend fails its slots fast, the other keeps serving, and a restart brings it back', async (t) => {
  const [r1, r2] = await Promise.all([redis(), redis()]);
  const proxy = await proxyOver([r1!.addr, r2!.addr]);
  const tally = new Tally();
  let stopping = false;

  async function worker(id: number): Promise<void> {
    const keys = [keyWhere(`w${id}-a-`, (s) => s < 512), keyWhere(`w${id}-b-`, (s) => s >= 512)];
    let c: RespClient = await proxy.connect({ timeoutMs: CALL_TIMEOUT_MS });
    for (let i = 0; !stopping; i++) {
      const b = i % 2;
      const key = keys[b]!;
      const value = `v${id}-${i}`;
      let phase = tally.phase;
      try {
        if (!tally.check(phase, b + 1, await c.call('SET', key, value), 'OK')) continue;
        phase = tally.phase;
        tally.check(phase, b + 1, await c.call('GET', key), value);
      } catch (e) {
        tally.hang(phase, b + 1, e as Error);
        c.destroy();
        c = await proxy.connect({ timeoutMs: CALL_TIMEOUT_MS });
      }
    }
    c.destroy();
  }

  const workers = Array.from({ length: 20 }, (_, id) => worker(id));
  try {
    await tally.until(
      'steady traffic',
      10_000,
      () => tally.okCount('steady', 1) + tally.okCount('steady', 2) >= 400,
    );

    tally.phase = 'down';
    await r1!.kill();
    await tally.until('failures seen while down', 10_000, () => tally.errorsOf('down', 1).length >= 20);
    const okBefore = tally.okCount('down', 2);
    await tally.until(
      'backend 2 served while 1 is down',
      10_000,
      () => tally.okCount('down', 2) >= okBefore + 200,
    );
    await sleep(1500); // a realistic outage: long enough for the proxy's reconnection to back off

    tally.phase = 'recovering';
    await r1!.restart();
    const probeKey = keyWhere('probe-', (s) => s < 512);
    const probe = await proxy.connect({ timeoutMs: CALL_TIMEOUT_MS });
    const took = await pollUntil('backend 1 slots served again after restart', 10_000, async () => {
      return (await probe.call('SET', probeKey, 'back')) === 'OK';
    });
    probe.destroy();
    tally.phase = 'recovered';
    await tally.until('traffic after recovery', 10_000, () => {
      return tally.okCount('recovered', 1) >= 100 && tally.okCount('recovered', 2) >= 100;
    });
    t.diagnostic(`served again ${took} ms after the restart; ${tally.summary()}`);
  } finally {
    stopping = true;
    await Promise.all(workers);
  }

  assert.deepEqual(tally.hangs, [], 'no call went unanswered');
  assert.deepEqual(tally.mismatches, [], 'every successful GET returned its own value');
  assert.deepEqual(tally.errorsOf('steady', 1).concat(tally.errorsOf('steady', 2)), []);
  for (const phase of ['down', 'recovering', 'recovered'] as const) {
    assert.deepEqual(tally.errorsOf(phase, 2), [], `backend 2 never failed (${phase})`);
  }
  const downErrors = [...tally.errorsOf('down', 1), ...tally.errorsOf('recovering', 1)];
  assert.deepEqual(
    downErrors.filter((m) => !BACKEND_ERROR.test(m)),
    [],
    'killed backend: only proxy backend-failure errors',
  );
  assert.deepEqual(tally.errorsOf('recovered', 1), [], 'no failures once recovered');

  assert.equal(proxy.child.exitCode, null, 'the proxy is still running');
  assert.equal(proxy.child.signalCode, null);
  const c = await proxy.connect({ timeoutMs: CALL_TIMEOUT_MS });
  assert.equal(await c.call('PING'), 'PONG');
  c.destroy();
  const stats = (await (await fetch(`http://${proxy.admin}/proxy/stats`)).json()) as {
    ops: { fails: number };
  };
  assert.ok(stats.ops.fails > 0, 'failures are counted in stats');
});

test('a paused backend: in-flight requests fail after ~backend_recv_timeout, then traffic recovers', async () => {
  const r = await redis();
  const proxy = await proxyOver([r.addr], { backend_recv_timeout: '1s' });
  const clients = await Promise.all(Array.from({ length: 5 }, () => proxy.connect({ timeoutMs: 10_000 })));
  await Promise.all(clients.map((c, i) => c.call('SET', `paused-${i}`, `v${i}`)));

  r.pause();
  let replies: { reply: Reply; ms: number }[];
  try {
    const start = Date.now();
    replies = await Promise.all(
      clients.map(async (c, i) => ({ reply: await c.call('GET', `paused-${i}`), ms: Date.now() - start })),
    );
  } finally {
    r.resume();
  }
  for (const { reply, ms } of replies) {
    assert.ok(reply instanceof RedisError, `expected an error while paused, got ${String(reply)}`);
    assert.match(reply.message, BACKEND_ERROR);
    assert.ok(ms >= 900 && ms <= 3000, `failed after ${ms} ms, expected ~1000`);
  }

  await pollUntil('traffic after resume', 10_000, async () => {
    return String(await clients[0]!.call('GET', 'paused-0')) === 'v0';
  });
  for (const [i, c] of clients.entries()) assert.equal(String(await c.call('GET', `paused-${i}`)), `v${i}`);
  for (const c of clients) c.destroy();
});

test('a backend connection idle past backend_recv_timeout still times out a request it never answers', async () => {
  const r = await redis();
  const proxy = await proxyOver([r.addr], { backend_recv_timeout: '1s', backend_ping_period: '0s' });
  const c = await proxy.connect({ timeoutMs: 10_000 });
  assert.equal(await c.call('SET', 'idle-then-hung', 'v'), 'OK');
  // The idleness is what is tested: the timeout must count from the next request, not from
  // the last reply (a timer that already fired while nothing was awaited).
  await sleep(1500);
  r.pause();
  let reply: Reply;
  const start = Date.now();
  try {
    reply = await c.call('GET', 'idle-then-hung');
  } finally {
    r.resume();
  }
  const ms = Date.now() - start;
  assert.ok(reply instanceof RedisError, `expected an error while paused, got ${String(reply)}`);
  assert.match(reply.message, BACKEND_ERROR);
  assert.ok(ms >= 900 && ms <= 3000, `failed after ${ms} ms, expected ~1000`);
  c.destroy();
});

test('product_auth: the right one reaches password-protected backends, a wrong one fails fast', async () => {
  const r = await redis('pw');
  const [good, bad] = await Promise.all([
    proxyOver([r.addr], { product_auth: 'pw' }),
    proxyOver([r.addr], { product_auth: 'not-pw' }),
  ]);

  const c = await good.connect({ timeoutMs: CALL_TIMEOUT_MS });
  for (let i = 0; i < 10; i++) assert.equal(await c.call('SET', `auth-${i}`, i), 'OK');
  for (let i = 0; i < 10; i++) assert.equal(String(await c.call('GET', `auth-${i}`)), String(i));
  c.destroy();
  assert.equal(String(await r.call('GET', 'auth-3')), '3');

  const b = await bad.connect({ timeoutMs: CALL_TIMEOUT_MS });
  for (let i = 0; i < 10; i++) {
    const reply = await b.call('GET', `auth-${i}`);
    assert.ok(reply instanceof RedisError, `expected an error, got ${String(reply)}`);
    assert.match(reply.message, /auth|backend/i);
  }
  const w = await b.call('SET', 'auth-0', 'overwritten');
  assert.ok(w instanceof RedisError);
  b.destroy();
  assert.equal(String(await r.call('GET', 'auth-0')), '0', 'nothing was written without the password');
});

test("a subscription the backend refused (a wrong password) is made once the proxy's password fits", async () => {
  const r = await redis('old-pw');
  const proxy = await proxyOver([r.addr], { product_auth: 'new-pw' });
  const sub = await proxy.connect({ timeoutMs: CALL_TIMEOUT_MS });
  try {
    // The proxy confirms the subscription itself; the server refused it, so nothing reaches it yet.
    assert.deepEqual(await sub.call('SUBSCRIBE', 'auth-ch'), [
      Buffer.from('subscribe'),
      Buffer.from('auth-ch'),
      1,
    ]);
    const numsub = async () => ((await r.call('PUBSUB', 'NUMSUB', 'auth-ch')) as Reply[])[1];
    assert.equal(await numsub(), 0);
    await r.call('CONFIG', 'SET', 'requirepass', 'new-pw');
    await until('the subscription to reach the server', async () => (await numsub()) === 1);
    assert.equal(await r.call('PUBLISH', 'auth-ch', 'at last'), 1);
    assert.deepEqual(await sub.readReply(), [
      Buffer.from('message'),
      Buffer.from('auth-ch'),
      Buffer.from('at last'),
    ]);
  } finally {
    sub.destroy();
  }
});

test('a split MGET, MSET or DEL with a key on a killed backend answers the backend error; the live backend does its part', async () => {
  const [r1, r2] = await Promise.all([redis(), redis()]);
  const proxy = await proxyOver([r1!.addr, r2!.addr]);
  const c = await proxy.connect({ timeoutMs: CALL_TIMEOUT_MS });
  const values = async (...keys: string[]): Promise<(string | null)[]> =>
    ((await c.call('MGET', ...keys)) as (Buffer | null)[]).map((v) => (v === null ? null : String(v)));
  try {
    const down = keyWhere('split-down-', (s) => s < 512);
    const live1 = keyWhere('split-live-a', (s) => s >= 512);
    const live2 = keyWhere('split-live-b', (s) => s >= 512);
    assert.equal(await c.call('MSET', down, 'd', live1, 'a', live2, 'b'), 'OK');
    await r1!.kill();

    for (const args of [
      ['MGET', live1, down, live2],
      ['MSET', down, 'x', live1, 'y'],
      ['DEL', live2, down],
    ]) {
      const reply = await c.call(...args).catch((e: unknown) => e);
      assert.ok(reply instanceof RedisError, `${args[0]} answered ${String(reply)}`);
      assert.match(reply.message, BACKEND_ERROR, args[0]);
    }
    // A split command is not atomic across backends (as in Codis): the live one did its part.
    assert.deepEqual(await values(live2, live1), [null, 'y']);

    await r1!.restart();
    await pollUntil('the restarted backend serves a split MGET again', 10_000, async () => {
      try {
        const got = await values(live1, down, live2);
        return got[0] === 'y' && got[2] === null;
      } catch {
        return false;
      }
    });
  } finally {
    c.destroy();
  }
});
