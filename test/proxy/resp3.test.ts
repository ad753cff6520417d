import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { evenSlots, keyOn, startProxy, type ProxyProcess } from '../helpers/proxy.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { RawConn } from '../helpers/raw-conn.js';
import { RedisError, type Arg, type Reply } from '../helpers/resp-client.js';

// The proxy over two groups against one plain Redis as the oracle: after HELLO 3, a client
// must get from the proxy exactly the bytes Redis itself would send it.
let servers: RedisServer[];
let oracle: RedisServer;
let proxy: ProxyProcess;
const opened: RawConn[] = [];

before(async () => {
  [oracle, ...servers] = await Promise.all([startRedis(), startRedis(), startRedis()]);
  proxy = await startProxy({ backends: servers.map((s) => s.addr) });
});
after(async () => {
  for (const c of opened) c.close();
  await proxy?.stop();
  await Promise.all([oracle, ...servers].map((s) => s?.stop()));
});

function errorOf(r: Reply): string {
  assert.ok(r instanceof RedisError, `expected an error, got ${String(r)}`);
  return r.message;
}

async function open(port: number): Promise<RawConn> {
  const c = await RawConn.open(port);
  opened.push(c);
  return c;
}

const k0 = keyOn('r3', 0);
const k1 = keyOn('r3', 1);
const h = keyOn('r3h', 1);
const s = keyOn('r3s', 0);
const z = keyOn('r3z', 1);

const SCRIPT: Arg[][] = [
  ['SET', k0, 'zero'],
  ['MSET', k1, 'one', keyOn('r3m', 0), 'm0', keyOn('r3m', 1), 'm1'],
  ['HSET', h, 'f', 'v', 'g', 'w'],
  ['HGETALL', h],
  ['SADD', s, 'only'],
  ['SMEMBERS', s],
  ['ZADD', z, '1.5', 'a', '2', 'b'],
  ['ZSCORE', z, 'a'],
  ['ZRANGE', z, '0', '-1', 'WITHSCORES'],
  ['GET', 'r3-missing'],
  ['HGET', h, 'nofield'],
  ['MGET', k0, 'r3-missing', k1],
  ['EXISTS', k0, k1, 'r3-missing'],
  ['EVAL', "return redis.call('HGET', KEYS[1], 'f')", '1', h],
  ['CLIENT', 'GETNAME'],
  ['HINCRBYFLOAT', h, 'n', '0.25'],
  ['DEL', k0, k1, h, s, z],
];

test('after HELLO 3 every reply is the bytes Redis itself sends a RESP3 client', async () => {
  const viaProxy = await open(proxy.port);
  const direct = await open(oracle.port);
  const hello = await viaProxy.send([['HELLO', '3']]);
  assert.match(hello, /^%7\r\n\$6\r\nserver\r\n\$5\r\nredis\r\n/);
  assert.match(hello, /\$5\r\nproto\r\n:3\r\n/);
  await direct.send([['HELLO', '3']]);
  const want = await direct.send(SCRIPT);
  assert.match(want, /%2\r\n/, 'the oracle spoke RESP3');
  assert.equal(await viaProxy.send(SCRIPT), want);
});

test('RESET and HELLO 2 take a client back to RESP2 replies', async () => {
  const c = await open(proxy.port);
  await c.send([
    ['HELLO', '3'],
    ['HSET', h, 'f', 'v'],
  ]);
  assert.equal(
    await c.send([
      ['GET', 'r3-missing'],
      ['HGETALL', h],
    ]),
    '_\r\n%1\r\n$1\r\nf\r\n$1\r\nv\r\n',
  );
  assert.equal(await c.send([['RESET']]), '+RESET\r\n');
  assert.equal(
    await c.send([
      ['GET', 'r3-missing'],
      ['HGETALL', h],
    ]),
    '$-1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n',
  );
  const hello2 = await c.send([
    ['HELLO', '3'],
    ['HELLO', '2'],
  ]);
  assert.match(hello2, /^%7\r\n[^]*\*14\r\n[^]*\$5\r\nproto\r\n:2\r\n/);
  assert.equal(await c.send([['HGETALL', h]]), '*2\r\n$1\r\nf\r\n$1\r\nv\r\n');
  // HELLO with no version reports, and keeps, the protocol in use.
  await c.send([['HELLO', '3']]);
  assert.match(await c.send([['HELLO']]), /^%7\r\n[^]*proto\r\n:3\r\n/);
  assert.equal(
    await c.send([
      ['HGET', h, 'nofield'],
      ['DEL', h],
    ]),
    '_\r\n:1\r\n',
  );
});

test('RESP2 and RESP3 clients pipelining over the same backends each get their own protocol', async () => {
  const v2 = await open(proxy.port);
  const v3 = await open(proxy.port);
  await v3.send([
    ['HELLO', '3'],
    ['HSET', h, 'f', 'v'],
  ]);
  const n = 300;
  const gets: Arg[][] = [];
  for (let i = 0; i < n; i++) gets.push(['HGETALL', h], ['GET', 'r3-missing']);
  const [r2, r3] = await Promise.all([v2.send(gets), v3.send(gets)]);
  assert.equal(r2, '*2\r\n$1\r\nf\r\n$1\r\nv\r\n$-1\r\n'.repeat(n));
  assert.equal(r3, '%1\r\n$1\r\nf\r\n$1\r\nv\r\n_\r\n'.repeat(n));
  // Another database in RESP3 has its own connections, and its own keys.
  assert.equal(
    await v3.send([
      ['SELECT', '3'],
      ['HGETALL', h],
      ['HSET', h, 'd', '3'],
    ]),
    '+OK\r\n%0\r\n:1\r\n',
  );
  assert.equal(await v2.send([['HGETALL', h]]), '*2\r\n$1\r\nf\r\n$1\r\nv\r\n');
  assert.equal(
    await v3.send([
      ['HGETALL', h],
      ['DEL', h],
    ]),
    '%1\r\n$1\r\nd\r\n$1\r\n3\r\n:1\r\n',
  );
  assert.equal(await v2.send([['DEL', h]]), ':1\r\n');
});

test("the proxy's own replies take RESP3's forms: null, verbatim INFO and CLIENT INFO", async () => {
  const c = await open(proxy.port);
  await c.send([['HELLO', '3']]);
  assert.equal(
    await c.send([
      ['CLIENT', 'GETNAME'],
      ['PING', 'x'],
      ['ECHO', 'e'],
    ]),
    '_\r\n$1\r\nx\r\n$1\r\ne\r\n',
  );
  const info = await c.send([['INFO', 'server']]);
  const m = /^=(\d+)\r\ntxt:([^]*)\r\n$/.exec(info);
  assert.ok(m, `INFO replied ${JSON.stringify(info.slice(0, 40))}`);
  assert.equal(Number(m[1]), Buffer.byteLength('txt:' + m[2]!, 'latin1'));
  assert.match(m[2]!, /^# Server\r\nredis_version:/);
  assert.match(await c.send([['CLIENT', 'INFO']]), /^=\d+\r\ntxt:id=\d+ .* resp=3\n\r\n$/);
  assert.equal(await c.send([['COMMAND', 'INFO', 'nosuchcommand']]), '*1\r\n_\r\n');
  assert.equal(
    await c.send([
      ['HELLO', '4'],
      ['HELLO', 'x'],
    ]),
    '-NOPROTO unsupported protocol version\r\n-ERR Protocol version is not an integer or out of range\r\n',
  );
});

test("SLOTSMAPPING of a slot with no backend is RESP3's null", async () => {
  // Slot 7 is left out of the table: the proxy serves the others.
  const slots = evenSlots(servers.map((x) => x.addr)).map((m) => (m.id === 7 ? { id: 7 } : m));
  const partial = await startProxy({ slots });
  try {
    const c = await open(partial.port);
    assert.equal(await c.send([['SLOTSMAPPING', '7']]), '*-1\r\n');
    await c.send([['HELLO', '3']]);
    assert.equal(await c.send([['SLOTSMAPPING', '7']]), '_\r\n');
  } finally {
    await partial.stop();
  }
});

test('HELLO 3 AUTH authenticates and switches in one step when session_auth is set', async () => {
  const secured = await startProxy({ backends: servers.map((x) => x.addr), config: { session_auth: 'pw' } });
  try {
    // Refusals are plain errors, read by the RESP2 client (the raw one's closing PING would be refused too).
    const plain = await secured.connect();
    assert.match(
      errorOf(await plain.call('HELLO', '3')),
      /^NOAUTH HELLO must be called with the client already authenticated/,
    );
    assert.match(errorOf(await plain.call('HELLO', '3', 'AUTH', 'default', 'bad')), /^WRONGPASS /);
    plain.destroy();
    const c = await open(secured.port);
    const hello = await c.send([['HELLO', '3', 'AUTH', 'default', 'pw', 'SETNAME', 'app']]);
    assert.match(hello, /^%7\r\n[^]*proto\r\n:3\r\n/);
    assert.equal(
      await c.send([
        ['CLIENT', 'GETNAME'],
        ['GET', 'r3-missing'],
      ]),
      '$3\r\napp\r\n_\r\n',
    );
  } finally {
    await secured.stop();
  }
});

test('a RESP3 client through a proxy whose backends are refused RESP3 gets an error naming the handshake', async () => {
  // A backend that cannot take HELLO 3 (here: HELLO renamed away) must not hang RESP3 clients.
  const old = await startRedis({ args: ['--rename-command', 'HELLO', ''] });
  const p = await startProxy({ backends: [old.addr] });
  try {
    const c = await open(p.port);
    assert.equal(await c.send([['SET', 'k', 'v']]), '+OK\r\n', 'RESP2 clients are served');
    await c.send([['HELLO', '3']]);
    const r = await c.send([['GET', 'k']]);
    assert.match(
      r,
      /^-ERR handle (request|response), backend conn (failure|reset), HELLO 3 failed: ERR unknown command/,
    );
    await c.send([['HELLO', '2']]);
    assert.equal(await c.send([['GET', 'k']]), '$1\r\nv\r\n');
  } finally {
    await p.stop();
    await old.stop();
  }
});
