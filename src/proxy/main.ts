/** `codis-proxy`: command line (Codis 3.2 flags), start-up and the ways to go online. */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { parseSlotsJson } from '../models/Slot.js';
import { fatalFor, parseDaemonFlags, removePidfile, writePidfile, type Fatal } from '../utils/cli.js';
import { ConfigError } from '../utils/config.js';
import { createLogger, type Logger } from '../utils/log.js';
import { listenHttp } from '../utils/http.js';
import { createAdminApi } from './AdminApi.js';
import {
  loadProxyConfig,
  MAX_PROXY_PROCS,
  proxyConfigToml,
  validateProxyConfig,
  type ProxyConfig,
} from './Config.js';
import cluster from 'node:cluster';
import os from 'node:os';
import { Proxy, VERSION } from './Proxy.js';
import { publicAddr } from './ClientListener.js';
import { defaultWorkers, ProxyCluster } from './ProxyCluster.js';
import { runWorker } from './ProxyWorker.js';
import { onlineViaDashboard, onlineViaCoordinator } from './online.js';

interface Flags {
  config?: string;
  log?: string;
  logLevel?: string;
  hostAdmin?: string;
  hostProxy?: string;
  dashboard?: string;
  zookeeper?: string;
  zookeeperAuth?: string;
  etcd?: string;
  etcdAuth?: string;
  filesystem?: string;
  fillslots?: string;
  ulimit?: string;
  pidfile?: string;
  product_name?: string;
  product_auth?: string;
  session_auth?: string;
  ncpu?: string;
  maxNcpu?: string;
  defaultConfig?: boolean;
}

const fatal: Fatal = fatalFor('codis-proxy');

export async function main(argv: string[]): Promise<void> {
  const program = new Command('codis-proxy')
    .description('Redis sharding proxy: one Redis endpoint over many groups of stock Redis servers')
    .option('-c, --config <file>', 'TOML config file (defaults for every key not set)')
    .option('-l, --log <file>', 'log file (default: stderr)')
    .option('--log-level <level>', 'INFO, WARN, DEBUG, ERROR or NONE', 'INFO')
    .option('--ncpu <n>', 'worker processes serving the client port, 1-64 (default: proxy_max_procs)')
    .option('--max-ncpu <n>', 'accepted for Codis compatibility')
    .option('--host-admin <addr>', 'admin address advertised to others (NAT, containers)')
    .option('--host-proxy <addr>', 'proxy address advertised to clients (NAT, containers)')
    .option('--dashboard <addr>', 'go online through this dashboard')
    .option('--zookeeper <addr>', 'find the dashboard in ZooKeeper and go online')
    .option('--zookeeper-auth <user:pwd>', 'ZooKeeper digest auth')
    .option('--etcd <addr>', 'find the dashboard in etcd and go online')
    .option('--etcd-auth <user:pwd>', 'etcd auth')
    .option('--filesystem <root>', 'find the dashboard in a filesystem coordinator and go online')
    .option('--fillslots <file>', 'static slot table (JSON array of slots); start without a dashboard')
    .option('--ulimit <n>', 'refuse to start unless the open-files limit is at least n')
    .option('--pidfile <file>', 'write the process id here; removed at exit')
    .option('--product_name <name>', 'overrides product_name')
    .option('--product_auth <auth>', 'overrides product_auth')
    .option('--session_auth <auth>', 'overrides session_auth');
  const f = parseDaemonFlags<Flags>(program, argv, VERSION);
  if (f.defaultConfig) {
    process.stdout.write(proxyConfigToml());
    return;
  }

  let config: ProxyConfig;
  try {
    config = loadProxyConfig(f.config, (w) => process.stderr.write(`codis-proxy: warning: ${w}\n`));
    if (f.product_name !== undefined) config.product_name = f.product_name;
    if (f.product_auth !== undefined) config.product_auth = f.product_auth;
    if (f.session_auth !== undefined) config.session_auth = f.session_auth;
    validateProxyConfig(config);
  } catch (e) {
    if (e instanceof ConfigError || (e as NodeJS.ErrnoException).code === 'ENOENT')
      fatal((e as Error).message, 2);
    throw e;
  }
  const modes = [f.dashboard, f.zookeeper, f.etcd, f.filesystem, f.fillslots].filter((m) => m !== undefined);
  if (modes.length > 1)
    fatal('use only one of --dashboard, --zookeeper, --etcd, --filesystem, --fillslots', 2);

  let log: Logger;
  try {
    log = createLogger({ file: f.log, level: f.logLevel, name: 'proxy' });
  } catch (e) {
    fatal((e as Error).message, 2);
  }

  let slots = null;
  if (f.fillslots !== undefined) {
    try {
      slots = parseSlotsJson(JSON.parse(readFileSync(f.fillslots, 'utf8')));
    } catch (e) {
      fatal(`bad --fillslots file ${f.fillslots}: ${(e as Error).message.replace(/\s+/g, ' ')}`, 2);
    }
  }

  if (cluster.isWorker) {
    await runWorker(config, log, f.hostProxy);
    return;
  }
  const workers = f.ncpu !== undefined ? Number(f.ncpu) : config.proxy_max_procs || defaultWorkers();
  if (!Number.isInteger(workers) || workers < 1 || workers > MAX_PROXY_PROCS)
    fatal(`invalid --ncpu = ${f.ncpu}: want a whole number from 1 to ${MAX_PROXY_PROCS}`, 2);
  const cores = os.availableParallelism();
  if (workers > cores)
    log.warn(`${workers} worker processes on ${cores} cores: workers beyond the cores only compete for them`);
  const single =
    workers === 1
      ? new Proxy(config, { logger: log, hostProxy: f.hostProxy, adminListenAddr: config.admin_addr })
      : null;
  const many = single === null ? new ProxyCluster(config, workers, log) : null;
  const proxy = (single ?? many)!;
  let adminBound: string;
  const admin = createAdminApi(proxy, log, { onShutdown: () => void shutdown('admin API shutdown') });
  try {
    writePidfile(f.pidfile);
  } catch (e) {
    fatal((e as Error).message);
  }
  try {
    if (single) await single.listen();
    else await many!.listen(config.admin_addr, f.hostProxy);
    adminBound = await listenHttp(admin, config.admin_addr);
  } catch (e) {
    removePidfile(f.pidfile);
    fatal(`cannot listen: ${(e as Error).message}`);
  }
  proxy.setAdminAddr(publicAddr(adminBound, f.hostAdmin));
  if (many) log.info(`proxy runs ${workers} worker processes`);
  log.info(
    { proxy_addr: proxy.model.proxy_addr, admin_addr: proxy.model.admin_addr },
    'proxy is listening (offline)',
  );

  let stopping = false;
  async function shutdown(why: string): Promise<void> {
    if (stopping) return;
    stopping = true;
    log.warn(`proxy is shutting down: ${why}`);
    await proxy.close();
    await admin.close();
    removePidfile(f.pidfile);
    process.exit(0);
  }
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  try {
    if (slots !== null) {
      await proxy.fillSlots(slots);
      await proxy.start();
      log.info(`proxy is online with a static slot table from ${f.fillslots}`);
    } else if (f.dashboard !== undefined) {
      await onlineViaDashboard(proxy, f.dashboard, log);
    } else if (f.zookeeper ?? f.etcd ?? f.filesystem) {
      const [name, addr, auth] = f.zookeeper
        ? ['zookeeper', f.zookeeper, f.zookeeperAuth]
        : f.etcd
          ? ['etcd', f.etcd, f.etcdAuth]
          : ['filesystem', f.filesystem!, undefined];
      await onlineViaCoordinator(proxy, name, addr, auth, log);
    }
  } catch (e) {
    log.error((e as Error).message);
    fatal((e as Error).message);
  }
}
