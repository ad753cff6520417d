/**
 * Client sessions through the proxy: the AUTH gate, commands answered by the proxy itself, refused and
 * unknown commands, pipelines, many clients, admission limits, large and empty values, and the
 * per-session limits (pipeline depth, request size).
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { keyOn, startProxy, type ProxyOptions, type ProxyProcess } from '../helpers/proxy.js';
import {
  RedisError,
  startRedis,
  type Arg,
  type RedisServer,
  type Reply,
  type RespClient,
} from '../helpers/redis.js';
import { encodeCommand } from '../helpers/resp-client.js';

let backends: RedisServer[] = [];
/** The proxies of this file, stopped in `after`. */
const proxies: ProxyProcess[] = [];
let main: ProxyProcess;

const errorOf = (r: Reply) => (r instanceof RedisError ? r.message : `not an error: ${JSON.stringify(r)}`);
const str = (r: Reply) => (Buffer.isBuffer(r) ? r.toString() : r);

async function proxyWith(opts: Omit<ProxyOptions, 'backends'>): Promise<ProxyProcess> {
  const p = await startProxy({ backends: backends.map((b) => b.addr), ...opts });
  proxies.push(p);
  return p;
}

/** The proxy's own count of live sessions, from its admin API. */
async function sessionsAlive(p: ProxyProcess): Promise<number> {
  const res = await fetch(`http://${p.admin}/proxy/stats`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { sessions: { alive: number } }).sessions.alive;
}
/** Waits until the proxy's CLIENT LIST no longer shows session `id` (no client-side event tells that). */
async function untilGone(p: ProxyProcess, id: number): Promise<void> {
  const c = await p.connect();
  try {
    for (const deadline = Date.now() + 5000; String(await c.call('CLIENT', 'LIST', 'ID', id)) !== '';) {
      if (Date.now() > deadline) assert.fail(`session ${id} is still in CLIENT LIST`);
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    c.destroy();
  }
}
/** A raw half-open-capable socket to the proxy, with its session's CLIENT ID and everything it receives. */
async function rawSession(
  p: ProxyProcess,
): Promise<{ socket: net.Socket; id: number; received: () => string; ended: Promise<unknown> }> {
  const socket = net.connect({ port: p.port, host: '127.0.0.1', allowHalfOpen: true });
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString()));
  const ended = once(socket, 'end');
  await once(socket, 'connect');
  socket.write(encodeCommand(['CLIENT', 'ID']));
  while (!received.endsWith('\r\n')) await once(socket, 'data');
  const id = Number(/^:(\d+)\r\n$/.exec(received)![1]);
  received = '';
  return { socket, id, received: () => received, ended };
}
/** Waits until the proxy has seen every close (there is no client-side event for that). */
async function untilAlive(p: ProxyProcess, n: number): Promise<void> {
  for (const deadline = Date.now() + 5000; (await sessionsAlive(p)) !== n;) {
    if (Date.now() > deadline) assert.fail(`sessions.alive stayed ${await sessionsAlive(p)}, expected ${n}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
/** A backend's count of error replies it sent (INFO stats total_error_replies). */
async function errorReplies(b: RedisServer): Promise<number> {
  const info = String(await b.call('INFO', 'stats'));
  return Number(/total_error_replies:(\d+)/.exec(info)![1]);
}

before(async () => {
  backends = await Promise.all([startRedis(), startRedis()]);
  main = await proxyWith({ config: { proxy_max_clients: 2000 } });
});

after(async () => {
  await Promise.all(proxies.map((p) => p.stop()));
  await Promise.all(backends.map((b) => b.stop()));
});

describe('AUTH gate (session_auth)', () => {
  let p: ProxyProcess;
  before(async () => (p = await proxyWith({ config: { session_auth: 'secret' } })));

  test('commands before AUTH get NOAUTH and the connection stays open; a wrong password is refused', async () => {
    const c = await p.connect();
    assert.equal(errorOf(await c.call('GET', 'k')), 'NOAUTH Authentication required.');
    assert.equal(errorOf(await c.call('PING')), 'NOAUTH Authentication required.');
    assert.equal(errorOf(await c.call('MGET', 'a', 'b')), 'NOAUTH Authentication required.');
    assert.ok(!c.closed);
    assert.match(errorOf(await c.call('AUTH', 'wrong')), /^WRONGPASS /);
    assert.match(errorOf(await c.call('AUTH', 'someone', 'secret')), /^WRONGPASS /);
    assert.equal(errorOf(await c.call('GET', 'k')), 'NOAUTH Authentication required.');
    assert.equal(await c.call('AUTH', 'secret'), 'OK');
    assert.equal(await c.call('SET', 'auth-k', 'v'), 'OK');
    assert.equal(str(await c.call('GET', 'auth-k')), 'v');
    c.destroy();
  });

  test('NOAUTH also stops unknown commands forwarded with proxy_forward_unknown_commands, and MULTI', async () => {
    const q = await proxyWith({ config: { session_auth: 'secret', proxy_forward_unknown_commands: true } });
    const c = await q.connect();
    try {
      assert.equal(errorOf(await c.call('NOSUCHCMD', 'k')), 'NOAUTH Authentication required.');
      assert.equal(errorOf(await c.call('MULTI')), 'NOAUTH Authentication required.');
      assert.equal(await c.call('AUTH', 'secret'), 'OK');
      assert.match(errorOf(await c.call('NOSUCHCMD', 'k')), /^ERR unknown command 'NOSUCHCMD'/);
    } finally {
      c.destroy();
      await q.stop();
    }
  });

  test('AUTH default secret and HELLO 2 AUTH default secret authorize; HELLO 4 → NOPROTO', async () => {
    const c = await p.connect();
    assert.equal(await c.call('AUTH', 'default', 'secret'), 'OK');
    assert.equal(str(await c.call('GET', 'auth-k')), 'v');
    assert.match(errorOf(await c.call('HELLO', 4)), /^NOPROTO /);
    c.destroy();
    const h = await p.connect();
    assert.match(errorOf(await h.call('HELLO', 2, 'AUTH', 'default', 'wrong')), /^WRONGPASS /);
    assert.equal(errorOf(await h.call('GET', 'auth-k')), 'NOAUTH Authentication required.');
    const hello = (await h.call('HELLO', 2, 'AUTH', 'default', 'secret')) as Reply[];
    assert.ok(Array.isArray(hello), `HELLO replied ${String(hello)}`);
    const fields = new Map<unknown, Reply>();
    for (let i = 0; i < hello.length; i += 2) fields.set(str(hello[i]!), hello[i + 1]!);
    assert.equal(fields.get('proto'), 2);
    assert.equal(str(await h.call('GET', 'auth-k')), 'v');
    h.destroy();
  });

  test('without session_auth, AUTH answers as a Redis with no password', async () => {
    const c = await main.connect();
    assert.match(errorOf(await c.call('AUTH', 'x')), /^ERR .*without any password configured/);
    assert.equal(await c.call('AUTH', 'default', 'anything'), 'OK');
    assert.equal(
      errorOf(await c.call('AUTH', 'someone', 'x')),
      'WRONGPASS invalid username-password pair or user is disabled.',
    );
    assert.equal(await c.call('PING'), 'PONG');
    c.destroy();
  });
});

describe('commands answered by the proxy', () => {
  test('PING, PING msg, ECHO, CLIENT SETNAME/GETNAME/ID', async () => {
    const [c, d] = await Promise.all([main.connect(), main.connect()]);
    assert.equal(await c.call('PING'), 'PONG');
    assert.equal(str(await c.call('PING', 'hello there')), 'hello there');
    assert.equal(str(await c.call('ECHO', 'echo\r\nme')), 'echo\r\nme');
    assert.equal(await c.call('CLIENT', 'GETNAME'), null);
    assert.equal(await c.call('CLIENT', 'SETNAME', 'conn-a'), 'OK');
    assert.equal(str(await c.call('CLIENT', 'GETNAME')), 'conn-a');
    assert.match(errorOf(await c.call('CLIENT', 'SETNAME', 'has space')), /^ERR /);
    assert.equal(str(await c.call('CLIENT', 'GETNAME')), 'conn-a');
    assert.equal(await d.call('CLIENT', 'GETNAME'), null);
    const [idC, idD] = [await c.call('CLIENT', 'ID'), await d.call('CLIENT', 'ID')];
    assert.ok(typeof idC === 'number' && typeof idD === 'number' && idC !== idD, `${idC} ${idD}`);
    assert.equal(await c.call('CLIENT', 'ID'), idC);
    c.destroy();
    d.destroy();
  });

  test("TIME answers a backend's clock as Redis's two-element array", async () => {
    const c = await main.connect();
    const before = Date.now();
    const [sec, usec] = ((await c.call('TIME')) as Buffer[]).map(Number);
    const ms = sec! * 1000 + usec! / 1000;
    assert.ok(usec! >= 0 && usec! < 1e6, String(usec));
    assert.ok(Math.abs(ms - before) < 5000, `TIME ${ms} vs local ${before}`);
    assert.match(errorOf(await c.call('TIME', 'extra')), /^ERR wrong number of arguments/);
    c.destroy();
  });

  test('QUIT answers +OK, then the proxy closes the connection and ignores what follows', async () => {
    const c = await main.connect();
    const replies = [c.readReply(), c.readReply()];
    const lost = c.readReply().then(
      () => 'answered',
      () => 'closed',
    );
    c.writeRaw(Buffer.concat([encodeCommand(['PING']), encodeCommand(['QUIT']), encodeCommand(['PING'])]));
    assert.deepEqual(await Promise.all(replies), ['PONG', 'OK']);
    await c.waitClosed(5000);
    assert.equal(await lost, 'closed');
  });

  test('after QUIT, a client that keeps its side of the connection open is closed all the same', async () => {
    const { socket, id, received, ended } = await rawSession(main);
    socket.write(encodeCommand(['QUIT']));
    await ended; // the proxy's FIN; this client never sends its own
    assert.equal(received(), '+OK\r\n');
    await untilGone(main, id);
    socket.destroy();
  });

  test('a client that sends its FIN after its commands (printf | nc -N) gets every reply, then is closed', async () => {
    const [k0, k1] = [keyOn('fin', 0), keyOn('fin', 1)];
    const { socket, id, received, ended } = await rawSession(main);
    socket.end(
      Buffer.concat([
        encodeCommand(['PING']),
        encodeCommand(['SET', k0, 'v0']),
        encodeCommand(['SET', k1, 'v1']),
        encodeCommand(['MGET', k0, k1]),
        encodeCommand(['DEL', k0, k1]),
      ]),
    );
    await ended; // the proxy's FIN, after the replies
    assert.equal(received(), '+PONG\r\n+OK\r\n+OK\r\n*2\r\n$2\r\nv0\r\n$2\r\nv1\r\n:2\r\n');
    await untilGone(main, id);
    socket.destroy();
  });

  test('unknown commands → ERR unknown command, and they never reach a backend', async () => {
    const c = await main.connect();
    const before = (await Promise.all(backends.map(errorReplies))).reduce((a, b) => a + b);
    assert.match(errorOf(await c.call('NOSUCHCMD', 'k', 'v')), /^ERR unknown command 'NOSUCHCMD'/);
    assert.match(errorOf(await c.call('nosuchcmd')), /^ERR unknown command 'nosuchcmd'/);
    assert.equal(await c.call('PING'), 'PONG');
    assert.equal(
      (await Promise.all(backends.map(errorReplies))).reduce((a, b) => a + b),
      before,
    );
    c.destroy();
  });

  test('refused commands name themselves as not allowed, do nothing, and the connection keeps working', async () => {
    const c = await main.connect();
    assert.equal(await c.call('SET', 'refusal-probe', 'still here'), 'OK');
    for (const cmd of [['SHUTDOWN'], ['BGSAVE'], ['BGREWRITEAOF'], ['DEBUG', 'FLUSHALL']]) {
      const r = await c.call(...cmd);
      assert.match(errorOf(r), new RegExp(`^ERR handle request, command '${cmd[0]}' is not allowed`));
      assert.equal(await c.call('PING'), 'PONG', `after ${cmd[0]}`);
    }
    assert.equal(str(await c.call('GET', 'refusal-probe')), 'still here');
    c.destroy();
  });

  test('with proxy_forward_unknown_commands, an unknown command reaches the backend owning its first argument', async () => {
    const p = await proxyWith({ config: { proxy_forward_unknown_commands: true } });
    const c = await p.connect();
    const key = keyOn('unknown', 1);
    const before = await errorReplies(backends[1]!);
    const r = await c.call('NOSUCHCMD', key, 'x');
    assert.equal(await errorReplies(backends[1]!), before + 1, 'the owning backend answered it');
    assert.equal(errorOf(r), errorOf(await backends[1]!.call('NOSUCHCMD', key, 'x')));
    assert.equal(await c.call('SET', key, 'ok'), 'OK');
    c.destroy();
  });
});

describe('pipelines and many clients', () => {
  test('10,000 mixed commands in one write get 10,000 replies in order', async () => {
    const c = await main.connect({ timeoutMs: 30_000 });
    const cmds: Arg[][] = [];
    const expected: unknown[] = [];
    for (let i = 0; i < 10_000; i++) {
      const base = i - (i % 10);
      const k = `pipe:${base}`;
      const v = `v${base}`;
      const step: [Arg[], unknown][] = [
        [['SET', k, v], 'OK'],
        [['GET', k], v],
        [['INCR', 'pipe:count'], base / 10 + 1],
        [['PING'], 'PONG'],
        [
          ['MGET', k, 'pipe:missing', `pipe:${base - 10}`],
          [v, null, null],
        ],
        [['ECHO', `e${i}`], `e${i}`],
        [['EXISTS', k, k], 2],
        [['DEL', k], 1],
        [['NOSUCHCMD', k], /^ERR unknown command/],
        [['BGREWRITEAOF'], /^ERR handle request, command 'BGREWRITEAOF' is not allowed/],
      ];
      const [cmd, want] = step[i % 10]!;
      cmds.push(cmd);
      expected.push(want);
    }
    const replies = await c.pipeline(cmds);
    assert.equal(replies.length, 10_000);
    for (let i = 0; i < replies.length; i++) {
      const [got, want] = [replies[i]!, expected[i]];
      if (want instanceof RegExp) assert.match(errorOf(got), want, `reply ${i}`);
      else
        assert.deepEqual(
          Array.isArray(got) ? got.map(str) : str(got),
          want,
          `reply ${i} to ${cmds[i]!.join(' ')}`,
        );
    }
    c.destroy();
  });

  test('1,000 concurrent clients each SET and GET their own key', async () => {
    const clients: RespClient[] = [];
    try {
      for (let batch = 0; batch < 10; batch++) {
        clients.push(...(await Promise.all(Array.from({ length: 100 }, () => main.connect()))));
      }
      const got = await Promise.all(
        clients.map(async (c, i) => {
          const key = `client:${i}`;
          const set = await c.call('SET', key, `owned by ${i}`);
          return [set, str(await c.call('GET', key))];
        }),
      );
      got.forEach((r, i) => assert.deepEqual(r, ['OK', `owned by ${i}`], `client ${i}`));
    } finally {
      clients.forEach((c) => c.destroy());
    }
  });
});

describe('admission', () => {
  test('proxy_max_clients: 5 → the 6th connection is told and closed; after a close a new one is accepted', async () => {
    const p = await proxyWith({ config: { proxy_max_clients: 5 } });
    await untilAlive(p, 0);
    const five = await Promise.all(Array.from({ length: 5 }, () => p.connect()));
    for (const c of five) assert.equal(await c.call('PING'), 'PONG');
    const sixth = await p.connect();
    sixth.writeRaw(encodeCommand(['SET', 'refused', 'x'])); // read and dropped, never run
    assert.equal(errorOf(await sixth.readReply()), 'ERR max number of clients reached');
    await sixth.waitClosed(5000);
    assert.match(String(await five[1]!.call('INFO', 'stats')), /\r\nrejected_connections:1\r\n/);
    await five[0]!.close();
    await untilAlive(p, 4);
    const again = await p.connect();
    assert.equal(await again.call('PING'), 'PONG');
    assert.equal(await again.call('EXISTS', 'refused'), 0);
    for (const c of [...five, again]) c.destroy();
  });

  test('an offline proxy answers ERR router is not online and closes', async () => {
    const p = await startProxy({ offline: true });
    proxies.push(p);
    const c = await p.connect();
    assert.equal(errorOf(await c.readReply()), 'ERR router is not online');
    await c.waitClosed(5000);
  });
});

test('on a unix socket (proto_type "unix"), pipelines, split commands and 1 MB values work as on TCP', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'codis-unix-'));
  const p = await proxyWith({ unixPath: join(dir, 'proxy.sock') });
  const c = await p.connect();
  const keys = Array.from({ length: 200 }, (_, i) => keyOn(`unix:${i}`, i % 2));
  const replies = await Promise.all(keys.map((k, i) => c.call('SET', k, `v${i}`)));
  assert.ok(replies.every((r) => r === 'OK'));
  const got = (await c.call('MGET', ...keys)) as Buffer[];
  assert.deepEqual(
    got.map(String),
    keys.map((_, i) => `v${i}`),
  );
  const big = randomBytes(1024 * 1024);
  assert.equal(await c.call('SET', keys[0]!, big), 'OK');
  assert.ok(big.equals((await c.call('GET', keys[0]!)) as Buffer), '1 MB value differs');
  assert.equal(await c.call('DEL', ...keys), keys.length);
  c.destroy();
  await rm(dir, { recursive: true, force: true });
});

describe('values and limits', () => {
  test('empty and 64 MB values round-trip intact, also through an MSET split across backends', async () => {
    const c = await main.connect({ timeoutMs: 60_000 });
    const [a, b] = [keyOn('big', 0), keyOn('big', 1)];
    assert.equal(await c.call('SET', a, ''), 'OK');
    assert.deepEqual(await c.call('GET', a), Buffer.alloc(0));
    assert.equal(await c.call('STRLEN', a), 0);
    const big = randomBytes(64 * 1024 * 1024);
    assert.equal(await c.call('SET', b, big), 'OK');
    assert.ok(big.equals((await c.call('GET', b)) as Buffer), '64 MB GET differs from what was SET');
    big[0] ^= 0xff;
    assert.equal(await c.call('MSET', a, big, b, 'small'), 'OK');
    const [va, vb] = (await c.call('MGET', a, b)) as Buffer[];
    assert.ok(big.equals(va!), '64 MB MGET value differs');
    assert.equal(str(vb!), 'small');
    assert.ok(big.equals((await backends[0]!.call('GET', a)) as Buffer), 'backend 0 holds the 64 MB value');
    assert.equal(await c.call('DEL', a, b), 2);
    c.destroy();
  });

  test('session_max_pipeline: 100 → a 5,000-command pipeline still gets every reply, in order', async () => {
    const p = await proxyWith({ config: { session_max_pipeline: 100 } });
    const c = await p.connect({ timeoutMs: 30_000 });
    const cmds: Arg[][] = [];
    for (let i = 0; i < 2500; i++) cmds.push(['SET', `bp:${i}`, `v${i}`], ['GET', `bp:${i}`]);
    const replies = await c.pipeline(cmds);
    assert.equal(replies.length, 5000);
    replies.forEach((r, i) => assert.equal(str(r), i % 2 === 0 ? 'OK' : `v${(i - 1) / 2}`, `reply ${i}`));
    assert.equal(await c.call('PING'), 'PONG');
    c.destroy();
  });

  test("session_max_request_size: '1mb' → a 2 MB SET is a protocol error that closes only that connection", async () => {
    const p = await proxyWith({ config: { session_max_request_size: '1mb' } });
    const [bystander, c] = await Promise.all([p.connect(), p.connect()]);
    assert.equal(await c.call('SET', 'limit:ok', Buffer.alloc(512 * 1024, 'a')), 'OK');
    assert.equal(
      errorOf(await c.call('SET', 'limit:big', Buffer.alloc(2 * 1024 * 1024, 'b'))),
      'ERR Protocol error: request too large',
    );
    await c.waitClosed(5000);
    assert.equal(await bystander.call('SET', 'limit:other', 'fine'), 'OK');
    assert.equal(str(await bystander.call('GET', 'limit:other')), 'fine');
    assert.equal(await bystander.call('EXISTS', 'limit:big', 'limit:ok'), 1);
    bystander.destroy();
  });
});
