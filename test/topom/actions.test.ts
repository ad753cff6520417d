// The slot action state machine (§4.4) that the migration worker drives, run in-process on the
// filesystem coordinator with a real proxy: prepare (pending → migrating), complete (→ target).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsClient } from '../../src/coordinator/index.js';
import { defaultDashboardConfig } from '../../src/topom/Config.js';
import { Topom } from '../../src/topom/Topom.js';
import { HttpError } from '../../src/utils/http.js';
import { createLogger } from '../../src/utils/log.js';
import { startProxy, type ProxyProcess } from '../helpers/proxy.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';

const PRODUCT = 'actions';

describe('slot action steps', { timeout: 60_000 }, () => {
  let root: string;
  let t: Topom;
  let servers: RedisServer[];
  let proxy: ProxyProcess;

  const proxySlot = async (sid: number) => {
    const slots = (await (await fetch(`http://${proxy.admin}/proxy/slots`)).json()) as Record<
      string,
      unknown
    >[];
    return slots[sid]!;
  };
  const stored = async (sid: number) => (await t.store.loadSlotMapping(sid)).action.state ?? '';

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'codis-actions-'));
    servers = await Promise.all([startRedis(), startRedis()]);
    const config = { ...defaultDashboardConfig(), product_name: PRODUCT, coordinator_addr: root };
    t = new Topom({
      config,
      client: new FsClient(root),
      log: createLogger({ level: 'NONE' }),
      migrate: false,
    });
    t.setAdminAddr('127.0.0.1:1');
    await t.start();
    for (const [i, s] of servers.entries()) {
      await t.groups.create(i + 1);
      await t.groups.addServer(i + 1, s.addr);
    }
    proxy = await startProxy({ offline: true, args: ['--product_name', PRODUCT] });
    await t.proxies.create(proxy.admin);
    await t.slots.assign([{ id: 3, group_id: 1 }], false);
  });

  after(async () => {
    await t?.close();
    await proxy?.kill();
    await Promise.all(servers.map((s) => s.stop()));
    await rm(root, { recursive: true, force: true });
  });

  it('prepare takes a pending action to migrating; proxies route to the target with migrate_from', async () => {
    await t.slots.createAction(3, 2);
    assert.equal(await stored(3), 'pending');
    assert.equal(await t.actions.prepare(3), 'migrating');
    assert.equal(await stored(3), 'migrating');
    const s = await proxySlot(3);
    assert.equal(s.backend_addr, servers[1]!.addr);
    assert.equal(s.migrate_from, servers[0]!.addr);
    assert.equal(s.locked ?? false, false);
    await assert.rejects(t.slots.removeAction(3), (e: unknown) => e instanceof HttpError && e.status === 409);
  });

  it('complete moves the slot to its target and clears the action', async () => {
    await t.actions.complete(3);
    const m = await t.store.loadSlotMapping(3);
    assert.deepEqual(m, { id: 3, group_id: 2, action: {} });
    const s = await proxySlot(3);
    assert.equal(s.backend_addr, servers[1]!.addr);
    assert.equal(s.migrate_from, undefined);
    await assert.rejects(t.actions.complete(3), (e: unknown) => e instanceof HttpError && e.status === 409);
  });

  it('an unreachable proxy leaves the slot preparing, with proxies unlocked; removing it lets it go on', async () => {
    await t.slots.createAction(3, 1);
    await proxy.kill();
    await assert.rejects(t.actions.prepare(3), (e: unknown) => e instanceof HttpError && e.status === 502);
    assert.equal(await stored(3), 'preparing');
    const [token] = (await t.store.listProxy()).keys();
    await t.proxies.remove(token!, true);
    assert.equal(await t.actions.prepare(3), 'migrating');
    await t.actions.complete(3);
    assert.equal((await t.store.loadSlotMapping(3)).group_id, 1);
  });
});
