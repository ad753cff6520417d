/** `codis-dashboard`: command line (Codis 3.2 flags, §8.2), start-up and clean shutdown. */
import { Command } from 'commander';
import { newClient, type Client } from '../coordinator/index.js';
import { fatalFor, parseDaemonFlags, removePidfile, writePidfile, type Fatal } from '../utils/cli.js';
import { ConfigError } from '../utils/config.js';
import { listenHttp } from '../utils/http.js';
import { createLogger, type Logger } from '../utils/log.js';
import {
  dashboardConfigToml,
  loadDashboardConfig,
  validateDashboardConfig,
  type DashboardConfig,
} from './Config.js';
import { LockHeldError, Topom } from './Topom.js';
import { createTopomApi } from './TopomApi.js';
import { VERSION } from './version.js';

/** Coordinator calls made by the dashboard wait at most this long (Codis: 1 minute). */
const COORDINATOR_TIMEOUT_MS = 60_000;

interface Flags {
  config?: string;
  log?: string;
  logLevel?: string;
  hostAdmin?: string;
  pidfile?: string;
  zookeeper?: string;
  zookeeperAuth?: string;
  etcd?: string;
  etcdAuth?: string;
  filesystem?: string;
  product_name?: string;
  product_auth?: string;
  removeLock?: boolean;
  defaultConfig?: boolean;
  ncpu?: string;
}

const fatal: Fatal = fatalFor('codis-dashboard');

/** The config file (or the defaults) with the command-line overrides; exit 2 on a bad value. */
function loadConfig(f: Flags): DashboardConfig {
  try {
    const c = loadDashboardConfig(f.config, (w) => process.stderr.write(`codis-dashboard: warning: ${w}\n`));
    const coordinators = [
      ['zookeeper', f.zookeeper, f.zookeeperAuth],
      ['etcd', f.etcd, f.etcdAuth],
      ['filesystem', f.filesystem, undefined],
    ] as const;
    const chosen = coordinators.filter(([, addr]) => addr !== undefined);
    if (chosen.length > 1) fatal('use only one of --zookeeper, --etcd, --filesystem', 2);
    if (chosen.length === 1) {
      const [name, addr, auth] = chosen[0]!;
      c.coordinator_name = name;
      c.coordinator_addr = addr!;
      if (auth !== undefined) c.coordinator_auth = auth;
    } else if (f.zookeeperAuth !== undefined || f.etcdAuth !== undefined) {
      fatal('--zookeeper-auth / --etcd-auth go with --zookeeper / --etcd', 2);
    }
    if (f.product_name !== undefined) c.product_name = f.product_name;
    if (f.product_auth !== undefined) c.product_auth = f.product_auth;
    validateDashboardConfig(c);
    return c;
  } catch (e) {
    if (e instanceof ConfigError) fatal(e.message, 2);
    throw e;
  }
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command('codis-dashboard')
    .description(
      'Codis dashboard: owns one product in a coordinator and manages its groups, slots and proxies',
    )
    .option('-c, --config <file>', 'TOML config file (defaults for every key not set)')
    .option('-l, --log <file>', 'log file (default: stderr)')
    .option('--log-level <level>', 'INFO, WARN, DEBUG, ERROR or NONE', 'INFO')
    .option('--ncpu <n>', 'accepted for Codis compatibility')
    .option('--host-admin <addr>', 'admin address advertised to others (NAT, containers)')
    .option('--zookeeper <addr>', 'coordinator: ZooKeeper (comma-separated host:port)')
    .option('--zookeeper-auth <user:pwd>', 'ZooKeeper digest auth')
    .option('--etcd <addr>', 'coordinator: etcd (comma-separated endpoints)')
    .option('--etcd-auth <user:pwd>', 'etcd auth')
    .option('--filesystem <root>', 'coordinator: a folder on this host')
    .option('--product_name <name>', 'overrides product_name')
    .option('--product_auth <auth>', 'overrides product_auth')
    .option('--pidfile <file>', 'write the process id here; removed at exit')
    .option('--remove-lock', "remove the product's dashboard lock (left by a dashboard that died) first");
  const f = parseDaemonFlags<Flags>(program, argv, VERSION);
  if (f.defaultConfig) {
    process.stdout.write(dashboardConfigToml());
    return;
  }
  const config = loadConfig(f);

  let log: Logger;
  try {
    log = createLogger({ file: f.log, level: f.logLevel, name: 'dashboard' });
  } catch (e) {
    fatal((e as Error).message, 2);
  }

  let client: Client;
  try {
    client = newClient(
      config.coordinator_name,
      config.coordinator_addr,
      config.coordinator_auth || undefined,
      COORDINATOR_TIMEOUT_MS,
    );
  } catch (e) {
    fatal(`coordinator: ${(e as Error).message}`, 2);
  }

  const topom = new Topom({ config, client, log, hostAdmin: f.hostAdmin });
  let stopping = false;
  const shutdown = async (why: string, code = 0): Promise<never> => {
    if (!stopping) {
      stopping = true;
      log.warn(`dashboard is shutting down: ${why}`);
      try {
        await topom.close();
      } catch (e) {
        log.error(`close failed: ${(e as Error).message}`);
        process.stderr.write(`codis-dashboard: close failed: ${(e as Error).message}\n`);
        code = code || 1;
      }
      await api.close().catch(() => undefined);
      removePidfile(f.pidfile);
      process.exit(code);
    }
    return new Promise<never>(() => undefined);
  };
  const api = createTopomApi(topom, { onShutdown: () => void shutdown('admin API shutdown') });
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  try {
    writePidfile(f.pidfile);
  } catch (e) {
    await client.close().catch(() => undefined);
    fatal((e as Error).message);
  }
  try {
    if (f.removeLock) await topom.removeLock();
    const bound = await listenHttp(api, config.admin_addr);
    topom.setAdminAddr(bound);
    await topom.start();
  } catch (e) {
    const msg = e instanceof LockHeldError ? e.message : `cannot start: ${(e as Error).message}`;
    if (f.log) log.error(msg);
    await client.close().catch(() => undefined);
    await api.close().catch(() => undefined);
    removePidfile(f.pidfile);
    fatal(msg);
  }
  log.info(`dashboard of product ${config.product_name} is serving at ${topom.model.admin_addr}`);
}
