/**
 * The codis-proxy command line: --default-config, --version, config and --fillslots errors (exit 2, one
 * stderr line naming the problem), --pidfile, SIGTERM, and the overrides of the config file.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROXY_BIN, ROOT, startProxy, type ProxyProcess } from '../helpers/proxy.js';
import { runNode, type RunResult } from '../helpers/run.js';
import { RedisError } from '../helpers/resp-client.js';
import { startRedis } from '../helpers/redis.js';
import { proxyXAuth } from '../../src/utils/xauth.js';

let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'codis-proxy-cli-'));
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Runs bin/codis-proxy to completion; a process still running after `ms` is killed and fails the test. */
const run = (args: string[], ms = 20_000): Promise<RunResult> => runNode(PROXY_BIN, args, ms);

let n = 0;
/** A config file on loopback ports chosen by the OS (in case it ever starts); `extra` lines win. */
function configFile(...extra: string[]): string {
  const file = join(dir, `proxy-${++n}.toml`);
  const keyOf = (l: string) => l.split('=')[0]!.trim();
  const base = ['product_name = "cli"', 'proxy_addr = "127.0.0.1:0"', 'admin_addr = "127.0.0.1:0"'];
  const lines = [...base.filter((b) => !extra.some((e) => keyOf(e) === keyOf(b))), ...extra];
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

function stderrLines(r: RunResult): string[] {
  return r.stderr.split('\n').filter((l) => l.trim() !== '');
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function getJson(p: ProxyProcess, path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://${p.admin}${path}`, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body };
}

/** Resolves true when something can bind 127.0.0.1:port right now. */
function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

test('--default-config prints the TOML of config/proxy.toml and exits 0', async () => {
  const r = await run(['--default-config']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, readFileSync(join(ROOT, 'config/proxy.toml'), 'utf8'));
});

let versionRun: Promise<RunResult> | undefined;
const version = () => (versionRun ??= run(['--version']));

test('--version prints the version and exits 0', async () => {
  const r = await version();
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout.trim(), /^\d+\.\d+\.\d+\S*$/);
});

test('a bad config value → exit 2 and one stderr line naming the key', async () => {
  const cases = [
    ['backend_ping_period = "5x"', 'backend_ping_period'],
    ['proxy_max_clients = -1', 'proxy_max_clients'],
    ['proto_type = "udp"', 'proto_type'],
    ['product_name = "two words"', 'product_name'],
  ] as const;
  const runs = await Promise.all(cases.map(([line]) => run(['--config', configFile(line)])));
  cases.forEach(([line, key], i) => {
    const r = runs[i]!;
    assert.equal(r.code, 2, `${line}: ${r.stderr}`);
    const lines = stderrLines(r);
    assert.equal(lines.length, 1, `${line}: ${r.stderr}`);
    assert.ok(lines[0]!.includes(key), `${line}: ${r.stderr}`);
  });
});

test('--ncpu outside 1..64 → exit 2 and one stderr line saying the range', async () => {
  const values = ['0', '-1', '1.5', 'abc', '65', '1000'];
  const runs = await Promise.all(values.map((v) => run(['--config', configFile(), '--ncpu', v])));
  values.forEach((v, i) => {
    const r = runs[i]!;
    assert.equal(r.code, 2, `--ncpu ${v}: ${r.stderr}`);
    assert.deepEqual(stderrLines(r), [
      `codis-proxy: invalid --ncpu = ${v}: want a whole number from 1 to 64`,
    ]);
  });
});

test('more workers than cores: the proxy serves and warns that they compete for the cores', async (t) => {
  const cores = availableParallelism();
  if (cores + 1 > 64) return t.skip('more than 63 cores');
  const redis = await startRedis();
  const p = await startProxy({ backends: [redis.addr], args: ['--ncpu', String(cores + 1)] });
  try {
    assert.match(p.logs(), new RegExp(`${cores + 1} worker processes on ${cores} cores: workers beyond`));
    const c = await p.connect();
    assert.equal(await c.call('SET', 'k', 'v'), 'OK');
    assert.equal(String(await redis.call('GET', 'k')), 'v');
    c.close();
  } finally {
    await p.stop();
    await redis.stop();
  }
});

test('an unreadable --config path → exit 2 naming the path', async () => {
  const paths = [join(dir, 'no-such.toml'), dir];
  const runs = await Promise.all(paths.map((path) => run(['--config', path])));
  paths.forEach((path, i) => {
    const r = runs[i]!;
    assert.equal(r.code, 2, r.stderr);
    assert.equal(stderrLines(r).length, 1, r.stderr);
    assert.ok(r.stderr.includes(path), r.stderr);
  });
});

/** The --fillslots failures, run once (in parallel) for the two tests below. */
let fillslotsRuns: Promise<{ files: Record<string, string>; runs: Record<string, RunResult> }> | undefined;
function fillslotsFailures() {
  return (fillslotsRuns ??= (async () => {
    const files: Record<string, string> = {
      truncated: join(dir, 'truncated.json'),
      badId: join(dir, 'bad-id.json'),
      multiLine: join(dir, 'multi-line.json'),
      missing: join(dir, 'missing.json'),
    };
    writeFileSync(files.truncated!, '[\n  {"id": 0, "backend_addr": "127.0.0.1:6379"},\n  {"id": 1,\n');
    writeFileSync(files.badId!, JSON.stringify([{ id: 5000, backend_addr: '127.0.0.1:6379' }]));
    writeFileSync(files.multiLine!, '[\n  {"id": 0},\n  oops\n]\n');
    const names = Object.keys(files);
    const done = await Promise.all(
      names.map((k) => run(['--config', configFile(), '--fillslots', files[k]!])),
    );
    return { files, runs: Object.fromEntries(names.map((k, i) => [k, done[i]!])) };
  })());
}

test('--fillslots with a malformed, invalid or missing file → exit 2 naming the file', async () => {
  const { files, runs } = await fillslotsFailures();
  for (const [k, r] of Object.entries(runs)) {
    assert.equal(r.code, 2, `${k}: ${r.stderr}`);
    assert.ok(r.stderr.includes(files[k]!), r.stderr);
  }
  assert.match(runs.badId!.stderr, /5000/);
});

test('a fatal --fillslots error is one stderr line, like config errors', async () => {
  const { runs } = await fillslotsFailures();
  for (const [k, r] of Object.entries(runs)) {
    assert.equal(stderrLines(r).length, 1, `${k}: stderr was:\n${r.stderr}`);
  }
});

test('--pidfile is written while running; SIGTERM → exit 0, pidfile removed, ports released', async () => {
  const pidfile = join(dir, 'proxy.pid');
  const p = await startProxy({ args: ['--pidfile', pidfile] });
  assert.equal(readFileSync(pidfile, 'utf8').trim(), String(p.child.pid));
  const c = await p.connect({ timeoutMs: 5000 });
  assert.equal(await c.call('PING'), 'PONG');
  p.child.kill('SIGTERM');
  assert.equal(await p.exited, 0);
  await c.waitClosed(5000);
  assert.equal(existsSync(pidfile), false, 'pidfile removed');
  assert.equal(await canBind(p.port), true, 'proxy port released');
  assert.equal(await canBind(p.adminPort), true, 'admin port released');
});

test('a port in use → exit 1 naming it, and no pidfile left behind', async () => {
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const port = (taken.address() as net.AddressInfo).port;
  try {
    const pidfile = join(dir, 'busy.pid');
    const r = await run(['--config', configFile(`proxy_addr = "127.0.0.1:${port}"`), '--pidfile', pidfile]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`cannot listen: .*${port}`));
    assert.equal(existsSync(pidfile), false, 'pidfile removed');
    // Workers that accept on the port themselves: the primary binds it, and fails the same way.
    const shared = configFile(`proxy_addr = "127.0.0.1:${port}"`, 'proxy_accept = "workers"');
    const w = await run(['--config', shared, '--ncpu', '2']);
    assert.equal(w.code, 1, w.stderr);
    assert.match(w.stderr, new RegExp(`cannot listen: listen tcp4 127.0.0.1:${port}: EADDRINUSE`));
  } finally {
    taken.close();
  }
});

test("a second proxy given a running one's pidfile → exit 1, and the first keeps its pidfile", async () => {
  const pidfile = join(dir, 'first.pid');
  const first = await startProxy({ args: ['--pidfile', pidfile] });
  try {
    const r = await run(['--config', configFile(), '--pidfile', pidfile]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`names process ${first.child.pid}, which is running`));
    assert.equal(readFileSync(pidfile, 'utf8').trim(), String(first.child.pid));
  } finally {
    await first.stop();
  }
  assert.equal(existsSync(pidfile), false, 'removed when the first one stopped');
});

test('--product_name, --product_auth, --session_auth and --host-proxy override the config file', async () => {
  const p = await startProxy({
    config: { session_auth: 'from-file', product_auth: 'from-file' },
    args: ['--product_name', 'other', '--product_auth', 'pa-flag', '--session_auth', 'sa-flag'].concat(
      ['--host-proxy', '10.1.2.3'], // advertised only: never connected to
    ),
  });
  try {
    const model = (await getJson(p, '/api/proxy/model')).body;
    assert.equal(model.product_name, 'other');
    assert.equal(model.proxy_addr, `10.1.2.3:${p.port}`);
    assert.equal(model.admin_addr, p.admin);
    const overview = (await getJson(p, '/proxy')).body;
    assert.equal(overview.config.product_name, 'other');
    assert.equal((await version()).stdout.trim(), overview.version);

    const good = proxyXAuth('other', 'pa-flag', model.token);
    assert.equal((await getJson(p, `/api/proxy/xping/${good}`)).status, 200);
    const fromFile = proxyXAuth('test', 'from-file', model.token);
    assert.equal((await getJson(p, `/api/proxy/xping/${fromFile}`)).status, 403);

    const c = await p.connect({ timeoutMs: 5000 });
    const noauth = await c.call('PING');
    assert.ok(noauth instanceof RedisError && noauth.code === 'NOAUTH', String(noauth));
    assert.ok((await c.call('AUTH', 'from-file')) instanceof RedisError, 'the file value no longer works');
    assert.equal(await c.call('AUTH', 'sa-flag'), 'OK');
    assert.equal(await c.call('PING'), 'PONG');
    c.destroy();
  } finally {
    await p.stop();
  }
});
