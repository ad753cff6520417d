// Finds the Debian packages that the demo and the tests run (redis-server, etcd, ZooKeeper…),
// installing the missing ones with apt-get when running as root; otherwise names them and stops.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** [binary or file to look for, Debian package that provides it] */
export const PACKAGES = {
  redis: ['redis-server', 'redis-server'],
  benchmark: ['redis-benchmark', 'redis-tools'],
  sentinel: ['redis-sentinel', 'redis-sentinel'],
  etcd: ['etcd', 'etcd-server'],
  etcdctl: ['etcdctl', 'etcd-client'], // the etcd auth tests set up users with it
  zookeeper: ['/usr/share/java/zookeeper.jar', 'zookeeper'],
  chromium: ['chromium', 'chromium'],
  // A real Python client in the tests (test/proxy/redis-py.test.ts), run by Debian's python3.
  redispy: ['/usr/lib/python3/dist-packages/redis/__init__.py', 'python3-redis'],
  // Redis's own Tcl test suite runs through the proxy (test/compat/redis-suite.test.ts).
  tclsh: ['tclsh', 'tcl'],
};

function have(what) {
  if (what.startsWith('/')) return existsSync(what);
  return spawnSync('sh', ['-c', `command -v ${what}`], { stdio: 'ignore' }).status === 0;
}

export function ensure(names) {
  const missing = names.map((n) => PACKAGES[n]).filter(([bin]) => !have(bin));
  if (missing.length === 0) return;
  const pkgs = missing.map(([, pkg]) => pkg);
  if (process.getuid?.() !== 0 || !have('apt-get')) {
    process.stderr.write(
      `missing Debian packages: ${pkgs.join(' ')} (install them with: apt-get install ${pkgs.join(' ')})\n`,
    );
    process.exit(1);
  }
  process.stderr.write(`installing ${pkgs.join(' ')} with apt-get…\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], {
    stdio: 'inherit',
    env,
  });
}

if (import.meta.url === `file://${process.argv[1]}`) ensure(process.argv.slice(2));
