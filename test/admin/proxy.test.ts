// codis-admin --proxy against real codis-proxy processes and a real redis-server: the overview and
// its parts, every action, xauth with --auth, and an offline proxy brought up with --fillslots and
// --start.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { evenSlots, startProxy, type ProxyProcess } from '../helpers/proxy.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { rpc } from '../../src/utils/rpc.js';
import { admin, adminOk, lastLine } from './cli.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'codis-admin-proxy-'));
});
after(() => rm(dir, { recursive: true, force: true }));

describe('proxy mode on an online proxy', () => {
  let redis: RedisServer;
  let proxy: ProxyProcess;
  let P: string;
  before(async () => {
    redis = await startRedis();
    proxy = await startProxy({ backends: [redis.addr] });
    P = `--proxy=${proxy.admin}`;
  });
  after(async () => {
    await proxy.stop();
    await redis.stop();
  });

  it('prints the overview as 4-space JSON', async () => {
    const out = await adminOk(P);
    assert.match(out, /^\{\n {4}"version": /);
    const o = JSON.parse(out) as Record<string, unknown>;
    for (const k of ['version', 'compile', 'config', 'model', 'stats', 'slots']) assert.ok(k in o, k);
  });

  it('model: product, token and addresses', async () => {
    const m = JSON.parse(await adminOk(P, 'model')) as Record<string, unknown>;
    assert.equal(m.product_name, 'test');
    assert.equal(m.admin_addr, proxy.admin);
    assert.equal(m.proxy_addr, `127.0.0.1:${proxy.port}`);
    assert.match(String(m.token), /^[0-9a-f]{32}$/);
  });

  it('stats: online, ops, sessions, rusage, backend', async () => {
    const s = JSON.parse(await adminOk(P, 'stats')) as Record<string, unknown>;
    assert.equal(s.online, true);
    assert.equal(s.closed, false);
    for (const k of ['sentinels', 'ops', 'sessions', 'rusage', 'backend'])
      assert.equal(typeof s[k], 'object', k);
    assert.equal(typeof (s.ops as { total: unknown }).total, 'number');
  });

  it('slots: 1024 entries routed to the backend', async () => {
    const slots = JSON.parse(await adminOk(P, 'slots')) as { id: number; backend_addr?: string }[];
    assert.equal(slots.length, 1024);
    assert.deepEqual(
      slots.map((s) => s.id),
      [...Array(1024).keys()],
    );
    assert.ok(slots.every((s) => s.backend_addr === redis.addr));
  });

  it('config: the proxy config without secrets', async () => {
    const c = JSON.parse(await adminOk(P, 'config')) as Record<string, unknown>;
    assert.equal(c.product_name, 'test');
    assert.equal(c.product_auth, undefined);
  });

  it('--reset-stats, --forcegc and --log-level print nothing and succeed', async () => {
    const client = await proxy.connect();
    await client.call('SET', 'k', 'v');
    client.close();
    assert.equal(await adminOk(P, '--reset-stats'), '');
    const s = (await rpc.get<{ ops: { total: number } }>(proxy.admin, '/proxy/stats')).ops;
    assert.equal(s.total, 0);
    assert.equal(await adminOk(P, '--forcegc'), '');
    assert.equal(await adminOk(P, '--log-level=warning'), '');
    assert.equal(await adminOk(P, '--log-level', 'info', '-v'), '');
  });

  it('a wrong --auth fails the xauth check: one line, exit 1', async () => {
    const r = await admin(P, '--auth=wrong', '--start');
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `codis-admin: call rpc xping to proxy ${proxy.admin} failed: [Remote Error] invalid xauth, please check product name & auth\n`,
    );
  });

  it('-v logs each call on stderr', async () => {
    const r = await admin('-v', P, '--forcegc');
    assert.equal(r.code, 0);
    assert.match(r.stderr, /call rpc model to proxy .*\n.*call rpc model OK\n.*call rpc xping/);
    assert.match(r.stderr, /call rpc forcegc OK/);
  });
});

describe('proxy mode on an offline proxy with product_auth', () => {
  let redis: RedisServer;
  let proxy: ProxyProcess;
  let P: string;
  before(async () => {
    redis = await startRedis({ password: 'secret' });
    proxy = await startProxy({ offline: true, config: { product_auth: 'secret' } });
    P = `--proxy=${proxy.admin}`;
  });
  after(async () => {
    await proxy.stop();
    await redis.stop();
  });

  it('starts offline', async () => {
    const s = JSON.parse(await adminOk(P, 'stats')) as { online: boolean };
    assert.equal(s.online, false);
  });

  it('--fillslots --locked marks every given slot locked', async () => {
    const file = join(dir, 'locked.json');
    await writeFile(file, JSON.stringify([{ id: 7, backend_addr: redis.addr }]));
    assert.equal(await adminOk(P, '--auth=secret', `--fillslots=${file}`, '--locked'), '');
    const slots = JSON.parse(await adminOk(P, 'slots')) as { id: number; locked?: boolean }[];
    assert.equal(slots[7]!.locked, true);
    assert.equal(slots[8]!.locked, undefined);
  });

  it('--fillslots then --start bring it online and serving', async () => {
    const file = join(dir, 'slots.json');
    await writeFile(file, JSON.stringify(evenSlots([redis.addr])));
    assert.equal(await adminOk(P, '-a', 'secret', `--fillslots=${file}`), '');
    const slots = JSON.parse(await adminOk(P, 'slots')) as { backend_addr?: string; locked?: boolean }[];
    assert.ok(slots.every((s) => s.backend_addr === redis.addr && !s.locked));
    assert.equal(await adminOk(P, '--auth=secret', '--start'), '');
    assert.equal((JSON.parse(await adminOk(P, 'stats')) as { online: boolean }).online, true);
    const c = await proxy.connect();
    try {
      assert.equal(await c.call('SET', 'admin-key', 'v1'), 'OK');
      assert.equal(String(await c.call('GET', 'admin-key')), 'v1');
    } finally {
      c.close();
    }
    assert.equal(String(await redis.call('GET', 'admin-key')), 'v1');
  });

  it('a bad --fillslots file fails before any call', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(file, JSON.stringify([{ id: 1024 }]));
    const r = await admin(P, '--auth=secret', `--fillslots=${file}`, '-v');
    assert.equal(r.code, 1);
    assert.match(lastLine(r.stderr), /decode slots from .* failed: .*id must be an integer in 0\.\.1023/);
    assert.doesNotMatch(r.stderr, /call rpc/);
    const missing = await admin(P, `--fillslots=${join(dir, 'nope.json')}`);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /load slots from file .* failed/);
  });

  it('--shutdown stops the proxy', async () => {
    assert.equal(await adminOk(P, '--auth=secret', '--shutdown'), '');
    assert.equal(await proxy.exited, 0);
    const r = await admin(P, 'model');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^codis-admin: call rpc overview to proxy .* failed: .*ECONNREFUSED/);
  });
});
