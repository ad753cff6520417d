import { test } from 'node:test';
import assert from 'node:assert/strict';
import { slotOf } from '../../src/proxy/hash.js';
import { keyOn, proxyOverTwoGroups } from '../helpers/proxy.js';
import { encodeCommand, RedisError, type Reply } from '../helpers/resp-client.js';
import { until } from '../topom/flow.js';
import { sameAsRedis } from '../helpers/raw-conn.js';

const text = (r: Reply) => (Array.isArray(r) ? r.map((x) => (x instanceof Buffer ? String(x) : x)) : r);

const two = proxyOverTwoGroups({ client: true });

function keysIn(slot: number, n: number, prefix: string): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) if (slotOf(`${prefix}${i}`) === slot) out.push(`${prefix}${i}`);
  return out;
}

test('INFO describes the proxy, by section', async () => {
  const all = String(await two.client.call('INFO'));
  assert.match(all, /^# Server\r\n/);
  assert.match(all, /redis_version:7\./);
  assert.match(all, /connected_clients:[1-9]/);
  assert.match(all, /# Proxy\r\nproduct_name:test/);
  assert.match(all, /loading:0/);
  const server = String(await two.client.call('INFO', 'server'));
  assert.match(server, /# Server/);
  assert.doesNotMatch(server, /# Clients/);
  assert.match(String(await two.client.call('INFO', 'proxy')), /slots_online:1024/);
});

test('INFO picks sections as Redis does: CPU by default, Commandstats on request', async () => {
  await two.client.call('GET', 'info-k');
  await two.client.call('GET');
  const byDefault = String(await two.client.call('INFO'));
  const titles = (text: string) => text.match(/^# \w+/gm);
  assert.deepEqual(titles(String(await two.client.call('INFO', 'default'))), titles(byDefault));
  assert.match(byDefault, /# CPU\r\nused_cpu_sys:\d+\.\d{6}\r\nused_cpu_user:\d+\.\d{6}\r\n/);
  assert.doesNotMatch(byDefault, /# Commandstats/);
  const cpu = String(await two.client.call('INFO', 'CPU'));
  assert.match(cpu, /^# CPU\r\n/);
  assert.doesNotMatch(cpu, /used_memory|# Server/);
  const stats = String(await two.client.call('INFO', 'commandstats'));
  assert.match(stats, /^# Commandstats\r\n/);
  assert.match(
    stats,
    /\r\ncmdstat_get:calls=[1-9]\d*,usec=\d+,usec_per_call=\d+\.\d{2},rejected_calls=1,failed_calls=0\r\n/,
  );
  const all = String(await two.client.call('INFO', 'all'));
  for (const s of ['Server', 'CPU', 'Commandstats', 'Proxy']) assert.match(all, new RegExp(`# ${s}\r\n`));
  const twoSections = String(await two.client.call('INFO', 'cpu', 'server'));
  assert.match(twoSections, /^# Server\r\n[^]*# CPU\r\n/);
  assert.equal(String(await two.client.call('INFO', 'no-such-section')), '');
});

test('INFO Errorstats counts error replies by code, and Latencystats gives each command its percentiles, as Redis does', async () => {
  const titles = (text: string) => text.match(/^# \w+/gm)!.join(' ');
  // The same sections as a redis-server, in its order, with the proxy's own last.
  const direct = (args: string[]) => two.servers[0]!.call('INFO', ...args).then((r) => titles(String(r)));
  for (const args of [[], ['all'], ['everything']]) {
    assert.equal(titles(String(await two.client.call('INFO', ...args))), `${await direct(args)} # Proxy`);
  }
  const counts = async () => {
    const text = String(await two.client.call('INFO', 'errorstats'));
    return Object.fromEntries(
      [...text.matchAll(/^errorstat_(\w+):count=(\d+)\r$/gm)].map((m) => [m[1], Number(m[2])]),
    );
  };
  const before = await counts();
  const key = keyOn('errorstats', 1);
  await two.client.call('SET', key, 'string');
  for (const cmd of [['LPUSH', key, 'x'], ['LPUSH', key, 'y'], ['NO-SUCH-COMMAND'], ['GET', 'a', 'b']]) {
    assert.ok((await two.client.call(...cmd)) instanceof RedisError);
  }
  const after = await counts();
  assert.equal((after.WRONGTYPE ?? 0) - (before.WRONGTYPE ?? 0), 2, 'two WRONGTYPE from the server');
  assert.equal(
    (after.ERR ?? 0) - (before.ERR ?? 0),
    2,
    "an unknown command and a wrong arity, the proxy's own",
  );

  // Each EVAL here takes at least 20 ms on the server: its percentiles say so; GET's stay below.
  const slow =
    "local s = redis.call('TIME') repeat local n = redis.call('TIME') until (n[1] - s[1]) * 1000000 + n[2] - s[2] >= 20000";
  for (let i = 0; i < 5; i++) await two.client.call('EVAL', slow, 1, key);
  const text = String(await two.client.call('INFO', 'latencystats'));
  assert.match(text, /^# Latencystats\r\n/);
  const at = (cmd: string) => {
    const m = new RegExp(
      `^latency_percentiles_usec_${cmd}:p50=([\\d.]+),p99=([\\d.]+),p99\\.9=([\\d.]+)\r$`,
      'm',
    ).exec(text);
    assert.ok(m, `${cmd} in ${text}`);
    return m.slice(1).map(Number);
  };
  const [p50, p99, p999] = at('eval');
  assert.ok(p50! >= 20000 && p50! <= p99! && p99! <= p999!, `eval ${p50} ${p99} ${p999}`);
  assert.ok(at('get')[0]! < 20000);
  assert.doesNotMatch(String(await two.client.call('INFO')), /latency_percentiles/);
});

test("INFO counts the bytes clients sent and got, as Redis's total_net_input_bytes and total_net_output_bytes", async () => {
  const read = async () => {
    const text = String(await two.client.call('INFO', 'stats'));
    const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)\r$`, 'm').exec(text)![1]);
    return [field('total_net_input_bytes'), field('total_net_output_bytes')] as const;
  };
  const [in0, out0] = await read();
  const value = 'v'.repeat(100_000);
  const key = keyOn('net-bytes', 1);
  assert.equal(await two.client.call('SET', key, value), 'OK');
  assert.equal(String(await two.client.call('GET', key)).length, value.length);
  const [in1, out1] = await read();
  // Besides the value each way: the commands, and the first INFO's reply (written after it counted).
  assert.ok(in1 - in0 >= 100_000 && in1 - in0 < 100_500, `input grew by ${in1 - in0}`);
  assert.ok(out1 - out0 >= 100_000 && out1 - out0 < 104_000, `output grew by ${out1 - out0}`);
});

test('COMMAND answers from the proxy table', async () => {
  const count = (await two.client.call('COMMAND', 'COUNT')) as number;
  assert.ok(count > 150 && count < 240, `count ${count}`);
  const [get] = (await two.client.call('COMMAND', 'INFO', 'get')) as [unknown[]];
  assert.equal(String(get[0]), 'get');
  assert.equal(get[1], 2);
  assert.deepEqual(
    ((await two.client.call('COMMAND', 'GETKEYS', 'MSET', 'a', '1', 'b', '2')) as Buffer[]).map(String),
    ['a', 'b'],
  );
});

test('SLOTSMAPPING shows the routing table', async () => {
  const five = (await two.client.call('SLOTSMAPPING', 5)) as unknown[];
  assert.deepEqual([five[0], five[1], five[2], five[3]], [5, two.servers[0]!.addr, '', []]);
  const all = (await two.client.call('SLOTSMAPPING')) as unknown[][];
  assert.equal(all.length, 1024);
  assert.equal(all[1000]![1], two.servers[1]!.addr);
  const bad = await two.client.call('SLOTSMAPPING', 1024);
  assert.ok(bad instanceof RedisError && /out of range/.test(bad.message));
  const nan = await two.client.call('SLOTSMAPPING', 'x');
  assert.ok(nan instanceof RedisError && /parse slotnum 'x' failed/.test(nan.message));
});

test('SLOTSSCAN walks the keys of one slot only; SLOTSINFO counts keys per slot', async () => {
  const mine = keysIn(77, 30, 'scan:');
  const others = keysIn(78, 10, 'scan:');
  for (const k of [...mine, ...others]) await two.client.call('SET', k, '1');
  const seen = new Set<string>();
  let cursor = '0';
  do {
    const [next, keys] = (await two.client.call('SLOTSSCAN', 77, cursor, 'COUNT', 7)) as [Buffer, Buffer[]];
    cursor = String(next);
    for (const k of keys) seen.add(String(k));
  } while (cursor !== '0');
  assert.deepEqual([...seen].sort(), [...mine].sort());
  const counts = (await two.client.call('SLOTSINFO', two.servers[0]!.addr)) as [number, number][];
  const bySlot = new Map(counts.map(([s, n]) => [s, n]));
  assert.equal(bySlot.get(77), 30);
  assert.equal(bySlot.get(78), 10);
  const unknown = await two.client.call('SLOTSINFO', '127.0.0.1:1');
  assert.ok(unknown instanceof RedisError && /backend server '127.0.0.1:1' not found/.test(unknown.message));
});

test('RESET returns the connection to its initial state; CLIENT INFO and ECHO', async () => {
  const r = await two.proxy.connect();
  await r.call('SELECT', 4);
  await r.call('CLIENT', 'SETNAME', 'worker-1');
  assert.match(String(await r.call('CLIENT', 'INFO')), /name=worker-1 .* db=4 /);
  assert.equal(await r.call('RESET'), 'RESET');
  assert.equal(await r.call('CLIENT', 'GETNAME'), null);
  assert.match(String(await r.call('CLIENT', 'INFO')), / db=0 /);
  assert.equal(String(await r.call('ECHO', 'hi')), 'hi');
  for (const sub of ['ID', 'GETNAME', 'INFO']) {
    const e = await r.call('CLIENT', sub, 'extra');
    assert.ok(e instanceof RedisError, `CLIENT ${sub} extra`);
    assert.equal(e.message, `ERR wrong number of arguments for 'client|${sub.toLowerCase()}' command`);
  }
  r.close();
});

test('CLIENT REPLY OFF and SKIP drop replies (errors and big ones too) as Redis does; ON, RESET and pub/sub still answer', async () => {
  const c = await two.proxy.connect();
  const [k0, k1, n] = [keyOn('reply', 0), keyOn('reply', 1), keyOn('reply-n', 0)];
  const big = 'b'.repeat(3 * 1024 * 1024);
  try {
    c.writeRaw(
      Buffer.concat(
        [
          ['CLIENT', 'REPLY', 'OFF'],
          ['SET', k0, 'v'],
          ['SET', k1, big],
          ['GET', k1],
          ['NO-SUCH-COMMAND'],
          ['CLIENT', 'REPLY', 'ON'],
          ['GET', k0],
          ['CLIENT', 'REPLY', 'SKIP'],
          ['INCR', n],
          ['GET', n],
          ['CLIENT', 'REPLY', 'maybe'],
        ].map(encodeCommand),
      ),
    );
    assert.equal(await c.readReply(), 'OK');
    assert.equal(String(await c.readReply()), 'v');
    assert.equal(String(await c.readReply()), '1', 'INCR was run, unanswered');
    const bad = await c.readReply();
    assert.ok(bad instanceof RedisError && bad.message === 'ERR syntax error', String(bad));
    // Subscriptions are confirmed and messages come while replies are off, as from Redis; RESET answers.
    c.writeRaw(
      Buffer.concat(
        [
          ['CLIENT', 'REPLY', 'OFF'],
          ['SUBSCRIBE', 'reply-ch'],
        ].map(encodeCommand),
      ),
    );
    assert.deepEqual(text(await c.readReply()), ['subscribe', 'reply-ch', 1]);
    // Confirmed means subscribed on the servers: a PUBLISH now reaches it.
    assert.equal(await two.client.call('PUBLISH', 'reply-ch', 'hi'), 1);
    assert.deepEqual(text(await c.readReply()), ['message', 'reply-ch', 'hi']);
    assert.equal(await c.call('RESET'), 'RESET');
    assert.equal(await c.call('PING'), 'PONG');
  } finally {
    c.destroy();
  }
  assert.equal(String(await two.client.call('GET', k1)).length, big.length);
});

test('CLIENT NO-EVICT, GETREDIR, TRACKINGINFO, CACHING and integer arguments answer byte for byte as Redis does, in RESP2 and RESP3', async () => {
  const cmds = [
    ['CLIENT', 'NO-EVICT', 'on'],
    ['CLIENT', 'NO-EVICT', 'maybe'],
    ['CLIENT', 'GETREDIR'],
    ['CLIENT', 'TRACKINGINFO'],
    ['CLIENT', 'CACHING', 'yes'],
    ['CLIENT', 'GETREDIR', 'extra'],
    // Integers as Redis reads them: no exponent, sign, space, hex or leading zero.
    ['CLIENT', 'LIST', 'ID', '1e3'],
    ['CLIENT', 'LIST', 'ID', ' 5'],
    ['CLIENT', 'LIST', 'ID', '0'],
    ['CLIENT', 'UNBLOCK', '0x10'],
    ['CLIENT', 'UNBLOCK', '99999999'],
    ['CLIENT', 'KILL', 'ID', '007'],
    ['CLIENT', 'KILL'],
    // CLIENT PAUSE's checks (a pause itself would stop the reference server) and HELP.
    ['CLIENT', 'PAUSE'],
    ['CLIENT', 'PAUSE', '-1'],
    ['CLIENT', 'PAUSE', 'abc'],
    ['CLIENT', 'PAUSE', '99999999999999999999'],
    ['CLIENT', 'PAUSE', '10', 'sometimes'],
    ['CLIENT', 'PAUSE', '10', 'write', 'extra'],
    ['CLIENT', 'UNPAUSE', 'x'],
    ['CLIENT', 'UNPAUSE'],
    ['CLIENT', 'HELP'],
    ['CLIENT', 'TRACKING', 'ON', 'REDIRECT', '1e2'],
    ['SELECT', '+1'],
    ['SELECT', '01'],
    ['SELECT', '0'],
  ];
  await sameAsRedis(two.servers[0]!.port, two.proxy.port, cmds);
});

test("CLIENT LIST shows the proxy's own clients, filtered by ID and TYPE as in Redis", async () => {
  const [a, b] = await Promise.all([two.proxy.connect(), two.proxy.connect()]);
  try {
    await a.call('CLIENT', 'SETNAME', 'lister');
    await b.call('SELECT', 3);
    const [idA, idB] = [(await a.call('CLIENT', 'ID')) as number, (await b.call('CLIENT', 'ID')) as number];
    const list = String(await a.call('CLIENT', 'LIST'));
    // Redis's fields, in Redis's order. The asker's query buffer holds its CLIENT LIST (26
    // bytes, 10 of them arguments), as in Redis; the others' are empty.
    const line = (
      id: unknown,
      name: string,
      flags: string,
      db: number,
      counts: string,
      cmd: string,
      bufs = 'qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0',
    ) =>
      new RegExp(
        `^id=${id} addr=127\\.0\\.0\\.1:\\d+ laddr=127\\.0\\.0\\.1:${two.proxy.port} fd=\\d+ name=${name} ` +
          `age=\\d+ idle=\\d+ flags=${flags} db=${db} ${counts} ${bufs} rbs=\\d+ rbp=\\d+ obl=0 oll=0 omem=0 ` +
          `tot-mem=\\d+ events=r cmd=${cmd} user=default redir=-1 resp=2$`,
        'm',
      );
    const none = 'sub=0 psub=0 ssub=0 multi=-1';
    assert.match(
      list,
      line(idA, 'lister', 'N', 0, none, 'client\\|list', 'qbuf=26 qbuf-free=0 argv-mem=10 multi-mem=0'),
    );
    assert.match(list, line(idB, '', 'N', 3, none, 'client\\|id'));
    assert.equal(
      String(await a.call('CLIENT', 'LIST', 'ID', idB))
        .trim()
        .split('\n').length,
      1,
    );
    assert.match(String(await a.call('CLIENT', 'LIST', 'ID', idB)), new RegExp(`^id=${idB} `));
    assert.equal(String(await a.call('CLIENT', 'LIST', 'TYPE', 'pubsub')), '');
    assert.ok(String(await a.call('CLIENT', 'LIST', 'TYPE', 'normal')).includes(`id=${idB} `));
    await b.call('SUBSCRIBE', 'listed');
    await b.call('PSUBSCRIBE', 'list*', 'li*');
    const pubsub = String(await a.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
    assert.match(pubsub, line(idB, '', 'P', 3, 'sub=1 psub=2 ssub=0 multi=-1', 'psubscribe'));
    // A transaction shows as x with its queued count; a blocked client as b.
    await a.pipeline([['MULTI'], ['SET', 'listed-tx', 1], ['SET', 'listed-tx', 2]]);
    const inTx = String(await two.client.call('CLIENT', 'LIST', 'ID', idA));
    // Its last command is the one queued last; multi-mem counts the queued bytes.
    assert.match(
      inTx,
      line(
        idA,
        'lister',
        'x',
        0,
        'sub=0 psub=0 ssub=0 multi=2',
        'set',
        'qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=[1-9]\\d*',
      ),
    );
    assert.equal(await a.call('DISCARD'), 'OK');
    const c = await two.proxy.connect();
    const idC = (await c.call('CLIENT', 'ID')) as number;
    const popped = c.call('BLPOP', 'listed-list', 0);
    await until('the client to block', async () =>
      String(await two.client.call('CLIENT', 'LIST', 'ID', idC)).includes(' flags=b '),
    );
    await two.client.call('RPUSH', 'listed-list', 'v');
    assert.deepEqual(((await popped) as Buffer[]).map(String), ['listed-list', 'v']);
    c.close();
    assert.ok(!String(await a.call('CLIENT', 'LIST', 'TYPE', 'normal')).includes(`id=${idB} `));
    for (const [args, msg] of [
      [['ID', 'x'], 'ERR Invalid client ID'],
      [['TYPE', 'nope'], "ERR Unknown client type 'nope'"],
      [['BAD'], 'ERR syntax error'],
    ] as const) {
      const e = await a.call('CLIENT', 'LIST', ...args);
      assert.ok(e instanceof RedisError && e.message === msg, `CLIENT LIST ${args.join(' ')}: ${String(e)}`);
    }
  } finally {
    a.close();
    b.close();
  }
});

test("CONFIG GET and MODULE LIST read slot 0's group server; the rest of MODULE is refused", async () => {
  const direct = await two.servers[0]!.call('CONFIG', 'GET', 'maxmemory*');
  assert.deepEqual(await two.client.call('CONFIG', 'GET', 'maxmemory*'), direct);
  assert.deepEqual(await two.client.call('MODULE', 'LIST'), await two.servers[0]!.call('MODULE', 'LIST'));
  const load = await two.client.call('MODULE', 'LOAD', '/tmp/nothing.so');
  assert.ok(load instanceof RedisError);
  assert.match(
    load.message,
    /^ERR handle request, command 'MODULE LOAD' is not allowed \(only MODULE LIST and HELP/,
  );
});

test("CLIENT KILL closes the proxy's own clients by ID, ADDR or TYPE, and the asker last", async () => {
  const [a, b, c, d] = await Promise.all([0, 1, 2, 3].map(() => two.proxy.connect()));
  try {
    const id = async (x: typeof a) => (await x.call('CLIENT', 'ID')) as number;
    const addr = async (x: typeof a) => /addr=(\S+)/.exec(String(await x.call('CLIENT', 'INFO')))![1]!;
    assert.equal(await a.call('CLIENT', 'KILL', 'ID', await id(b)), 1);
    await b.waitClosed(5000);
    // The old form: one address, +OK or an error.
    assert.equal(await a.call('CLIENT', 'KILL', await addr(c)), 'OK');
    await c.waitClosed(5000);
    const none = await a.call('CLIENT', 'KILL', '10.9.8.7:6');
    assert.ok(none instanceof RedisError && none.message === 'ERR No such client', String(none));
    // ADDR as a filter, with others: the count of clients killed.
    const e = await two.proxy.connect();
    assert.equal(await a.call('CLIENT', 'KILL', 'ADDR', await addr(e), 'TYPE', 'normal'), 1);
    await e.waitClosed(5000);
    await d.call('SUBSCRIBE', 'doomed');
    assert.equal(await a.call('CLIENT', 'KILL', 'TYPE', 'pubsub', 'USER', 'default'), 1);
    await d.waitClosed(5000);
    for (const [args, msg] of [
      [['ID', '0'], 'ERR client-id should be greater than 0'],
      [['TYPE', 'nope'], "ERR Unknown client type 'nope'"],
      [['USER', 'bob'], "ERR No such user 'bob'"],
      [['ID', '1', 'SKIPME'], 'ERR syntax error'],
      [['MAXAGE', '5'], 'ERR syntax error'],
    ] as const) {
      const e = await a.call('CLIENT', 'KILL', ...args);
      assert.ok(e instanceof RedisError && e.message === msg, `CLIENT KILL ${args.join(' ')}: ${String(e)}`);
    }
    // SKIPME yes is the default; with no, the asker gets its reply, then is closed.
    assert.equal(await a.call('CLIENT', 'KILL', 'ID', await id(a)), 0);
    assert.equal(await a.call('CLIENT', 'KILL', 'ID', await id(a), 'SKIPME', 'no'), 1);
    await a.waitClosed(5000);
  } finally {
    for (const x of [a, b, c, d]) x.destroy();
  }
});

test("MONITOR streams every command the proxy receives, in Redis's format, until RESET", async () => {
  const [m, c] = await Promise.all([two.proxy.connect(), two.proxy.connect()]);
  try {
    assert.equal(await m.call('MONITOR'), 'OK');
    const addr = /addr=(\S+)/.exec(String(await c.call('CLIENT', 'INFO')))![1]!;
    await c.call('SET', 'mon key', 'a\r\n"b"\x01');
    await c.call('SELECT', 2);
    // A command Redis does not know is not shown: Redis shows what it runs.
    assert.ok((await c.call('NOSUCHCMD', 'x')) instanceof RedisError);
    await c.call('GET', 'mon');
    await c.call('AUTH', 'secret');
    await c.call('HELLO', 2, 'AUTH', 'default', 'secret');
    const lines = [];
    for (let i = 0; i < 6; i++) lines.push(String(await m.readReply()));
    const at = (db: number) => `^\\d+\\.\\d{6} \\[${db} ${addr.replace(/\./g, '\\.')}\\] `;
    assert.match(lines[0]!, new RegExp(at(0) + '"CLIENT" "INFO"$'));
    assert.match(lines[1]!, new RegExp(at(0) + '"SET" "mon key" "a\\\\r\\\\n\\\\"b\\\\"\\\\x01"$'));
    assert.match(lines[2]!, new RegExp(at(0) + '"SELECT" "2"$'));
    assert.match(lines[3]!, new RegExp(at(2) + '"GET" "mon"$'));
    assert.match(lines[4]!, new RegExp(at(2) + '"AUTH" "\\(redacted\\)"$'));
    assert.match(lines[5]!, new RegExp(at(2) + '"HELLO" "2" "AUTH" "default" "\\(redacted\\)"$'));
    // RESET ends monitoring: the next command is answered, with no line before it.
    assert.equal(await m.call('RESET'), 'RESET');
    await c.call('PING');
    assert.equal(String(await m.call('ECHO', 'quiet')), 'quiet');
  } finally {
    m.destroy();
    c.destroy();
    await two.client.call('DEL', 'mon key');
  }
});
