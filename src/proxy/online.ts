/**
 * Bringing a proxy online by itself: ask a dashboard to add it (`--dashboard`), or first
 * find the dashboard in the coordinator (`--zookeeper`, `--etcd`, `--filesystem`).
 */
import { rpc } from '../utils/rpc.js';
import { topomXAuth } from '../utils/xauth.js';
import type { Logger } from '../utils/log.js';
import type { ProxyControl } from './ProxyControl.js';

const RETRY_MS = 3000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function onlineViaDashboard(
  proxy: ProxyControl,
  dashboard: string,
  log: Logger,
  tries = 10,
): Promise<void> {
  const product = proxy.config.product_name;
  let last = '';
  for (let i = 0; i < tries; i++) {
    if (i > 0) await sleep(RETRY_MS);
    try {
      const model = await rpc.get<{ product_name?: string }>(dashboard, '/api/topom/model', {
        timeoutMs: 5000,
      });
      if (model?.product_name !== product) {
        throw new Error(`dashboard ${dashboard} serves product '${model?.product_name}', not '${product}'`);
      }
      const path = `/api/topom/proxy/online/${topomXAuth(product)}/${proxy.model.admin_addr}`;
      await rpc.put(dashboard, path, undefined, { timeoutMs: 60_000 });
      log.info(`proxy is online through dashboard ${dashboard}`);
      return;
    } catch (e) {
      last = (e as Error).message;
      if (last.includes("not '")) throw e;
      log.warn(`online through dashboard ${dashboard} failed (try ${i + 1}/${tries}): ${last}`);
    }
  }
  throw new Error(`could not go online through dashboard ${dashboard}: ${last}`);
}

export async function onlineViaCoordinator(
  proxy: ProxyControl,
  name: string,
  addr: string,
  auth: string | undefined,
  log: Logger,
): Promise<void> {
  const { newClient } = await import('../coordinator/index.js');
  const client = newClient(name, addr, auth);
  const path = `/codis3/${proxy.config.product_name}/topom`;
  try {
    let last = '';
    for (let i = 0; i < 30; i++) {
      if (i > 0) await sleep(RETRY_MS);
      try {
        const data = await client.read(path);
        if (data === null) throw new Error(`no dashboard registered at ${name}:${path}`);
        const topom = JSON.parse(data.toString()) as { admin_addr: string };
        await onlineViaDashboard(proxy, topom.admin_addr, log, 1);
        return;
      } catch (e) {
        last = (e as Error).message;
        log.warn(`online through ${name} ${addr} failed (try ${i + 1}/30): ${last}`);
      }
    }
    throw new Error(`could not go online through ${name} ${addr}: ${last}`);
  } finally {
    await client.close();
  }
}
