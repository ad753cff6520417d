// `npm start`: a local demo product on stock redis-servers. Ctrl-C stops everything it started.
import { spawn } from 'node:child_process';
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
  setTimeout(() => process.exit(code), 500).unref();
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

async function main() {
  const servers = [];
  let port = 16379;
  for (let i = 0; i < 2; i++) {
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
    ]);
    servers.push(`127.0.0.1:${port}`);
    port++;
  }
  for (const s of servers) await waitPort(Number(s.split(':')[1]));
  const slots = Array.from({ length: 1024 }, (_, id) => {
    const g = id < 512 ? 0 : 1;
    return { id, backend_addr: servers[g], backend_addr_group_id: g + 1 };
  });
  const slotsFile = path.join(dir, 'slots.json');
  writeFileSync(slotsFile, JSON.stringify(slots));
  const conf = path.join(dir, 'proxy.toml');
  writeFileSync(
    conf,
    'product_name = "codis-demo"\nproxy_addr = "127.0.0.1:19000"\nadmin_addr = "127.0.0.1:11080"\n',
  );
  start('proxy', path.join(root, 'bin/codis-proxy'), [
    '--config',
    conf,
    '--fillslots',
    slotsFile,
    '--log-level',
    'WARN',
  ]);
  await waitPort(19000);
  await waitPort(11080);
  process.stdout.write(
    [
      '',
      'codis-ts demo is running:',
      `  redis groups:   ${servers.map((s, i) => `group ${i + 1} = ${s}`).join(', ')}`,
      '  proxy:          redis-cli -p 19000',
      '  proxy admin:    http://127.0.0.1:11080/proxy',
      '',
      'Press Ctrl-C to stop every process the demo started.',
      '',
    ].join('\n'),
  );
}

main().catch((e) => {
  process.stderr.write(`demo failed: ${e.message}\n`);
  stop(1);
});
