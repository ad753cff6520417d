import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { keyOn, proxyOverTwoGroups, startProxy } from '../helpers/proxy.js';
import { startRedis } from '../helpers/redis.js';
import { RedisError, type Reply } from '../helpers/resp-client.js';
import { RawConn } from '../helpers/raw-conn.js';
import { until } from '../topom/flow.js';

// Two groups behind the proxy: SCRIPT and DBSIZE must reach both servers.
const two = proxyOverTwoGroups({ client: true });

const INCR = "return redis.call('INCRBY', KEYS[1], ARGV[1])";
const sha1 = (body: string) => createHash('sha1').update(body).digest('hex');

function errorOf(r: Reply): string {
  assert.ok(r instanceof RedisError, `expected an error, got ${String(r)}`);
  return r.message;
}

test("EVALSHA after NOSCRIPT and SCRIPT LOAD (redis-py's Script and Lock) works for keys on every group", async () => {
  const [k0, k1] = [keyOn('script', 0), keyOn('script', 1)];
  assert.match(errorOf(await two.client.call('EVALSHA', sha1(INCR), 1, k0, 1)), /^NOSCRIPT /);
  assert.equal(String(await two.client.call('SCRIPT', 'LOAD', INCR)), sha1(INCR));
  for (const s of two.servers) assert.deepEqual(await s.call('SCRIPT', 'EXISTS', sha1(INCR)), [1]);
  assert.equal(await two.client.call('EVALSHA', sha1(INCR), 1, k0, 5), 5);
  assert.equal(await two.client.call('EVALSHA', sha1(INCR), 1, k1, 7), 7);
  // Pipelined right behind the LOAD, an EVALSHA still finds the script on every server.
  const other = 'return 42';
  const replies = await two.client.pipeline([
    ['SCRIPT', 'LOAD', other],
    ['EVALSHA', sha1(other), 1, k0],
    ['EVALSHA', sha1(other), 1, k1],
  ]);
  assert.deepEqual(replies.map(String), [sha1(other), '42', '42']);
  assert.equal(await two.client.call('DEL', k0, k1), 2);
});

test('SCRIPT EXISTS says 1 only for scripts every server has; SCRIPT FLUSH empties them all', async () => {
  const only = 'return 1 + 1';
  assert.equal(String(await two.servers[1]!.call('SCRIPT', 'LOAD', only)), sha1(only));
  await two.client.call('SCRIPT', 'LOAD', INCR);
  assert.deepEqual(
    await two.client.call('SCRIPT', 'EXISTS', sha1(INCR), sha1(only), 'ab'.repeat(20)),
    [1, 0, 0],
  );
  assert.equal(await two.client.call('SCRIPT', 'FLUSH', 'SYNC'), 'OK');
  for (const s of two.servers)
    assert.deepEqual(await s.call('SCRIPT', 'EXISTS', sha1(INCR), sha1(only)), [0, 0]);
  assert.deepEqual(await two.client.call('SCRIPT', 'EXISTS', sha1(INCR)), [0]);
});

test("bad SCRIPT calls get Redis's own errors, and the rest of SCRIPT is refused by name", async () => {
  const direct = await two.servers[0]!.connect();
  try {
    for (const cmd of [
      ['SCRIPT', 'LOAD'],
      ['SCRIPT', 'EXISTS'],
      ['SCRIPT', 'FOO'],
      ['SCRIPT', 'FLUSH', 'BAD'],
      ['SCRIPT', 'LOAD', 'return +'],
    ]) {
      assert.equal(errorOf(await two.client.call(...cmd)), errorOf(await direct.call(...cmd)), cmd.join(' '));
    }
  } finally {
    direct.destroy();
  }
  assert.equal(
    errorOf(await two.client.call('SCRIPT', 'DEBUG', 'YES')),
    "ERR handle request, command 'SCRIPT DEBUG' is not allowed (only SCRIPT LOAD, EXISTS, FLUSH and KILL are supported: they run on every backend)",
  );
  assert.equal(await two.client.call('PING'), 'PONG');
});

test('SCRIPT KILL and FUNCTION KILL stop a script on whichever group runs it; NOTBUSY when none does', async () => {
  // Servers take other commands (KILL among them) during a script only past this threshold.
  assert.equal(await two.client.call('CONFIG', 'SET', 'busy-reply-threshold', '50'), 'OK');
  const spinner = await two.proxy.connect();
  try {
    assert.equal(
      errorOf(await two.client.call('SCRIPT', 'KILL')),
      'NOTBUSY No scripts in execution right now.',
    );
    const lib = "#!lua name=spin\nredis.register_function('spin', function() while true do end end)";
    assert.equal(String(await two.client.call('FUNCTION', 'LOAD', lib)), 'spin');
    for (const [b, run, kill] of [
      [1, ['EVAL', 'while true do end', 1, keyOn('spin', 1)], 'SCRIPT'],
      [0, ['FCALL', 'spin', 1, keyOn('spin', 0)], 'FUNCTION'],
    ] as const) {
      const running = spinner.call(...run);
      // The server has no event for "a script runs": it answers BUSY to others once it does.
      await until(
        `a busy server ${b}`,
        async () => (await two.servers[b]!.call('PING')) instanceof RedisError,
      );
      // The script was sent over a connection other clients share: the KILL still reaches it.
      assert.equal(await two.client.call(kill, 'KILL'), 'OK');
      assert.match(errorOf(await running), /killed by user/);
      assert.equal(await two.servers[b]!.call('PING'), 'PONG');
    }
    assert.equal(
      errorOf(await two.client.call('FUNCTION', 'KILL')),
      'NOTBUSY No scripts in execution right now.',
    );
  } finally {
    spinner.destroy();
    await two.client.call('CONFIG', 'SET', 'busy-reply-threshold', '5000');
    await two.client.call('FUNCTION', 'DELETE', 'spin');
  }
});

test("DBSIZE is the number of keys of the session's database over every group", async () => {
  const keys = Array.from({ length: 10 }, (_, i) => keyOn(`dbsize${i}`, i % 3 === 0 ? 0 : 1));
  const before = (await two.client.call('DBSIZE')) as number;
  const direct = (await Promise.all(two.servers.map((s) => s.call('DBSIZE')))) as number[];
  assert.equal(before, direct[0]! + direct[1]!);
  await two.client.call('MSET', ...keys.flatMap((k) => [k, 'v']));
  assert.equal(await two.client.call('DBSIZE'), before + 10);
  const other = await two.proxy.connect();
  try {
    assert.equal(await other.call('SELECT', 5), 'OK');
    assert.equal(await other.call('DBSIZE'), 0);
    await other.call('SET', keys[0]!, 'in db 5');
    assert.equal(await other.call('DBSIZE'), 1);
    assert.equal(await other.call('DEL', keys[0]!), 1);
  } finally {
    other.destroy();
  }
  assert.equal(await two.client.call('DEL', ...keys), 10);
  assert.equal(await two.client.call('DBSIZE'), before);
  assert.match(
    errorOf(await two.client.call('DBSIZE', 'x')),
    /^ERR wrong number of arguments for 'dbsize' command/,
  );
});

test('a RESP3 client gets the same replies', async () => {
  const r = await RawConn.open(two.proxy.port);
  try {
    await r.send([['HELLO', '3']]);
    assert.equal(
      await r.send([['SCRIPT', 'LOAD', INCR], ['SCRIPT', 'EXISTS', sha1(INCR), 'ab'.repeat(20)], ['DBSIZE']]),
      `$40\r\n${sha1(INCR)}\r\n*2\r\n:1\r\n:0\r\n:0\r\n`,
    );
  } finally {
    r.close();
  }
});

test('SCRIPT LOAD and DBSIZE name the backend they could not reach', async () => {
  const down = await startRedis();
  const p = await startProxy({ backends: [two.servers[0]!.addr, down.addr] });
  try {
    await down.stop();
    const client = await p.connect();
    const msg = errorOf(await client.call('SCRIPT', 'LOAD', INCR));
    const addr = down.addr.replace(/\./g, '\\.');
    assert.match(msg, new RegExp(`^ERR handle request, SCRIPT LOAD failed on ${addr}: backend conn`));
    assert.match(
      errorOf(await client.call('DBSIZE')),
      new RegExp(`^ERR handle request, DBSIZE failed on ${addr}: `),
    );
    client.destroy();
  } finally {
    await p.stop();
  }
});

/** `{ db0: { keys: 3, expires: 1, … }, … }` from the Keyspace section of an INFO text. */
function keyspaceOf(text: string): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const m of text.matchAll(/^(db\d+):(.*?)\r$/gm)) {
    out[m[1]!] = Object.fromEntries(
      m[2]!.split(',').map((kv) => [kv.split('=')[0], Number(kv.split('=')[1])]),
    );
  }
  return out;
}

test("INFO's Keyspace counts the keys and expires of every group, per database", async () => {
  const keys = Array.from({ length: 12 }, (_, i) => keyOn(`keyspace${i}`, i % 4 === 0 ? 0 : 1));
  await two.client.call('MSET', ...keys.flatMap((k) => [k, 'v']));
  for (const k of keys.slice(0, 3)) await two.client.call('EXPIRE', k, 1000);
  const other = await two.proxy.connect();
  try {
    await other.call('SELECT', 7);
    await other.call('SET', keys[1]!, 'in db 7');
    const text = String(await two.client.call('INFO', 'keyspace'));
    assert.match(text, /^# Keyspace\r\n/);
    const proxied = keyspaceOf(text);
    const direct = (await Promise.all(two.servers.map((s) => s.call('INFO', 'keyspace')))).map((t) =>
      keyspaceOf(String(t)),
    );
    for (const db of ['db0', 'db7']) {
      for (const field of ['keys', 'expires']) {
        const sum = direct.reduce((n, d) => n + (d[db]?.[field] ?? 0), 0);
        assert.equal(proxied[db]?.[field], sum, `${db} ${field}`);
      }
    }
    assert.equal(proxied['db7']!['keys'], 1);
    assert.ok(proxied['db0']!['expires']! >= 3);
    // Part of the default sections, as in Redis, and the same in RESP3.
    assert.match(
      String(await two.client.call('INFO')),
      /\r\n# Keyspace\r\ndb0:keys=\d+,expires=\d+,avg_ttl=\d+\r\n/,
    );
    await other.call('HELLO', '3');
    assert.deepEqual(keyspaceOf(String(await other.call('INFO', 'keyspace')))['db7'], proxied['db7']);
    await other.call('DEL', keys[1]!);
  } finally {
    other.destroy();
  }
  assert.equal(await two.client.call('DEL', ...keys), keys.length);
});

test('INFO does not wait for a hung server: it sums the others and names it', async () => {
  const hung = await startRedis();
  const p = await startProxy({ backends: [two.servers[0]!.addr, hung.addr] });
  const client = await p.connect();
  try {
    const k = keyOn('keyspace-hung', 0);
    await client.call('SET', k, 'v');
    hung.pause();
    const text = String(await client.call('INFO'));
    assert.match(text, new RegExp(`\r\nbackends_unanswered:${hung.addr.replace(/\./g, '\\.')}\r\n`));
    const expected = keyspaceOf(String(await two.servers[0]!.call('INFO', 'keyspace')))['db0']!;
    const got = keyspaceOf(text)['db0']!;
    assert.deepEqual([got['keys'], got['expires']], [expected['keys'], expected['expires']]);
    assert.match(text, /# Proxy\r\nproduct_name:/);
    await client.call('DEL', k);
  } finally {
    hung.resume();
    client.destroy();
    await p.stop();
    await hung.stop();
  }
});

test("SLOWLOG GET merges every server's entries newest first; LEN sums them; RESET clears all", async () => {
  const [k0, k1] = [keyOn('slow', 0), keyOn('slow', 1)];
  for (const s of two.servers) await s.call('CONFIG', 'SET', 'slowlog-log-slower-than', 0);
  try {
    assert.equal(await two.client.call('SLOWLOG', 'RESET'), 'OK');
    await two.client.call('SET', k0, 'on group 1');
    await two.client.call('SET', k1, 'on group 2');
    const lens = await Promise.all(two.servers.map((s) => s.call('SLOWLOG', 'LEN') as Promise<number>));
    // What the proxy's LEN adds on each server is logged after its reply: compare with a margin.
    const len = (await two.client.call('SLOWLOG', 'LEN')) as number;
    assert.ok(len >= lens[0]! + lens[1]! && len <= lens[0]! + lens[1]! + 4, `${len} vs ${String(lens)}`);
    const all = (await two.client.call('SLOWLOG', 'GET', -1)) as Reply[][];
    const commands = all.map((e) => (e[3] as Buffer[]).map(String).join(' '));
    assert.ok(
      commands.includes(`SET ${k0} on group 1`) && commands.includes(`SET ${k1} on group 2`),
      String(commands),
    );
    const times = all.map((e) => e[1] as number);
    assert.deepEqual(
      times,
      [...times].sort((a, b) => b - a),
      'newest first',
    );
    assert.equal(((await two.client.call('SLOWLOG', 'GET', 2)) as Reply[]).length, 2);
    // By default 10, as Redis: the two GETs above were logged too, on both servers.
    assert.equal(((await two.client.call('SLOWLOG', 'GET')) as Reply[]).length, Math.min(10, all.length + 4));
    assert.match(errorOf(await two.client.call('SLOWLOG', 'GET', 'x')), /^ERR /);
  } finally {
    for (const s of two.servers) await s.call('CONFIG', 'SET', 'slowlog-log-slower-than', 10000);
  }
});
