import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CmdFlag, Handling, KeyKind, type CommandInfo } from '../../src/proxy/commands/CommandInfo.js';
import {
  allCommands,
  checkArity,
  collectKeys,
  commandCount,
  lookup,
  lookupSub,
  UNKNOWN,
} from '../../src/proxy/commands/Mapper.js';
import { acceptedCommandCount, commandReply } from '../../src/proxy/commands/CommandReplies.js';
import { decidedNames, decisionFor } from '../../src/proxy/commands/policy.js';
import { REDIS_COMMANDS } from '../../src/proxy/commands/table.generated.js';
import { RawConn } from '../helpers/raw-conn.js';
import { patternSlot } from '../../src/proxy/commands/sortPatterns.js';
import { freePort } from '../helpers/ports.js';
import { slotOf } from '../../src/proxy/hash.js';

const B = (s: string) => Buffer.from(s);
const argv = (line: string) => line.split(' ').map(B);
const must = (name: string): CommandInfo => {
  const info = lookup(B(name));
  assert.ok(info, name);
  return info;
};

/** Keys of a command line by name, as our collectKeys finds them (-1 → null). */
function keysOf(line: string): string[] | null {
  const args = argv(line);
  const out: number[] = [];
  const n = collectKeys(must(line.split(' ')[0]!), args, out);
  return n < 0 ? null : out.slice(0, n).map((i) => args[i]!.toString());
}

// ------------------------------------------------------------------ lookup and arity

test('lookup is case-insensitive and returns one shared object', () => {
  const get = must('GET');
  assert.equal(get.name, 'GET');
  assert.equal(lookup(B('get')), get);
  assert.equal(lookup(B('gEt')), get);
  assert.equal(lookup(B('GETX')), undefined);
  assert.equal(lookup(B('GE')), undefined);
});

test('lookup accepts hyphenated names and the cross-protocol guards', () => {
  assert.equal(must('restore-asking').handling, Handling.NotAllow);
  assert.equal(must('RESTORE-ASKING').name, 'RESTORE-ASKING');
  assert.equal(must('host:').handling, Handling.NotAllow);
  assert.equal(must('Post').handling, Handling.NotAllow);
  const client = must('client');
  assert.equal(lookupSub(client, B('No-Evict'))?.name, 'CLIENT|NO-EVICT');
  assert.equal(lookupSub(must('cluster'), B('count-failure-reports'))?.name, 'CLUSTER|COUNT-FAILURE-REPORTS');
});

test('lookup rejects empty, too long and subcommand-style names', () => {
  assert.equal(lookup(Buffer.alloc(0)), undefined);
  assert.equal(lookup(B('A'.repeat(65))), undefined);
  assert.equal(lookup(B('A'.repeat(64))), undefined);
  assert.equal(lookup(B('client|setname')), undefined);
  assert.equal(lookupSub(must('get'), B('x')), undefined);
  assert.equal(lookupSub(must('client'), B('nosuch')), undefined);
  assert.equal(lookupSub(must('client'), Buffer.alloc(0)), undefined);
});

test('arity follows Redis (N exact, -N at least)', () => {
  assert.ok(checkArity(must('get'), 2));
  assert.ok(!checkArity(must('get'), 3));
  assert.ok(!checkArity(must('get'), 1));
  assert.ok(checkArity(must('mset'), 3));
  assert.ok(checkArity(must('mset'), 7));
  assert.ok(!checkArity(must('mset'), 2));
  assert.ok(checkArity(lookupSub(must('object'), B('encoding'))!, 3));
  assert.ok(!checkArity(lookupSub(must('object'), B('encoding'))!, 4));
  assert.ok(checkArity(UNKNOWN, 1));
});

test('ids are dense and allCommands() is indexed by id', () => {
  const all = allCommands();
  assert.equal(all.length, commandCount());
  all.forEach((c, i) => assert.equal(c.id, i, c.name));
  assert.equal(all[UNKNOWN.id], UNKNOWN);
  assert.equal(UNKNOWN.flags, CmdFlag.MayWrite);
  assert.equal(UNKNOWN.keyKind, KeyKind.Single);
  assert.equal(UNKNOWN.firstKey, 1);
});

// ------------------------------------------------------------------ policy

test('every command of the generated table has an explicit decision, and only those', () => {
  const names = new Set(REDIS_COMMANDS.map((c) => c.name));
  for (const c of REDIS_COMMANDS) {
    assert.ok(decisionFor(c.name), `no decision for ${c.name}`);
    for (const s of c.subcommands) assert.ok(decisionFor(s.name), `no decision for ${s.name}`);
  }
  const subs = new Set(REDIS_COMMANDS.flatMap((c) => c.subcommands.map((s) => s.name)));
  for (const n of decidedNames()) assert.ok(names.has(n) || subs.has(n), `policy names unknown command ${n}`);
  for (const c of allCommands()) assert.ok(!/not been reviewed/.test(c.reason ?? ''), c.name);
});

test('support decisions and flags', () => {
  const h = (n: string) => must(n).handling;
  /** Each of the space-separated `names` is handled `handling`. */
  const allHandled = (names: string, handling: Handling) => {
    for (const n of names.split(' ')) assert.equal(h(n), handling, n);
  };
  // Blocking commands are forwarded on their client's own connection (Blocking.ts).
  for (const n of ['blpop', 'brpop', 'brpoplpush', 'blmove', 'blmpop', 'bzpopmin', 'bzpopmax', 'bzmpop']) {
    assert.equal(h(n), Handling.Forward, n);
    assert.equal(must(n).blocks?.([]), true, n);
  }
  // WAIT runs on every group over the client's own connections (Wait.ts); WAITAOF is refused.
  assert.equal(h('wait'), Handling.Local);
  assert.equal(h('waitaof'), Handling.NotAllow);
  assert.match(must('waitaof').reason ?? '', /\w/);
  assert.equal(must('get').blocks, undefined);
  allHandled('debug shutdown sync psync', Handling.NotAllow);
  allHandled('monitor', Handling.Local);
  // Redis keeps admin commands out of MONITOR; the proxy too.
  for (const [n, sub] of [
    ['config', 'get'],
    ['config', 'set'],
    ['slowlog', 'get'],
    ['debug', null],
  ] as const) {
    const c = sub === null ? must(n) : lookupSub(must(n), B(sub))!;
    assert.notEqual(c.flags & CmdFlag.Unmonitored, 0, `${n} ${sub ?? ''}`);
  }
  assert.equal(must('get').flags & CmdFlag.Unmonitored, 0);
  // Run by the proxy on every group (EveryBackend, KeyspaceScan).
  allHandled('keys scan randomkey flushall flushdb swapdb dbsize', Handling.Local);
  allHandled('multi exec discard watch unwatch', Handling.Transaction);
  allHandled('migrate cluster acl', Handling.NotAllow);
  // MOVE stays on its slot's server: its key is in the same slot in every database.
  allHandled('move', Handling.Forward);
  const functionSub = (n: string) => lookupSub(must('function'), B(n))!.handling;
  for (const n of ['load', 'delete', 'flush', 'restore']) assert.equal(functionSub(n), Handling.Local, n);
  for (const n of ['list', 'dump', 'stats']) assert.equal(functionSub(n), Handling.Forward, n);
  assert.equal(functionSub('kill'), Handling.Local);
  allHandled('subscribe psubscribe unsubscribe punsubscribe ssubscribe sunsubscribe', Handling.Local);
  allHandled('publish spublish pubsub', Handling.Forward);
  const pubsubSub = (n: string) => lookupSub(must('pubsub'), B(n))!.handling;
  for (const n of ['channels', 'numsub', 'numpat']) assert.equal(pubsubSub(n), Handling.Forward, n);
  for (const n of ['shardchannels', 'shardnumsub']) assert.equal(pubsubSub(n), Handling.Local, n);
  // SCRIPT: LOAD, EXISTS, FLUSH and KILL are local (run on every backend); the others are refused.
  const scriptSub = (n: string) => lookupSub(must('script'), B(n))!.handling;
  for (const n of ['load', 'exists', 'flush', 'kill']) assert.equal(scriptSub(n), Handling.Local, n);
  for (const n of ['debug', 'help']) assert.equal(scriptSub(n), Handling.NotAllow, n);
  allHandled('mget mset del unlink exists touch', Handling.Coalesce);
  allHandled(
    'ping echo quit auth select info command hello reset dbsize slotsinfo slotsscan slotsmapping',
    Handling.Local,
  );
  const client = must('client');
  assert.equal(client.handling, Handling.Local);
  for (const s of [
    'setname',
    'getname',
    'id',
    'list',
    'kill',
    'reply',
    'unblock',
    'no-evict',
    'tracking',
    'trackinginfo',
  ])
    assert.equal(lookupSub(client, B(s))?.handling, Handling.Local);
  for (const s of ['pause', 'unpause', 'help'])
    assert.equal(lookupSub(client, B(s))?.handling, Handling.Local, s);
  assert.equal(lookupSub(must('memory'), B('usage'))?.handling, Handling.Forward);
  assert.equal(lookupSub(must('config'), B('get'))?.handling, Handling.Forward);
  for (const n of ['set', 'resetstat', 'rewrite'])
    assert.equal(lookupSub(must('config'), B(n))?.handling, Handling.Local, n);
  assert.equal(lookupSub(must('memory'), B('doctor'))?.handling, Handling.NotAllow);
  allHandled(
    'getdel getex copy lmove smove lpos smismember zrangestore sintercard lmpop zmpop xadd xtrim',
    Handling.Forward,
  );
  allHandled(
    'rename renamenx msetnx bitop pfmerge sort_ro geosearch fcall fcall_ro eval_ro evalsha_ro',
    Handling.Forward,
  );
  // Flags: Redis `write` → Write; scripts count as writes; the *_RO variants are reads.
  assert.equal(must('set').flags, CmdFlag.Write);
  assert.equal(must('get').flags, 0);
  assert.equal(must('eval').flags & CmdFlag.Write, CmdFlag.Write);
  assert.equal(must('fcall').flags & CmdFlag.Write, CmdFlag.Write);
  assert.equal(must('eval_ro').flags, 0);
  for (const n of ['hscan', 'sscan', 'zscan', 'touch']) assert.equal(must(n).flags, CmdFlag.MasterOnly, n);
  assert.equal(must('blpop').flags, CmdFlag.Write);
  // Containers summarize their subcommands for code that does not resolve them.
  assert.equal(must('xgroup').flags & CmdFlag.Write, CmdFlag.Write);
  assert.equal(must('object').keyKind, KeyKind.Single);
  assert.equal(must('object').firstKey, 2);
});

test('XREAD/XREADGROUP block only with a BLOCK option', () => {
  const xread = must('xread');
  assert.equal(xread.blocks?.(argv('XREAD COUNT 1 STREAMS s 0')), false);
  assert.equal(xread.blocks?.(argv('XREAD COUNT 1 block 0 STREAMS s 0')), true);
  assert.equal(xread.blocks?.(argv('XREAD STREAMS block 0')), false); // a key named "block"
  const group = must('xreadgroup');
  assert.equal(group.blocks?.(argv('XREADGROUP GROUP g c BLOCK 10 STREAMS s >')), true);
  assert.equal(group.blocks?.(argv('XREADGROUP GROUP block c NOACK STREAMS s >')), false);
});

test("SORT/SORT_RO refuse BY and GET patterns whose keys may leave the sorted key's slot", () => {
  assert.equal(patternSlot(B('{a}w_*')), slotOf('a'));
  assert.equal(patternSlot(B('{a}w_*->field')), slotOf('a'));
  assert.equal(patternSlot(B('x{}w_*')), slotOf(''));
  assert.equal(patternSlot(B('nosort')), -1); // no '*': no key is formed
  for (const anySlot of ['w_*', 'w_*{a}', '{a*}w', '{a_*', 'w_*->{a}'])
    assert.equal(patternSlot(B(anySlot)), -2, anySlot);
  for (const name of ['sort', 'sort_ro']) {
    const check = must(name).argCheck!;
    assert.equal(check(argv(`${name} {a}l BY {a}w_* GET # GET {a}o_*->f LIMIT 0 10 ALPHA DESC`)), undefined);
    assert.equal(check(argv(`${name} {a}l BY nosort GET {a}w_*`)), undefined);
    assert.equal(check(argv(`${name} plain GET #`)), undefined);
    assert.match(check(argv(`${name} {a}l BY {b}w_*`)) ?? '', /BY pattern/);
    assert.match(check(argv(`${name} {a}l GET # GET o_*`)) ?? '', /GET pattern/);
    assert.equal(check(argv(`${name} {a}l LIMIT 0 1 BY`)), undefined); // syntax error: Redis answers
  }
  assert.equal(must('sort').argCheck!(argv('SORT {a}l STORE by BY {a}w_*')), undefined); // STORE's key "by"
});

// ------------------------------------------------------------------ key extraction

test('key layout of simple commands', () => {
  assert.equal(must('get').keyKind, KeyKind.Single);
  assert.equal(must('get').firstKey, 1);
  assert.equal(must('ping').keyKind, KeyKind.None);
  assert.equal(must('mget').keyKind, KeyKind.Multi);
  assert.equal(must('eval').keyKind, KeyKind.Multi);
  assert.equal(must('eval').firstKey, 3);
  assert.equal(must('sort_ro').keyKind, KeyKind.Single);
  assert.deepEqual(keysOf('GET k'), ['k']);
  assert.deepEqual(keysOf('PING'), []);
});

test('collectKeys handles numkeys, keywords, STORE options and subcommands', () => {
  const cases: [string, string[] | null][] = [
    ['EVAL s 2 a b x', ['a', 'b']],
    ['EVALSHA s 1 a x', ['a']],
    ['FCALL f 2 a b x', ['a', 'b']],
    ['EVAL s 0', []],
    ['EVAL s 0 x y', []],
    ['EVAL s 3 a b', null],
    ['EVAL s x a', null],
    ['EVAL s -1 a', null],
    ['EVAL s 01 a', null],
    ['ZUNIONSTORE d 2 a b WEIGHTS 1 2', ['d', 'a', 'b']],
    ['ZINTERSTORE d 1 a', ['d', 'a']],
    ['ZDIFFSTORE d 2 a b', ['d', 'a', 'b']],
    ['ZUNIONSTORE d 5 a', null],
    ['ZUNION 2 a b WITHSCORES', ['a', 'b']],
    ['ZINTER 1 a', ['a']],
    ['ZDIFF 2 a b', ['a', 'b']],
    ['SINTERCARD 2 a b LIMIT 1', ['a', 'b']],
    ['LMPOP 2 a b LEFT COUNT 2', ['a', 'b']],
    ['ZMPOP 1 a MIN', ['a']],
    ['XREAD COUNT 2 STREAMS s1 s2 0 0', ['s1', 's2']],
    ['XREAD streams s 0', ['s']],
    ['XREADGROUP GROUP g c COUNT 1 STREAMS s1 s2 > >', ['s1', 's2']],
    ['XREADGROUP GROUP streams c STREAMS k 0', ['k']],
    ['GEORADIUS k 0 0 1 km STORE d', ['k', 'd']],
    ['GEORADIUS k 0 0 1 km COUNT 1 STOREDIST d', ['k', 'd']],
    ['GEORADIUS k 0 0 1 km', ['k']],
    ['GEORADIUSBYMEMBER k m 1 km store d', ['k', 'd']],
    ['SORT k', ['k']],
    ['SORT k BY w_* LIMIT 0 10 GET # STORE d', ['k', 'd']],
    ['SORT k STORE a STORE b', ['k', 'b']],
    ['SORT k GET store', ['k']],
    ['SORT_RO k BY w_*', ['k']],
    ['OBJECT ENCODING k', ['k']],
    ['OBJECT HELP', []],
    ['OBJECT NOSUCH k', null],
    ['MEMORY USAGE k SAMPLES 5', ['k']],
    ['XINFO STREAM k FULL', ['k']],
    ['XGROUP CREATE k g $', ['k']],
    ['BITOP AND d a b', ['d', 'a', 'b']],
    ['MSET a 1 b 2', ['a', 'b']],
    ['MSETNX a 1 b 2', ['a', 'b']],
    ['DEL a b c', ['a', 'b', 'c']],
    ['RENAME a b', ['a', 'b']],
    ['LMOVE a b LEFT RIGHT', ['a', 'b']],
    ['COPY a b DB 1', ['a', 'b']],
  ];
  for (const [line, want] of cases) assert.deepEqual(keysOf(line), want, line);
});

test('collectKeys reuses the caller array', () => {
  const out = [9, 9, 9, 9, 9];
  assert.equal(collectKeys(must('mget'), argv('MGET a b'), out), 2);
  assert.deepEqual(out, [1, 2, 9, 9, 9]);
});

// ------------------------------------------------------------------ against a real redis-server

let redis: ChildProcess | undefined;
let dir = '';
let port = 0;

/** End offset of the RESP2 frame at `pos`, or -1 when incomplete. */
function frameEnd(buf: Buffer, pos: number): number {
  const eol = buf.indexOf('\r\n', pos);
  if (eol < 0) return -1;
  const n = Number(buf.toString('latin1', pos + 1, eol));
  let end = eol + 2;
  switch (buf[pos]) {
    case 0x24 /* $ */:
      return n < 0 ? end : buf.length >= end + n + 2 ? end + n + 2 : -1;
    case 0x2a /* * */:
      for (let i = 0; i < n; i++) {
        end = frameEnd(buf, end);
        if (end < 0) return -1;
      }
      return end;
    default:
      return end;
  }
}

/** Sends one command on a fresh connection and returns the raw reply bytes. */
function call(args: readonly Buffer[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    sock.on('error', reject);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (frameEnd(buf, 0) === buf.length) {
        sock.destroy();
        resolve(buf);
      }
    });
    const parts: Buffer[] = [B(`*${args.length}\r\n`)];
    for (const a of args) parts.push(B(`$${a.length}\r\n`), a, B('\r\n'));
    sock.write(Buffer.concat(parts));
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'commands-test-'));
  port = await freePort();
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
  ];
  redis = spawn('redis-server', args, { stdio: 'ignore' });
  for (let i = 0; ; i++) {
    try {
      if ((await call([B('PING')])).toString() === '+PONG\r\n') break;
    } catch (e) {
      if (i > 200) throw e;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
});

after(async () => {
  if (redis && redis.exitCode === null) {
    const exited = new Promise((r) => redis!.once('exit', r));
    redis.kill('SIGKILL');
    await exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Sends `line` to Redis and to commandReply and asserts identical bytes. */
async function same(line: readonly Buffer[] | string): Promise<void> {
  const args = typeof line === 'string' ? argv(line) : line;
  const want = await call(args);
  const got = commandReply(args);
  const label = args.map(String).join(' ').slice(0, 200);
  assert.equal(got.toString('latin1'), want.toString('latin1'), label);
}

test('COMMAND INFO / DOCS / GETKEYS match redis-server byte for byte', async () => {
  await same('COMMAND INFO get set mget eval xread');
  await same('COMMAND DOCS get');
  await same('COMMAND GETKEYS eval s 2 a b x');
  await same('COMMAND INFO get nosuch client|setname CLIENT|SETNAME get|x client|');
  await same('COMMAND DOCS nosuch set Client|SetName');
  await same('COMMAND HELP');
  for (const l of [
    'COMMAND FOO',
    'COMMAND COUNT x',
    'COMMAND GETKEYS get',
    'COMMAND LIST foo',
    'COMMAND LIST filterby x y',
  ]) {
    await same(l);
  }
});

test('every accepted command and subcommand has Redis INFO and DOCS entries', async () => {
  const names: string[] = [];
  for (const c of allCommands()) {
    if (!c.spec || c.handling === Handling.NotAllow || c.subcommands) continue;
    if (c.parent && c.parent.handling === Handling.NotAllow) continue;
    names.push(c.spec.name);
  }
  assert.ok(names.length > 150);
  await same([B('COMMAND'), B('INFO'), ...names.map(B)]);
  await same([B('COMMAND'), B('DOCS'), ...names.map(B)]);
});

test('containers nest exactly their accepted subcommands (Redis orders them randomly)', async () => {
  for (const [name, all] of [
    ['xinfo', true],
    ['xgroup', true],
    ['object', true],
    ['pubsub', true],
    ['command', true],
    ['client', true],
    ['memory', false],
  ] as const) {
    for (const what of ['INFO', 'DOCS']) {
      const ours = commandReply(argv(`COMMAND ${what} ${name}`));
      const theirs = await call(argv(`COMMAND ${what} ${name}`));
      assert.equal(frameEnd(ours, 0), ours.length);
      if (all) assert.equal(ours.length, theirs.length, `${what} ${name}`);
      else assert.ok(ours.length < theirs.length, `${what} ${name}`);
      const container = must(name);
      for (const sub of container.subcommands!.values()) {
        const one = await call(argv(`COMMAND ${what} ${sub.spec!.name}`));
        const body = one.subarray(4); // drop the `*1\r\n` / `*2\r\n` header
        const accepted = sub.handling !== Handling.NotAllow;
        assert.equal(ours.includes(body), accepted, `${what} ${sub.name}`);
      }
    }
  }
  for (const what of ['COMMAND', 'COMMAND DOCS', 'COMMAND LIST']) {
    const reply = commandReply(argv(what));
    assert.equal(frameEnd(reply, 0), reply.length, what);
  }
});

test('in RESP3, COMMAND replies match redis-server byte for byte (sets, maps and nulls)', async () => {
  const conn = await RawConn.open(port);
  try {
    assert.match(await conn.send([['HELLO', '3']]), /^%7\r\n/);
    const same3 = async (args: readonly Buffer[]) => {
      const want = await conn.send([args]);
      const label = args.map(String).join(' ').slice(0, 200);
      assert.equal(commandReply(args, 3).toString('latin1'), want, label);
    };
    for (const l of [
      'COMMAND INFO get set mget eval xread sort',
      'COMMAND DOCS get set getset hmset',
      'COMMAND INFO get nosuch client|setname',
      'COMMAND DOCS nosuch set Client|SetName',
      'COMMAND GETKEYSANDFLAGS set k v',
      'COMMAND GETKEYSANDFLAGS lmove a b left right',
      'COMMAND GETKEYS eval s 2 a b x',
      'COMMAND HELP',
      'COMMAND FOO',
    ]) {
      await same3(argv(l));
    }
    const names = allCommands()
      .filter((c) => c.spec && c.handling !== Handling.NotAllow && !c.subcommands)
      .filter((c) => !c.parent || c.parent.handling !== Handling.NotAllow)
      .map((c) => c.spec!.name);
    await same3([B('COMMAND'), B('INFO'), ...names.map(B)]);
    await same3([B('COMMAND'), B('DOCS'), ...names.map(B)]);
    // Containers: Redis orders subcommands randomly, so each accepted one is looked for.
    for (const name of ['xinfo', 'object', 'client']) {
      for (const what of ['INFO', 'DOCS']) {
        const ours = commandReply(argv(`COMMAND ${what} ${name}`), 3).toString('latin1');
        for (const sub of must(name).subcommands!.values()) {
          const one = await conn.send([argv(`COMMAND ${what} ${sub.spec!.name}`)]);
          const body = one.slice(4); // drop the `*1\r\n` / `%1\r\n` header
          assert.equal(ours.includes(body), sub.handling !== Handling.NotAllow, `${what} ${sub.name}`);
        }
      }
    }
    const all = commandReply(argv('COMMAND'), 3);
    assert.ok(all.subarray(0, 12).toString().startsWith('*'), 'COMMAND is an array of entries');
    assert.equal(commandReply(argv('COMMAND DOCS'), 3)[0], 0x25, 'COMMAND DOCS is a map');
  } finally {
    conn.close();
  }
});

test('COMMAND COUNT and LIST cover exactly the accepted commands', async () => {
  const count = Number(commandReply(argv('COMMAND COUNT')).toString().slice(1));
  assert.equal(count, acceptedCommandCount());
  const redisCount = Number((await call(argv('COMMAND COUNT'))).toString().slice(1));
  assert.ok(count < redisCount && count > 150, `${count} of ${redisCount}`);
  const all = commandReply(argv('COMMAND'));
  assert.ok(all.toString().startsWith(`*${count}\r\n`));
  assert.deepEqual(commandReply(argv('COMMAND INFO')), all);
  const listed = (b: Buffer) =>
    b
      .toString()
      .split('\r\n')
      .filter((l, i) => i % 2 === 0 && i > 0 && l !== '');
  const ours = new Set(listed(commandReply(argv('COMMAND LIST'))));
  const theirs = new Set(listed(await call(argv('COMMAND LIST'))));
  for (const n of ours) assert.ok(theirs.has(n) || n.startsWith('slots'), n);
  assert.ok(ours.has('get') && ours.has('client|setname') && ours.has('slotsmapping'));
  assert.ok(ours.has('blpop') && ours.has('client|pause') && !ours.has('module|load'));
  assert.ok(ours.has('config|get') && ours.has('config|set') && ours.has('script|kill'));
  for (const filter of [
    'FILTERBY PATTERN *ea?*',
    'FILTERBY PATTERN x[a-f]*',
    'FILTERBY ACLCAT hyperloglog',
  ]) {
    const mine = listed(commandReply(argv('COMMAND LIST ' + filter))).sort();
    const want = listed(await call(argv('COMMAND LIST ' + filter))).filter((n) => ours.has(n));
    assert.deepEqual(mine, want.sort(), filter);
  }
  assert.equal(commandReply(argv('COMMAND LIST FILTERBY MODULE x')).toString(), '*0\r\n');
});

// Command lines whose keys Redis's COMMAND GETKEYS reports; compared with ours and with collectKeys.
const GETKEYS_LINES = [
  'get k',
  'set k v',
  'set k v get',
  'mget a b c',
  'mset a 1 b 2',
  'del a b c',
  'unlink a b',
  'exists a b',
  'touch a b',
  'eval s 2 a b x',
  'evalsha sha 1 a x',
  'eval_ro s 1 a',
  'fcall f 2 a b x',
  'fcall_ro f 1 a',
  'zunionstore d 2 a b weights 1 2',
  'zinterstore d 2 a b',
  'zdiffstore d 2 a b',
  'zunion 2 a b withscores',
  'zinter 3 a b c',
  'zdiff 2 a b',
  'sintercard 2 a b limit 3',
  'lmpop 2 a b left count 1',
  'zmpop 1 a min',
  'zintercard 2 a b',
  'xread count 1 streams s1 s2 0 0',
  'xreadgroup group g c count 1 streams s1 s2 > >',
  'xreadgroup group g c noack streams s1 >',
  'georadius k 0 0 1 km store d',
  'georadius k 0 0 1 km storedist d',
  'georadiusbymember k m 1 km store d',
  'georadius_ro k 0 0 1 km',
  'geosearchstore d s frommember m byradius 1 km',
  'sort k',
  'sort k by w_* limit 0 10 get # store d',
  'sort k store d',
  'sort_ro k by w_*',
  'object encoding k',
  'memory usage k',
  'xinfo stream k',
  'xinfo groups k',
  'xgroup create k g $',
  'bitop and d a b',
  'rename a b',
  'renamenx a b',
  'msetnx a 1 b 2',
  'lmove a b left right',
  'smove a b m',
  'copy a b',
  'zrangestore d s 0 -1',
  'pfmerge d a b',
  'pfcount a b',
  'sdiff a b',
  'sunionstore d a b',
  'rpoplpush a b',
  'lcs a b',
  'hset h f v',
  'expire k 10',
  'bitfield k get u8 0',
  'bitfield k set u8 0 1',
  'bitfield_ro k get u8 0',
  'hscan h 0',
  'spop k',
  'restore k 0 payload',
  'xadd s * f v',
  'getex k persist',
];

test('collectKeys agrees with COMMAND GETKEYS of redis-server', async () => {
  for (const line of GETKEYS_LINES) {
    const reply = (await call(argv('COMMAND GETKEYS ' + line))).toString();
    assert.ok(reply.startsWith('*'), `${line}: ${reply}`);
    const redisKeys = reply.split('\r\n').filter((_, i) => i >= 2 && i % 2 === 0 && _ !== '');
    assert.deepEqual(keysOf(line), redisKeys, line);
  }
});

test('COMMAND GETKEYS and GETKEYSANDFLAGS replies are byte-identical', async () => {
  const errors = [
    'get a b',
    'nosuch a',
    'zunionstore d 0 a',
    'eval s 0',
    'eval s 3 a',
    'xread count 1 foo bar',
    'object help',
    'client setname x',
    'ping x',
    'lmpop 0 a left',
    'object encoding',
    'xread streams a b c',
  ];
  for (const line of [...GETKEYS_LINES, ...errors]) {
    await same('COMMAND GETKEYS ' + line);
    await same('COMMAND GETKEYSANDFLAGS ' + line);
  }
});
