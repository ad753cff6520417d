/**
 * Redis's own test suite against the proxy: the units below run with `--host/--port` at a proxy
 * over two redis-servers, in `--cluster-mode` (tests tagged cluster:skip, which need keys of
 * several slots in one command, are left out, as for any Redis Cluster), and some once more as
 * the suite runs by default, over several databases. Every test must pass
 * but the known ones (redis-suite-known.ts), each failing for a reason of the proxy's design,
 * named there. The passes are reported: they are the compatibility count.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startProxy } from '../helpers/proxy.js';
import { freePort } from '../helpers/ports.js';
import { startRedis } from '../helpers/redis.js';
import { ALONE, KNOWN_FAILURES, MULTI_DB, SHARED, SKIPPED, STOPPING } from './redis-suite-known.js';
// @ts-expect-error: a plain-JS script (scripts/), run by npm test before this
import { redisSuite } from '../../../scripts/redis-suite.js';

/** Tags left out: what a proxy cannot offer (replication, DEBUG, SAVE) or must not let clients do. */
const DENIED = ['needs:repl', 'needs:debug', 'needs:save', 'needs:config-maxmemory'];
const RUN_TIMEOUT_MS = 600_000;

interface Run {
  /** Passed tests by unit. */
  passed: Map<string, number>;
  /** Failed tests, by name. */
  failed: string[];
  /** The error that stopped the run, if one did. */
  exception: string | null;
  output: string;
}

function suiteRoot(): string | null {
  try {
    return (redisSuite as () => string)();
  } catch (e) {
    return `!${(e as Error).message}`;
  }
}

/**
 * Runs `units` in one go against a proxy over two fresh redis-servers; `multiDb`: as the suite
 * runs by default (several databases), not in --cluster-mode.
 */
async function run(root: string, units: readonly string[], multiDb = false): Promise<Run> {
  const servers = await Promise.all([startRedis(), startRedis()]);
  const proxy = await startProxy({ backends: servers.map((s) => s.addr) });
  try {
    const args = ['tests/test_helper.tcl', '--host', '127.0.0.1', '--port', String(proxy.port)];
    // Its own test server listens from baseport - 32 up (21079 by default): a port free now.
    args.push('--baseport', String(Math.min(await freePort(), 65_000) + 32));
    args.push(...(multiDb ? ['--tags', '-cluster:skip'] : ['--cluster-mode']));
    args.push('--ignore-encoding', '--ignore-digest', '--timeout', '60');
    for (const tag of DENIED) args.push('--tags', `-${tag}`);
    for (const name of Object.keys(SKIPPED)) args.push('--skiptest', name);
    for (const unit of units) args.push('--single', unit);
    const child = spawn('tclsh', args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    await new Promise((r) => child.on('close', r));
    clearTimeout(timer);
    // eslint-disable-next-line no-control-regex
    const text = output.replace(/\x1b\[[0-9;]*m/g, '');
    const passed = new Map<string, number>();
    let unit = '';
    const failed = new Set<string>();
    for (const line of text.split('\n')) {
      const testing = /^Testing (unit\/\S+)/.exec(line);
      if (testing !== null) unit = testing[1]!;
      if (line.startsWith('[ok]: ')) passed.set(unit, (passed.get(unit) ?? 0) + 1);
      const err = /^\[err\]: (.*) in tests\//.exec(line);
      if (err !== null) failed.add(err[1]!);
    }
    const exception = /^\[exception\]: (.*)$/m.exec(text)?.[1] ?? null;
    return { passed, failed: [...failed], exception, output: text };
  } finally {
    await proxy.stop();
    await Promise.all(servers.map((s) => s.stop()));
  }
}

const root = suiteRoot();
const why = root?.startsWith('!') === true ? `the suite cannot be had: ${root.slice(1)}` : false;

test(
  "Redis's own test suite passes through the proxy, but for the known differences",
  { skip: why },
  async (t) => {
    const unexpected: string[] = [];
    let total = 0;
    const runs = [
      ...[SHARED, ...ALONE.map((u) => [u])].map((units) => ({ units, multiDb: false })),
      { units: MULTI_DB, multiDb: true },
    ];
    for (const { units, multiDb } of runs) {
      const r = await run(root!, units, multiDb);
      for (const unit of units) {
        const n = r.passed.get(unit) ?? 0;
        total += n;
        t.diagnostic(`${unit}${multiDb ? ' (several databases)' : ''}: ${n} passed`);
        if (n === 0) unexpected.push(`${unit}: no test passed\n${r.output.slice(-3000)}`);
      }
      for (const name of r.failed) if (KNOWN_FAILURES[name] === undefined) unexpected.push(`failed: ${name}`);
      const stops = units.length === 1 ? STOPPING[units[0]!] : undefined;
      if (r.exception !== null && stops === undefined) {
        const at = r.output.indexOf('[exception]');
        unexpected.push(
          `${units.join(' ')} stopped by ${r.exception}\n${r.output.slice(Math.max(0, at - 3000), at + 1500)}`,
        );
      }
    }
    t.diagnostic(`${total} tests of Redis's suite passed through the proxy`);
    assert.deepEqual(unexpected, []);
  },
);
