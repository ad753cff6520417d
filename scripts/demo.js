// `npm start`: a local demo product on stock redis-servers. Ctrl-C stops everything it started.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensure } from './ensure-deps.js';

ensure(['redis']);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.join(root, '.demo');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });

const children = [];
let stopping = false;

function start(name, cmd, args) {
  const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr.on('data', (d) => process.stderr.write(`[${name}] ${d}`));
  child.on('exit', (code, sig) => {
    if (!stopping) {
      process.stderr.write(`[${name}] exited (${code ?? sig}); stopping the demo\n`);
      stop(1);
    }
  });
  children.push(child);
  return child;
}

function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const c of children) c.kill('SIGTERM');
  // Whatever has not exited after 5 s is killed: Ctrl-C leaves nothing behind.
  setTimeout(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    process.exit(code);
  }, 5000).unref();
  Promise.all(children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.once('exit', r))))).then(
    () => process.exit(code),
  );
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

function portFree(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

async function freePortFrom(port) {
  while (!(await portFree(port))) port++;
  return port;
}

function waitPort(port, ms = 10000) {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tryOnce = () => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve()));
      s.once('error', () =>
        Date.now() > until ? reject(new Error(`port ${port} not ready`)) : setTimeout(tryOnce, 50),
      );
    };
    tryOnce();
  });
}

function admin(...args) {
  execFileSync(process.execPath, [path.join(root, 'bin/codis-admin'), `--dashboard=${DASHBOARD}`, ...args], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

const DASHBOARD = '127.0.0.1:18080';
const FE = '127.0.0.1:9090';

async function main() {
  // 2 groups × (master + replica), stock redis-servers.
  const servers = [];
  let port = 16379;
  for (let i = 0; i < 4; i++) {
    port = await freePortFrom(port);
    const d = path.join(dir, `redis-${port}`);
    mkdirSync(d);
    start(`redis-${port}`, 'redis-server', [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      d,
      '--save',
      '',
      '--appendonly',
      'no',
      '--repl-diskless-sync-delay',
      '0',
    ]);
    servers.push(`127.0.0.1:${port}`);
    port++;
  }
  for (const s of servers) await waitPort(Number(s.split(':')[1]));

  // A dashboard owning the product on the filesystem coordinator.
  const coordinator = path.join(dir, 'coordinator');
  mkdirSync(coordinator);
  const dconf = path.join(dir, 'dashboard.toml');
  writeFileSync(dconf, `product_name = "codis-demo"\nadmin_addr = "${DASHBOARD}"\n`);
  start('dashboard', path.join(root, 'bin/codis-dashboard'), [
    '--config',
    dconf,
    '--filesystem',
    coordinator,
    '--log-level',
    'WARN',
  ]);
  await waitPort(18080);
  await waitHttp(`http://${DASHBOARD}/topom`);

  // Groups, their servers, and replicas following their masters — as an operator would.
  for (const gid of [1, 2]) {
    const [master, replica] = servers.slice((gid - 1) * 2, gid * 2);
    admin('--create-group', `--gid=${gid}`);
    admin('--group-add', `--gid=${gid}`, `--addr=${master}`);
    admin('--group-add', `--gid=${gid}`, `--addr=${replica}`);
    admin('--sync-action', '--create', `--addr=${replica}`);
  }
  admin('--slots-assign', '--beg=0', '--end=511', '--gid=1', '--confirm');
  admin('--slots-assign', '--beg=512', '--end=1023', '--gid=2', '--confirm');

  // A proxy that brings itself online through the dashboard.
  const pconf = path.join(dir, 'proxy.toml');
  writeFileSync(
    pconf,
    'product_name = "codis-demo"\nproxy_addr = "127.0.0.1:19000"\nadmin_addr = "127.0.0.1:11080"\n',
  );
  start('proxy', path.join(root, 'bin/codis-proxy'), [
    '--config',
    pconf,
    '--dashboard',
    DASHBOARD,
    '--log-level',
    'WARN',
  ]);
  await waitPort(19000);
  await waitOnline(19000);

  // The web UI over every product of the coordinator.
  start('fe', path.join(root, 'bin/codis-fe'), [
    `--listen=${FE}`,
    `--filesystem=${coordinator}`,
    '--log-level',
    'WARN',
  ]);
  await waitPort(9090);

  process.stdout.write(
    [
      '',
      'codis-ts demo product "codis-demo" is running:',
      `  group 1:        ${servers[0]} (master), ${servers[1]} (replica)`,
      `  group 2:        ${servers[2]} (master), ${servers[3]} (replica)`,
      '  proxy:          redis-cli -p 19000',
      '  proxy admin:    http://127.0.0.1:11080/proxy',
      `  dashboard:      http://${DASHBOARD}/topom`,
      `  web UI:         http://${FE}/#codis-demo`,
      `  codis-admin:    bin/codis-admin --dashboard=${DASHBOARD} --overview`,
      `  coordinator:    ${coordinator} (filesystem)`,
      '',
      'Press Ctrl-C to stop every process the demo started.',
      '',
    ].join('\n'),
  );
}

/** Waits until an HTTP endpoint answers 200 (the dashboard owns its product). */
async function waitHttp(url, ms = 15000) {
  const until = Date.now() + ms;
  for (;;) {
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > until) throw new Error(`${url} did not answer`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until the proxy serves clients (it is online once the dashboard filled its slots). */
async function waitOnline(port, ms = 30000) {
  const until = Date.now() + ms;
  for (;;) {
    const reply = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => s.write('PING\r\n'));
      s.once('data', (d) => (s.destroy(), resolve(d.toString())));
      s.once('error', () => resolve(''));
    });
    if (reply.startsWith('+PONG')) return;
    if (Date.now() > until) throw new Error(`proxy on ${port} did not go online: ${reply.trim()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

main().catch((e) => {
  process.stderr.write(`demo failed: ${e.message}\n`);
  stop(1);
});
