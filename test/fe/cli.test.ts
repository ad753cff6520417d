// The codis-fe command line: bad arguments exit non-zero with a message; a real run serves the
// list from a filesystem coordinator, writes its pidfile, and exits cleanly on SIGTERM.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsClient } from '../../src/coordinator/FsClient.js';
import { Store } from '../../src/models/Store.js';
import { VERSION } from '../../src/utils/version.js';
import { freePort } from '../helpers/ports.js';
import { ROOT, waitForPort } from '../helpers/proxy.js';

const FE_BIN = join(ROOT, 'bin/codis-fe');

function run(args: string[]): { status: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [FE_BIN, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

describe('codis-fe command line', () => {
  it('prints its version', () => {
    const r = run(['--version']);
    assert.equal(r.status, 0);
    assert.equal(r.out.trim(), VERSION);
  });

  const bad: [string, string[], RegExp][] = [
    ['no arguments', [], /missing --listen/],
    ['no product source', ['--listen=127.0.0.1:0'], /exactly one of/],
    [
      'two product sources',
      ['--listen=127.0.0.1:0', '--filesystem=/tmp/x', '--etcd=127.0.0.1:2379'],
      /exactly one of/,
    ],
    ['an unknown flag', ['--listen=127.0.0.1:0', '--filesystem=/tmp/x', '--bogus'], /unknown option/],
    ['a bad listen address', ['--listen=nowhere', '--filesystem=/tmp/x'], /invalid --listen/],
    [
      'auth without its coordinator',
      ['--listen=127.0.0.1:0', '--filesystem=/tmp/x', '--etcd-auth=a:b'],
      /--etcd-auth/,
    ],
    [
      'an assets dir without index.html',
      ['--listen=127.0.0.1:0', '--filesystem=/tmp/x', '--assets-dir=/'],
      /index\.html/,
    ],
    ['a bad log level', ['--listen=127.0.0.1:0', '--filesystem=/tmp/x', '--log-level=LOUD'], /loglevel/],
  ];
  for (const [what, args, message] of bad) {
    it(`exits non-zero on ${what}`, () => {
      const r = run(args);
      assert.equal(r.status, 2, r.err);
      assert.match(r.err, message);
    });
  }

  it('exits non-zero when the address is taken', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    const r = await new Promise<{ status: number | null; err: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        [FE_BIN, `--listen=127.0.0.1:${port}`, '--filesystem=/tmp/none'],
        {
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('exit', (status) => resolve({ status, err }));
    });
    srv.close();
    assert.equal(r.status, 1);
    assert.match(r.err, /cannot listen/);
  });

  it('serves the products of a filesystem coordinator and stops on SIGTERM', async () => {
    const root = await mkdtemp(join(tmpdir(), 'codis-fe-cli-'));
    const client = new FsClient(root);
    await new Store(client, 'demo').acquireLock({
      token: 't',
      start_time: '',
      admin_addr: '127.0.0.1:1',
      product_name: 'demo',
      pid: 1,
      pwd: '/',
      sys: '',
    });
    await client.close();
    const port = await freePort();
    const pidfile = join(root, 'fe.pid');
    const child = spawn(
      process.execPath,
      [
        FE_BIN,
        `--listen=127.0.0.1:${port}`,
        `--filesystem=${root}`,
        `--pidfile=${pidfile}`,
        '--log-level=WARN',
      ],
      { stdio: 'ignore' },
    );
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    try {
      await waitForPort(port);
      assert.equal((await readFile(pidfile, 'utf8')).trim(), String(child.pid));
      const list = await fetch(`http://127.0.0.1:${port}/list`);
      assert.deepEqual(await list.json(), ['demo']);
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      assert.equal(existsSync(pidfile), false, 'pidfile removed at exit');
    } finally {
      child.kill('SIGKILL');
      await rm(root, { recursive: true, force: true });
    }
  });
});
