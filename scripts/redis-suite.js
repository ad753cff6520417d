// Redis's own Tcl test suite, of the version of the installed redis-server, for the
// compatibility test (test/compat/redis-suite.test.ts): fetched once from Debian's source
// package with apt-get (its own lists, so the system's apt setup is left alone) into
// .cache/redis-suite/, and kept. `node scripts/redis-suite.js` fetches it and prints its path.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const CACHE = join(ROOT, '.cache', 'redis-suite');

/** The installed redis-server's version (`7.0.15`). */
export function redisVersion() {
  const out = execFileSync('redis-server', ['--version'], { encoding: 'utf8' });
  const m = /v=(\d+\.\d+\.\d+)/.exec(out);
  if (m === null) throw new Error(`cannot read the version in: ${out.trim()}`);
  return m[1];
}

/**
 * The suite's root (it holds tests/test_helper.tcl), fetching it first if needed. Throws with
 * the reason when it cannot be had (no apt-get, no network, another version in Debian).
 */
export function redisSuite() {
  const version = redisVersion();
  const root = join(CACHE, `redis-${version}`);
  if (existsSync(join(root, 'tests', 'test_helper.tcl'))) return root;
  for (const tool of ['apt-get', 'tar', 'tclsh']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
      throw new Error(`${tool} is not installed`);
  }
  const work = join(CACHE, 'apt');
  rmSync(work, { recursive: true, force: true });
  for (const d of ['lists/partial', 'cache/archives/partial', 'src'])
    mkdirSync(join(work, d), { recursive: true });
  const release = execFileSync('sh', ['-c', '. /etc/os-release && echo $VERSION_CODENAME'], {
    encoding: 'utf8',
  }).trim();
  writeFileSync(
    join(work, 'sources.list'),
    `deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian ${release} main\n`,
  );
  const opts = [
    `Dir::Etc::SourceList=${join(work, 'sources.list')}`,
    'Dir::Etc::SourceParts=/dev/null',
    `Dir::State::Lists=${join(work, 'lists')}`,
    `Dir::Cache=${join(work, 'cache')}`,
    'APT::Sandbox::User=root',
    'Debug::NoLocking=1',
  ].flatMap((o) => ['-o', o]);
  const run = (args, cwd) =>
    execFileSync('apt-get', [...opts, ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  run(['update', '-qq']);
  run(['source', '--download-only', 'redis'], join(work, 'src'));
  const orig = readdirSync(join(work, 'src')).find((f) => f.endsWith('.orig.tar.gz'));
  if (orig === undefined || !orig.includes(`_${version}.`)) {
    throw new Error(`Debian's redis source is ${orig ?? 'missing'}, not ${version}`);
  }
  mkdirSync(CACHE, { recursive: true });
  execFileSync('tar', ['xzf', join(work, 'src', orig), '-C', CACHE, `redis-${version}/tests`]);
  // The suite runs some tools from src/; they are the installed ones.
  mkdirSync(join(root, 'src'), { recursive: true });
  for (const tool of ['redis-server', 'redis-cli', 'redis-benchmark', 'redis-check-aof', 'redis-check-rdb']) {
    const bin = execFileSync('sh', ['-c', `command -v ${tool} || true`], { encoding: 'utf8' }).trim();
    if (bin !== '') symlinkSync(bin, join(root, 'src', tool));
  }
  rmSync(work, { recursive: true, force: true });
  return root;
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(redisSuite() + '\n');
