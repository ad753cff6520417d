import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, freePorts } from './ports.js';
import { startRedis, withRedis } from './redis.js';
import {
  encodeCommand,
  RedisError,
  RespClient,
  RespParser,
  RespProtocolError,
  toText,
  type Reply,
} from './resp-client.js';

/** Alive and not a zombie (PID 1 here may not reap orphans). */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function waitDead(pid: number, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (isAlive(pid)) {
    if (Date.now() > deadline) assert.fail(`pid ${pid} still alive`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const SAMPLE = Buffer.from(
  '+OK\r\n-ERR unknown command\r\n:42\r\n:-7\r\n$5\r\nhello\r\n$-1\r\n$0\r\n\r\n$4\r\na\r\nb\r\n*-1\r\n*0\r\n' +
    '*3\r\n$1\r\nx\r\n*2\r\n:1\r\n*1\r\n$-1\r\n-WRONGTYPE bad\r\n+\r\n',
);
const SAMPLE_REPLIES: Reply[] = [
  'OK',
  new RedisError('ERR unknown command'),
  42,
  -7,
  Buffer.from('hello'),
  null,
  Buffer.alloc(0),
  Buffer.from('a\r\nb'),
  null,
  [],
  [Buffer.from('x'), [1, [null]], new RedisError('WRONGTYPE bad')],
  '',
];

test('RespParser decodes every RESP2 type, whatever the chunking', () => {
  const whole = new RespParser().feed(SAMPLE);
  assert.deepEqual(whole, SAMPLE_REPLIES);
  const e = whole[1] as RedisError;
  assert.ok(e instanceof RedisError && e.code === 'ERR' && e.message === 'ERR unknown command');
  for (const size of [1, 2, 3, 5, 7, 13]) {
    const p = new RespParser();
    const got: Reply[] = [];
    for (let i = 0; i < SAMPLE.length; i += size) got.push(...p.feed(SAMPLE.subarray(i, i + size)));
    assert.deepEqual(got, SAMPLE_REPLIES, `chunk size ${size}`);
    assert.ok(p.idle);
  }
});

test('RespParser rejects malformed input', () => {
  for (const bad of ['?x\r\n', ':12a\r\n', '$-2\r\n', '$3\r\nabcd\r\n', '*-5\r\n', '$x\r\n']) {
    assert.throws(() => new RespParser().feed(Buffer.from(bad)), RespProtocolError, bad);
  }
});

test('encodeCommand', () => {
  assert.equal(
    encodeCommand(['SET', Buffer.from('k'), 12]).toString(),
    '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n12\r\n',
  );
});

test('freePort(s): distinct ports below the ephemeral range, none given twice', async () => {
  const [ephemeral] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
  const ports = [...(await freePorts(5)), await freePort(), await freePort()];
  assert.equal(new Set(ports).size, 7);
  for (const p of ports) assert.ok(p >= 1024 && p < Number(ephemeral), `port ${p}`);
});

test('startRedis: commands, pipeline, raw, errors, big values, stop leaves nothing', async () => {
  const r = await startRedis();
  try {
    assert.equal(r.addr, `127.0.0.1:${r.port}`);
    assert.ok(isAlive(r.pid));
    assert.equal(await r.call('SET', 'k', 'v'), 'OK');
    assert.deepEqual(await r.call('GET', 'k'), Buffer.from('v'));
    assert.equal(await r.call('GET', 'missing'), null);
    assert.equal(await r.call('INCRBY', 'n', 5), 5);
    const err = await r.call('NOSUCHCMD');
    assert.ok(err instanceof RedisError && /unknown command/.test(err.message));
    assert.deepEqual(toText(await r.call('CONFIG', 'GET', 'save')), ['save', '']);
    assert.deepEqual(toText(await r.call('CONFIG', 'GET', 'appendonly')), ['appendonly', 'no']);

    const c = await r.connect();
    assert.deepEqual(
      await c.pipeline([
        ['SET', 'a', '1'],
        ['GET', 'a'],
        ['LPUSH', 'a', 'x'],
        ['MGET', 'a', 'k', 'z'],
      ]),
      [
        'OK',
        Buffer.from('1'),
        new RedisError('WRONGTYPE Operation against a key holding the wrong kind of value'),
        [Buffer.from('1'), Buffer.from('v'), null],
      ],
    );
    assert.equal(await c.callRaw('PING\r\n'), 'PONG');
    assert.deepEqual(await c.callText('ECHO', 'hé'), 'hé');
    const big = Buffer.alloc(5 * 1024 * 1024, 'x');
    big[0] = 13;
    assert.equal(await c.call('SET', 'big', big), 'OK');
    assert.ok(big.equals((await c.call('GET', 'big')) as Buffer));
    const many = Array.from({ length: 20000 }, (_, i) => String(i));
    await c.call('RPUSH', 'list', ...many);
    assert.deepEqual(toText(await c.call('LRANGE', 'list', 0, -1)), many);
    // writeRaw + readReply: a command split across writes.
    c.writeRaw('*1\r\n$4\r\nPI');
    await new Promise((res) => setTimeout(res, 20));
    c.writeRaw('NG\r\n');
    assert.equal(await c.readReply(), 'PONG');
    await c.close();
    assert.ok(c.closed);
    await assert.rejects(c.call('PING'), /connection closed/);
  } finally {
    await r.stop();
  }
  await waitDead(r.pid, 100);
  assert.equal(existsSync(r.dir), false);
  assert.equal(r.running, false);
  await r.stop(); // idempotent
});

test('a server-side close rejects pending calls; waitClosed resolves', async () => {
  await withRedis(1, async ([r]) => {
    const c = await r!.connect();
    assert.equal(await c.call('QUIT'), 'OK');
    await c.waitClosed(2000);
    await assert.rejects(c.readReply(), /connection closed/);
    const d = await r!.connect();
    const pending = assert.rejects(d.call('BLPOP', 'nothing', 0), /connection closed/);
    assert.equal(await r!.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'), 1);
    await pending;
  });
});

test('restart keeps the port, kill + restart works, pause makes calls time out', async () => {
  const r = await startRedis();
  try {
    const { port } = r;
    const pid1 = r.pid;
    await r.call('SET', 'k', 'v');
    await r.restart();
    assert.equal(r.port, port);
    assert.notEqual(r.pid, pid1);
    await waitDead(pid1, 100);
    assert.equal(await r.call('PING'), 'PONG');
    assert.equal(await r.call('GET', 'k'), null, 'no persistence by default');

    const pid2 = r.pid;
    await r.kill();
    assert.equal(r.running, false);
    await waitDead(pid2, 100);
    await assert.rejects(RespClient.connect(port), /ECONNREFUSED/);
    await r.restart();
    assert.equal(await r.call('PING'), 'PONG');

    r.pause();
    const c = await RespClient.connect(port, '127.0.0.1', { timeoutMs: 200 });
    await assert.rejects(c.call('PING'), /timeout/);
    r.resume();
    assert.equal(await r.call('PING'), 'PONG');
    r.pause(); // stop() must still work on a paused server
  } finally {
    await r.stop();
  }
  await waitDead(r.pid, 100);
});

test('password, extra args, withRedis gives distinct servers', async () => {
  await withRedis(
    3,
    async (servers) => {
      assert.equal(new Set(servers.map((s) => s.port)).size, 3);
      for (const s of servers) {
        assert.equal(await s.call('PING'), 'PONG');
        assert.deepEqual(toText(await s.call('CONFIG', 'GET', 'maxmemory')), ['maxmemory', '10485760']);
        const anon = await RespClient.connect(s.port);
        const e = await anon.call('GET', 'x');
        assert.ok(e instanceof RedisError && e.code === 'NOAUTH');
        anon.destroy();
      }
      await assert.rejects(
        RespClient.connect(servers[0]!.port, '127.0.0.1', { password: 'wrong' }),
        RedisError,
      );
      // A replica of a password-protected master syncs (masterauth is set too).
      const [m, s] = servers as [(typeof servers)[0], (typeof servers)[0]];
      await m.call('SET', 'rk', 'rv');
      await s.call('REPLICAOF', '127.0.0.1', m.port);
      for (let i = 0; i < 200 && !Buffer.isBuffer(await s.call('GET', 'rk')); i++) {
        await new Promise((res) => setTimeout(res, 25));
      }
      assert.deepEqual(await s.call('GET', 'rk'), Buffer.from('rv'));
    },
    { password: 's3cret', args: ['--maxmemory', '10mb'] },
  );
});

test('startRedis reports a failing start with the server log', async () => {
  await assert.rejects(
    startRedis({ args: ['--no-such-option', 'x'] }),
    /exited.*no-such-option|Bad directive/s,
  );
});

test('a fixed port that is taken fails with the reason', async () => {
  await withRedis(1, async ([other]) => {
    await assert.rejects(startRedis({ port: other!.port }), /exited.*Address already in use/s);
    assert.equal(await other!.call('PING'), 'PONG');
  });
});

test('a test process that exits without stop() leaves no redis-server behind', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'codis-ts-leak-'));
  try {
    const helper = new URL('./redis.js', import.meta.url).href;
    const script = join(dir, 'child.mjs');
    // Case 1: forgets stop() and returns: the process must still exit on its own.
    // Case 2: process.exit() with a server running.
    writeFileSync(
      script,
      `import { startRedis } from ${JSON.stringify(helper)};\n` +
        `const r = await startRedis();\nconsole.log(JSON.stringify({ pid: r.pid, dir: r.dir }));\n` +
        `if (process.argv[2] === 'exit') process.exit(3);\n` +
        `if (process.argv[2] === 'signal') { process.kill(process.pid, 'SIGTERM'); setTimeout(() => {}, 5000); }\n`,
    );
    const want: Record<string, string> = { return: '0', exit: '3', signal: 'SIGTERM' };
    for (const mode of Object.keys(want)) {
      const child = spawn(process.execPath, [script, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      const how = await new Promise<string>((res) => child.on('exit', (c, sig) => res(String(c ?? sig))));
      assert.equal(how, want[mode], `${mode}: ${out}`);
      const { pid, dir: redisDir } = JSON.parse(out) as { pid: number; dir: string };
      await waitDead(pid);
      assert.equal(existsSync(redisDir), false);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
