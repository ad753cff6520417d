/**
 * Malformed input: classic broken frames get `-ERR Protocol error: …` and only that connection closes;
 * then 300 connections of seeded random bytes must leave the proxy up, serving, and without leaked sessions.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startProxy, type ProxyProcess } from '../helpers/proxy.js';
import { RedisError, startRedis, type RedisServer, type Reply, type RespClient } from '../helpers/redis.js';

let backends: RedisServer[] = [];
let proxy: ProxyProcess;

before(async () => {
  backends = await Promise.all([startRedis(), startRedis()]);
  proxy = await startProxy({ backends: backends.map((b) => b.addr) });
});

after(async () => {
  await proxy?.stop();
  await Promise.all(backends.map((b) => b.stop()));
});

const errorOf = (r: Reply) => (r instanceof RedisError ? r.message : `not an error: ${JSON.stringify(r)}`);

/** mulberry32: a small seeded PRNG, so that a failing run can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Outcome {
  /** Everything the proxy sent before closing. */
  received: Buffer;
  /** The proxy closed the connection while we were still willing to talk. */
  closedByProxy: boolean;
}

/** Writes `bytes` on a raw connection, half-closes after `endAfterMs` unless the proxy closes first. */
function exchange(bytes: Buffer, endAfterMs: number, timeoutMs = 10_000): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let ended = false;
    const s = net.connect(proxy.port, '127.0.0.1');
    const endTimer = setTimeout(() => ((ended = true), s.end()), endAfterMs);
    const deadline = setTimeout(() => {
      s.destroy();
      reject(new Error(`connection not closed within ${timeoutMs} ms`));
    }, timeoutMs);
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', () => {}); // a reset by the proxy is fine: it shows as 'close'
    s.on('end', () => {
      if (!ended) clearTimeout(endTimer);
    });
    s.on('close', () => {
      clearTimeout(endTimer);
      clearTimeout(deadline);
      resolve({ received: Buffer.concat(chunks), closedByProxy: !ended });
    });
    s.write(bytes);
  });
}

describe('classic malformed frames', () => {
  const CASES: [string, Buffer | string, RegExp][] = [
    ['multibulk length not a number', '*abc\r\n', /invalid multibulk length/],
    ['multibulk length over 1M', '*2000000\r\n', /invalid multibulk length/],
    ['a simple string instead of a bulk', '*1\r\n+GET\r\n', /expected '\$', got '\+'/],
    ['an integer instead of a bulk', '*2\r\n$3\r\nGET\r\n:1\r\n', /expected '\$', got ':'/],
    ['bulk length not a number', '*1\r\n$abc\r\n', /invalid bulk length/],
    ['negative bulk length', '*1\r\n$-5\r\n', /invalid bulk length/],
    ['bulk length over 512 MB', '*1\r\n$600000000\r\n', /invalid bulk length/],
    ['bulk longer than announced', '*1\r\n$3\r\nGETX\r\n', /^ERR Protocol error: /],
    ['bulk length with a leading zero', '*2\r\n$3\r\nGET\r\n$03\r\nfoo\r\n', /invalid bulk length/],
    ['multibulk length with a leading zero', '*02\r\n$3\r\nGET\r\n$3\r\nfoo\r\n', /invalid multibulk length/],
    ['unbalanced quotes inline', 'SET "k v\r\n', /unbalanced quotes/],
    ['inline line over 64 KB', Buffer.alloc(70 * 1024, 'a'), /too big inline request/],
    [
      'multibulk header over 64 KB',
      Buffer.concat([Buffer.from('*'), Buffer.alloc(70 * 1024, '1')]),
      /too big/,
    ],
  ];

  for (const [name, bytes, gist] of CASES) {
    test(`${name} → -ERR Protocol error, then the proxy closes`, async () => {
      const c = await proxy.connect();
      const reply = c.readReply();
      c.writeRaw(bytes);
      const msg = errorOf(await reply);
      assert.match(msg, /^ERR Protocol error: /);
      assert.match(msg, gist);
      await c.waitClosed(5000);
    });
  }

  test('lengths Redis would refuse never reach the shared backend connections', async () => {
    const accepted = async () => {
      let n = 0;
      for (const b of backends) {
        const info = String(await b.call('INFO', 'stats'));
        n += Number(/total_connections_received:(\d+)/.exec(info)![1]);
      }
      return n;
    };
    const before = await accepted();
    for (const frame of [
      '*2\r\n$3\r\nGET\r\n$03\r\nk\r\n',
      '*2\r\n$3\r\nGET\r\n$-0\r\n\r\n',
      '*02\r\n$4\r\nPING\r\n',
    ]) {
      const c = await proxy.connect();
      const reply = c.readReply();
      c.writeRaw(frame);
      assert.match(errorOf(await reply), /^ERR Protocol error: /);
      await c.waitClosed(5000);
    }
    // Each INFO above came on the helper's own connection; a dropped backend connection
    // would have been made anew by the proxy.
    assert.equal(await accepted(), before);
  });

  test('inline commands split exactly as Redis splits them', async () => {
    const LINES = [
      'plain words',
      'a"b c"',
      '"a\\"b" \'x\\\'y\'',
      '"\\x41\\x4g\\t\\n\\q" end',
      '""  \'\'',
      'x\ry\tz',
      'a\vb \v c',
      '"a"b',
      "'a'b",
      '"unterminated',
      "it's",
    ];
    const pushed = async (server: { connect(): Promise<RespClient> }, key: string, line: string) => {
      const c = await server.connect();
      const reply = c.readReply();
      c.writeRaw(
        Buffer.concat([Buffer.from(`RPUSH ${key} `), Buffer.from(line, 'latin1'), Buffer.from('\r\n')]),
      );
      const r = await reply;
      c.destroy();
      return r;
    };
    for (const [i, line] of LINES.entries()) {
      const key = `inline:${i}`;
      const direct = await pushed(backends[0]!, key, line);
      const proxied = await pushed(proxy, `${key}:p`, line);
      if (direct instanceof RedisError) {
        assert.equal(errorOf(proxied), direct.message, JSON.stringify(line));
        continue;
      }
      assert.equal(proxied, direct, JSON.stringify(line));
      const want = await backends[0]!.call('LRANGE', key, 0, -1);
      const c = await proxy.connect();
      assert.deepEqual(await c.call('LRANGE', `${key}:p`, 0, -1), want, JSON.stringify(line));
      c.destroy();
    }
  });

  test('commands before the bad frame are answered, nothing after it runs', async () => {
    const c = await proxy.connect();
    const replies = [c.readReply(), c.readReply(), c.readReply()];
    c.writeRaw('PING\r\n*1\r\n$4\r\nPING\r\n*x\r\nSET fuzz:after x\r\n');
    const [a, b, e] = await Promise.all(replies);
    assert.deepEqual([a, b], ['PONG', 'PONG']);
    assert.match(errorOf(e!), /^ERR Protocol error: invalid multibulk length/);
    await c.waitClosed(5000);
    const d = await proxy.connect();
    assert.equal(await d.call('GET', 'fuzz:after'), null);
    d.destroy();
  });

  test('a request dripped one byte per write, and empty/null multibulks, parse as Redis does', async () => {
    const c = await proxy.connect();
    const reply = c.readReply();
    for (const byte of Buffer.from('*-1\r\n*0\r\n*3\r\n$3\r\nSET\r\n$9\r\nfuzz:drip\r\n$2\r\nok\r\n')) {
      c.writeRaw(Buffer.from([byte]));
      await new Promise<void>((r) => setImmediate(r));
    }
    assert.equal(await reply, 'OK');
    assert.equal(String(await c.call('GET', 'fuzz:drip')), 'ok');
    c.destroy();
  });
});

describe('random bytes on 300 connections', () => {
  const SEED = 0xc0d15;
  const rand = prng(SEED);
  const int = (n: number) => Math.floor(rand() * n);
  const randomBytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));

  /** A frame that looks like RESP, then gets some bytes flipped or is cut short. */
  function mutatedMultibulk(): Buffer {
    const n = int(6) + 1;
    const parts = [`*${rand() < 0.1 ? -int(3) : n}\r\n`];
    for (let i = 0; i < n; i++) {
      const len = int(40);
      const declared = rand() < 0.15 ? len + int(5) - 2 : len;
      parts.push(`$${declared}\r\n${'x'.repeat(len)}\r\n`);
    }
    const b = Buffer.from(parts.join(''));
    for (let i = int(4); i > 0; i--) b[int(b.length)] = int(256);
    return rand() < 0.3 ? b.subarray(0, int(b.length) + 1) : b;
  }

  function payload(): Buffer {
    const len = 1 + (rand() < 0.5 ? int(512) : int(64 * 1024));
    switch (int(5)) {
      case 0:
        return Buffer.concat([Buffer.from('*'), randomBytes(len)]);
      case 1:
        return Buffer.concat([Buffer.from('$'), randomBytes(len)]);
      case 2:
        return Buffer.concat(Array.from({ length: int(20) + 1 }, mutatedMultibulk));
      case 3: {
        const inline = Array.from({ length: len }, () => ' "\'\\\r\nGETSETx{}*$'[int(19)]).join('');
        return Buffer.from(inline);
      }
      default:
        return randomBytes(len);
    }
  }

  test(`300 connections of seeded random bytes (seed ${SEED}) all end, and the proxy stays up`, async () => {
    const payloads = Array.from({ length: 300 }, payload);
    assert.ok(
      payloads.some((p) => p.length > 32 * 1024),
      'some payloads are large',
    );
    const outcomes: Outcome[] = [];
    // A third half-close at once; the others wait a little, so that the proxy's own close is seen.
    const patient = (i: number) => i % 3 !== 0;
    for (let i = 0; i < payloads.length; i += 30) {
      const batch = payloads.slice(i, i + 30).map((p, j) => exchange(p, patient(i + j) ? 500 : 0));
      outcomes.push(...(await Promise.all(batch)));
    }
    assert.equal(outcomes.length, 300);
    const hit = outcomes.map((o) => o.received.includes('-ERR Protocol error: '));
    assert.ok(
      hit.filter(Boolean).length > 50,
      `only ${hit.filter(Boolean).length} connections got a protocol error`,
    );
    outcomes.forEach((o, i) => {
      if (hit[i] && patient(i)) assert.ok(o.closedByProxy, `connection ${i}: protocol error but left open`);
    });
    assert.equal(proxy.child.exitCode, null, `proxy exited: ${proxy.logs()}`);
    assert.equal(proxy.child.signalCode, null);
  });

  test('after the fuzz: a fresh client works, the admin API answers, no session is left behind', async () => {
    const c = await proxy.connect();
    assert.equal(await c.call('SET', 'fuzz:alive', 'yes'), 'OK');
    assert.equal(String(await c.call('GET', 'fuzz:alive')), 'yes');
    assert.deepEqual((await c.call('MGET', 'fuzz:alive', 'fuzz:none')) as unknown, [
      Buffer.from('yes'),
      null,
    ]);
    c.destroy();
    const res = await fetch(`http://${proxy.admin}/proxy/stats`);
    assert.equal(res.status, 200);
    const stats = (await res.json()) as { online: boolean; sessions: { alive: number; total: number } };
    assert.equal(stats.online, true);
    assert.ok(stats.sessions.total >= 300);
    for (let alive = stats.sessions.alive, until = Date.now() + 5000; alive !== 0;) {
      assert.ok(Date.now() < until, `${alive} sessions still alive after every client closed`);
      await new Promise((r) => setTimeout(r, 20));
      alive = ((await (await fetch(`http://${proxy.admin}/proxy/stats`)).json()) as typeof stats).sessions
        .alive;
    }
    assert.equal(proxy.child.exitCode, null);
  });
});
