/** `codis-fe`: command line (Codis 3.2 flags, §8.4), start-up and clean shutdown. */
import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { newClient, type Client } from '../coordinator/index.js';
import { addrProblem } from '../utils/addr.js';
import { fatalFor, removePidfile, writePidfile, type Fatal } from '../utils/cli.js';
import { createLogger, type Logger } from '../utils/log.js';
import { VERSION } from '../utils/version.js';
import { checkAssetsDir, defaultAssetsDir } from './assets.js';
import { FeServer } from './FeServer.js';
import { coordinatorSource, fileSource, ProductTable, type ProductSource } from './ProductTable.js';

/** Per-call deadline (and ZooKeeper session timeout) of the coordinator client. */
const COORDINATOR_TIMEOUT_MS = 10_000;

interface Flags {
  listen?: string;
  dashboardList?: string;
  zookeeper?: string;
  zookeeperAuth?: string;
  etcd?: string;
  etcdAuth?: string;
  filesystem?: string;
  log?: string;
  logLevel?: string;
  pidfile?: string;
  assetsDir?: string;
  ncpu?: string;
}

const fatal: Fatal = fatalFor('codis-fe');

/** The product source the flags name (exactly one), plus the coordinator client to close at exit. */
function productSource(f: Flags, log: Logger): { source: ProductSource; client?: Client; what: string } {
  const chosen = (
    [
      ['dashboard-list', f.dashboardList],
      ['zookeeper', f.zookeeper],
      ['etcd', f.etcd],
      ['filesystem', f.filesystem],
    ] as const
  ).filter(([, v]) => v !== undefined);
  if (chosen.length !== 1) fatal('use exactly one of --dashboard-list, --zookeeper, --etcd, --filesystem', 2);
  if (f.zookeeperAuth !== undefined && f.zookeeper === undefined)
    fatal('--zookeeper-auth goes with --zookeeper', 2);
  if (f.etcdAuth !== undefined && f.etcd === undefined) fatal('--etcd-auth goes with --etcd', 2);
  const [name, value] = chosen[0]!;
  const addr = value!;
  if (addr === '') fatal(`--${name} needs a value`, 2);
  if (name === 'dashboard-list') return { source: fileSource(addr), what: `dashboard list ${addr}` };
  if (name === 'filesystem' && !existsSync(addr))
    log.warn(`filesystem coordinator ${addr} does not exist (yet): no products until it does`);
  let client: Client;
  try {
    const auth = name === 'zookeeper' ? f.zookeeperAuth : name === 'etcd' ? f.etcdAuth : undefined;
    client = newClient(name, addr, auth, COORDINATOR_TIMEOUT_MS);
  } catch (e) {
    fatal(`coordinator: ${(e as Error).message}`, 2);
  }
  return {
    source: coordinatorSource(client, (product, e) =>
      log.warn(`product ${product}: dashboard lock unreadable, left out: ${e.message}`),
    ),
    client,
    what: `${name} coordinator ${addr}`,
  };
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command('codis-fe')
    .description(
      'Codis web UI: lists the products of a coordinator and forwards the page to their dashboards',
    )
    .option('--listen <addr>', 'HTTP address to serve the page on, e.g. 127.0.0.1:9090')
    .option(
      '-d, --dashboard-list <file>',
      'products from a JSON file: [{"name": "...", "dashboard": "host:port"}]',
    )
    .option('--zookeeper <addr>', 'products from ZooKeeper (comma-separated host:port)')
    .option('--zookeeper-auth <user:pwd>', 'ZooKeeper digest auth')
    .option('--etcd <addr>', 'products from etcd (comma-separated endpoints)')
    .option('--etcd-auth <user:pwd>', 'etcd auth')
    .option('--filesystem <root>', 'products from a filesystem coordinator folder')
    .option('-l, --log <file>', 'log file (default: stderr)')
    .option('--log-level <level>', 'INFO, WARN, DEBUG, ERROR or NONE', 'INFO')
    .option('--pidfile <file>', 'write the process id here; removed at exit')
    .option('--assets-dir <path>', 'folder with the page (index.html, scripts); default: src/fe/web')
    .option('--ncpu <n>', 'accepted for Codis compatibility')
    .version(VERSION, '--version')
    .showHelpAfterError()
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
  program.parse(argv);
  const f = program.opts<Flags>();

  if (f.listen === undefined) fatal('missing --listen=ADDR', 2);
  const problem = addrProblem(f.listen, { allowEmptyHost: true, allowZeroPort: true });
  if (problem) fatal(`invalid --listen address ${JSON.stringify(f.listen)}: ${problem}`, 2);
  let assetsDir: string;
  try {
    assetsDir = checkAssetsDir(f.assetsDir ?? defaultAssetsDir());
  } catch (e) {
    fatal((e as Error).message, 2);
  }
  let log: Logger;
  try {
    log = createLogger({ file: f.log, level: f.logLevel, name: 'fe' });
  } catch (e) {
    fatal((e as Error).message, 2);
  }
  const { source, client, what } = productSource(f, log);
  const products = new ProductTable(source, 5000, (e) => log.warn(`reload products: ${e.message}`));
  const server = new FeServer({ products, assetsDir, log });

  let stopping = false;
  const shutdown = async (why: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`codis-fe is shutting down: ${why}`);
    await server.close().catch(() => undefined);
    await client?.close().catch(() => undefined);
    removePidfile(f.pidfile);
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  let bound: string;
  try {
    writePidfile(f.pidfile);
  } catch (e) {
    await client?.close().catch(() => undefined);
    fatal((e as Error).message);
  }
  try {
    bound = await server.listen(f.listen);
  } catch (e) {
    await client?.close().catch(() => undefined);
    removePidfile(f.pidfile);
    fatal(`cannot listen on ${f.listen}: ${(e as Error).message}`);
  }
  log.info(`codis-fe ${VERSION} is serving at http://${bound}/ (products from ${what}, assets ${assetsDir})`);
}
