import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import {
  dashboardConfigJson,
  dashboardConfigSchema,
  dashboardConfigToml,
  defaultDashboardConfig,
  loadDashboardConfig,
  validateDashboardConfig,
} from '../../src/topom/Config.js';
import { ConfigError, loadToml } from '../../src/utils/config.js';
import { DASHBOARD_BIN } from '../helpers/dashboard.js';

const DASHBOARD_TOML = new URL('../../../config/dashboard.toml', import.meta.url);

/**
 * Every key of codis-3.md §7.2 with its default (text form), except migration_method (DESIGN.md),
 * and the migration keys of codis-ts.
 */
const CODIS_DEFAULTS: Record<string, string | number> = {
  coordinator_name: 'filesystem',
  coordinator_addr: '/tmp/codis',
  coordinator_auth: '',
  product_name: 'codis-demo',
  product_auth: '',
  admin_addr: '0.0.0.0:18080',
  migration_method: 'sync',
  migration_parallel_slots: 100,
  migration_async_maxbulks: 200,
  migration_async_maxbytes: '32mb',
  migration_async_numkeys: 500,
  migration_timeout: '30s',
  migration_pause: '0',
  migration_max_keys_per_sec: 0,
  migration_max_bytes_per_sec: '0',
  migration_bigkey_elements: 10000,
  migration_bigkey_bytes: '16mb',
  sentinel_client_timeout: '10s',
  sentinel_quorum: 2,
  sentinel_parallel_syncs: 1,
  sentinel_down_after: '30s',
  sentinel_failover_timeout: '5m',
  sentinel_notification_script: '',
  sentinel_client_reconfig_script: '',
};

function withFile(text: string, fn: (path: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'codis-ts-dcfg-'));
  try {
    const path = join(dir, 'dashboard.toml');
    writeFileSync(path, text);
    fn(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('config/dashboard.toml is exactly dashboardConfigToml()', () => {
  assert.equal(readFileSync(DASHBOARD_TOML, 'utf8'), dashboardConfigToml());
});

test('the default file has every §7.2 key with its default and re-parses to the defaults', () => {
  assert.deepEqual({ ...parse(dashboardConfigToml()) }, CODIS_DEFAULTS);
  const { values, warnings } = loadToml(dashboardConfigToml(), dashboardConfigSchema);
  assert.deepEqual(values, defaultDashboardConfig());
  assert.deepEqual(warnings, []);
  const c = defaultDashboardConfig();
  assert.equal(c.migration_timeout, 30_000);
  assert.equal(c.sentinel_failover_timeout, 300_000);
  assert.equal(c.migration_async_maxbytes, 32 * 1024 * 1024);
  validateDashboardConfig(c);
});

test('the JSON form hides product_auth and coordinator_auth', () => {
  const c = { ...defaultDashboardConfig(), product_auth: 'pw1', coordinator_auth: 'u:pw2' };
  const json = dashboardConfigJson(c);
  assert.equal('product_auth' in json, false);
  assert.equal('coordinator_auth' in json, false);
  assert.equal(JSON.stringify(json).includes('pw'), false);
  assert.equal(json.migration_timeout, '30s');
  assert.equal(json.migration_async_maxbytes, '32mb');
});

test('bad values fail with one line naming the key', () => {
  const cases: [string, string][] = [
    ['migration_method = "fast"', 'invalid migration_method'],
    ['migration_parallel_slots = 0', 'invalid migration_parallel_slots'],
    ['migration_timeout = "0"', 'invalid migration_timeout'],
    ['sentinel_quorum = -1', 'invalid sentinel_quorum'],
    ['product_name = "a b"', 'invalid product_name'],
    ['coordinator_name = "consul"', 'invalid coordinator_name'],
    ['coordinator_addr = ""', 'invalid coordinator_addr'],
    ['admin_addr = "nope"', 'invalid admin_addr'],
    ['migration_async_maxbytes = "1xb"', 'invalid migration_async_maxbytes'],
    ['migration_pause = "2s"', 'invalid migration_pause'],
    ['migration_pause = "-1s"', 'invalid migration_pause'],
    ['migration_max_keys_per_sec = -5', 'invalid migration_max_keys_per_sec'],
    ['migration_max_bytes_per_sec = "fast"', 'invalid migration_max_bytes_per_sec'],
    ['migration_bigkey_elements = 0', 'invalid migration_bigkey_elements'],
    ['migration_bigkey_bytes = "0"', 'invalid migration_bigkey_bytes'],
  ];
  for (const [line, want] of cases) {
    withFile(line + '\n', (path) => {
      assert.throws(
        () => loadDashboardConfig(path),
        (e: unknown) => e instanceof ConfigError && e.message.includes(want) && !e.message.includes('\n'),
        line,
      );
    });
  }
  withFile('migration_pause = "20ms"\nmigration_max_bytes_per_sec = "10mb"\n', (path) => {
    const c = loadDashboardConfig(path);
    assert.equal(c.migration_pause, 20);
    assert.equal(c.migration_max_bytes_per_sec, 10 * 1024 * 1024);
  });
  withFile('migration_method = "SEMI-ASYNC"\nproduct_auth = "secret"\n', (path) => {
    const c = loadDashboardConfig(path);
    assert.equal(c.migration_method, 'semi-async');
    assert.equal(c.product_auth, 'secret');
  });
});

test('codis-dashboard: --default-config, --version, bad config → exit 2 naming the key', () => {
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [DASHBOARD_BIN, ...args], { encoding: 'utf8' });
  const d = run('--default-config');
  assert.equal(d.status, 0);
  assert.equal(d.stdout, dashboardConfigToml());
  assert.match(run('--version').stdout, /^\d+\.\d+/);
  withFile('sentinel_down_after = "soon"\n', (path) => {
    const r = run('--config', path);
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /invalid sentinel_down_after/);
  });
  const r = run('--product_name', 'bad name!', '--filesystem', '/tmp/x');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /invalid product_name/);
  assert.equal(run('--etcd', 'a', '--filesystem', 'b').status, 2);
  assert.equal(run('--no-such-flag').status, 2);
});
