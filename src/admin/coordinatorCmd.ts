/**
 * Coordinator mode (reference §8.3, §4.12): codis-admin talks to the store directly, with
 * `--zookeeper=ADDR [--zookeeper-auth]`, `--etcd=ADDR [--etcd-auth]` or `--filesystem=ROOT`:
 * `--remove-lock`, `--config-dump [-1]`, `--config-convert`, `--config-restore [--confirm]` and
 * `--dashboard-list`.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { baseName, type Client } from '../coordinator/Client.js';
import { FsClient } from '../coordinator/FsClient.js';
import { encodeConfigV3, type ConfigV3 } from '../models/ConfigV3.js';
import { CodisDir, decodeTopom, lockPath, Store } from '../models/Store.js';
import type { ArgReader } from './args.js';
import { AdminError } from './client.js';
import { checkConfigV3, convertConfigV1 } from './configFile.js';
import { debug, jsonText, type Io } from './output.js';

/** Per-call deadline and ZooKeeper session timeout of the admin's coordinator client. */
const COORDINATOR_TIMEOUT_MS = 10_000;
/** Slot nodes written at once by a restore. */
const RESTORE_BATCH = 32;

/**
 * Opens the coordinator the flags name. `mustExist`: a filesystem root must already be there. The
 * etcd and ZooKeeper clients are imported only when used (their libraries are slow to load).
 */
export async function openCoordinator(a: ArgReader, io: Io, mustExist = true): Promise<Client> {
  let client: Client;
  if (a.has('--zookeeper') || a.has('--etcd')) {
    const { newClient } = await import('../coordinator/index.js');
    client = a.has('--zookeeper')
      ? newClient('zookeeper', a.must('--zookeeper'), a.str('--zookeeper-auth'), COORDINATOR_TIMEOUT_MS)
      : newClient('etcd', a.must('--etcd'), a.str('--etcd-auth'), COORDINATOR_TIMEOUT_MS);
  } else {
    const root = a.must('--filesystem');
    if (mustExist && !existsSync(root)) throw new AdminError(`filesystem root ${root} does not exist`);
    client = new FsClient(root);
  }
  debug(io, `coordinator ${client.name} at ${client.addr}`);
  return client;
}

async function withStore(a: ArgReader, io: Io, mustExist: boolean, fn: (s: Store) => Promise<void>) {
  const product = a.must('--product');
  const client = await openCoordinator(a, io, mustExist);
  try {
    await fn(new Store(client, product));
  } finally {
    await client.close().catch(() => undefined);
  }
}

export async function coordinatorMain(a: ArgReader, io: Io): Promise<void> {
  if (a.has('--config-convert')) {
    const file = a.must('--config-convert');
    io.out(`${encodeConfigV3(convertConfigV1(await readJsonFile(file))).toString('utf8')}\n`);
  } else if (a.has('--remove-lock')) {
    await withStore(a, io, true, async (s) => {
      debug(io, `force remove-lock ${lockPath(s.product)}`);
      await s.releaseLock();
    });
  } else if (a.has('--config-dump')) {
    await withStore(a, io, true, async (s) => {
      if (a.has('-1')) io.out(jsonText(await dumpConfigV1(s.client, s.product)));
      else io.out(`${encodeConfigV3(await dumpConfigV3(s)).toString('utf8')}\n`);
    });
  } else if (a.has('--config-restore')) {
    const file = a.must('--config-restore');
    const config = checkConfigV3(await readFileOrFail(file));
    if (!a.has('--confirm')) {
      io.out(`${encodeConfigV3(config).toString('utf8')}\n`);
      return;
    }
    await withStore(a, io, false, (s) => restore(s, config, io));
  } else {
    const client = await openCoordinator(a, io);
    try {
      io.out(jsonText(await dashboardList(client)));
    } finally {
      await client.close().catch(() => undefined);
    }
  }
}

async function readFileOrFail(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (e) {
    throw new AdminError(`read file '${file}' failed: ${(e as Error).message}`);
  }
}

async function readJsonFile(file: string): Promise<unknown> {
  const data = await readFileOrFail(file);
  try {
    return JSON.parse(data.toString('utf8')) as unknown;
  } catch (e) {
    throw new AdminError(`json unmarshal of '${file}' failed: ${(e as Error).message}`);
  }
}

/** ConfigV3 of a product: 1024 slots, groups and proxies by id (no sentinel, no lock). */
export async function dumpConfigV3(s: Store): Promise<ConfigV3> {
  const group = [...(await s.listGroup()).values()].sort((a, b) => a.id - b.id);
  const proxy = [...(await s.listProxy()).values()].sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
  if (group.length === 0 && proxy.length === 0)
    throw new AdminError(`can't find product = ${s.product} [v3]`);
  return { slots: await s.slotMappings(), group, proxy };
}

/** The Codis 1.x/2.x tree `/zk/codis/db_{product}` as nested JSON (leaves decoded, empty ones null). */
export async function dumpConfigV1(client: Client, product: string): Promise<unknown> {
  const walk = async (path: string): Promise<unknown> => {
    const kids = await client.list(path);
    if (kids.length > 0) {
      const out: Record<string, unknown> = {};
      for (const kid of kids) out[baseName(kid)] = await walk(kid);
      return out;
    }
    const data = await client.read(path);
    if (data === null || data.length === 0) return null;
    try {
      return JSON.parse(data.toString('utf8')) as unknown;
    } catch (e) {
      throw new AdminError(`json unmarshal of ${path} failed: ${(e as Error).message}`);
    }
  };
  const tree = await walk(`/zk/codis/db_${product}`);
  if (typeof tree !== 'object' || tree === null) throw new AdminError(`can't find product = ${product} [v1]`);
  return tree;
}

/** Writes a checked config into an empty product: slots, then groups, then proxies. */
async function restore(s: Store, config: ConfigV3, io: Io): Promise<void> {
  const [groups, proxies] = await Promise.all([s.listGroup(), s.listProxy()]);
  if (groups.size > 0 || proxies.size > 0) throw new AdminError(`product ${s.product} is not empty`);
  // Slots in parallel batches (1024 writes); then groups, then proxies, as Codis orders them.
  const slots = config.slots ?? [];
  for (let i = 0; i < slots.length; i += RESTORE_BATCH) {
    await Promise.all(
      slots.slice(i, i + RESTORE_BATCH).map((m) =>
        s.updateSlotMapping(m).catch((e: Error) => {
          throw new AdminError(`restore slot-${String(m.id).padStart(4, '0')} failed: ${e.message}`);
        }),
      ),
    );
  }
  for (const g of config.group ?? []) {
    await s.updateGroup(g).catch((e: Error) => {
      throw new AdminError(`restore group-${String(g.id).padStart(4, '0')} failed: ${e.message}`);
    });
  }
  for (const p of config.proxy ?? []) {
    await s.updateProxy(p).catch((e: Error) => {
      throw new AdminError(`restore proxy-${p.token} failed: ${e.message}`);
    });
  }
  const lock = await s.loadLock().catch(() => null);
  if (lock) {
    io.err(
      `codis-admin: note: the dashboard at ${lock.admin_addr} owns product ${s.product}; ` +
        `run codis-admin --dashboard=${lock.admin_addr} --reload so that it reads the restored config\n`,
    );
  }
}

/** `[{name, dashboard}]` for every product under /codis3; dashboard = the lock holder's admin_addr or "". */
export async function dashboardList(client: Client): Promise<{ name: string; dashboard: string }[]> {
  const out: { name: string; dashboard: string }[] = [];
  for (const path of await client.list(CodisDir)) {
    const name = baseName(path);
    const data = await client.read(`${path}/topom`);
    let dashboard = '';
    if (data !== null) {
      try {
        dashboard = decodeTopom(data).admin_addr;
      } catch (e) {
        throw new AdminError(`decode topom of product ${name} failed: ${(e as Error).message}`);
      }
    }
    out.push({ name, dashboard });
  }
  return out;
}
