/**
 * codis-dashboard configuration: every key of Codis's config/dashboard.toml (§7.2) with its
 * defaults and rules. Durations are milliseconds, sizes are bytes.
 *
 * Differences from Codis, on purpose:
 * - `migration_method` defaults to "sync": with stock Redis the proxies move keys on access with
 *   MIGRATE, and the semi-async method is an option (DESIGN.md), not the default;
 * - `coordinator_name` is checked when the file is read (Codis only failed at start-up);
 * - `coordinator_auth` is a secret like `product_auth`: never shown in the overview JSON.
 *
 * Migration on stock Redis (migration/Migrator.ts) reuses Codis's keys where the meaning carries
 * over, so that a Codis dashboard.toml keeps its effect: `migration_async_numkeys` is the number
 * of keys per `MIGRATE … KEYS` batch (and SCAN COUNT), `migration_async_maxbulks` the number of
 * elements per chunk of a big key, `migration_async_maxbytes` the (approximate) bytes per MIGRATE
 * call, a batch of large values being split. New keys: `migration_pause`,
 * `migration_max_keys_per_sec`, `migration_max_bytes_per_sec`, `migration_bigkey_elements`,
 * `migration_bigkey_bytes`. Batch size, pause and rate limits can be changed live
 * (`PUT /api/topom/slots/action/rate`, `codis-admin --slot-action --interval`).
 */
import { addrProblem } from '../utils/addr.js';
import { defaults, key, loadConfigFile, renderToml, toJson, validate, type Schema } from '../utils/config.js';

export type CoordinatorConfigName = 'filesystem' | 'fs' | 'etcd' | 'zookeeper' | 'zk';
export type MigrationMethod = 'sync' | 'semi-async';

export interface DashboardConfig {
  coordinator_name: CoordinatorConfigName;
  coordinator_addr: string;
  coordinator_auth: string;
  product_name: string;
  product_auth: string;
  admin_addr: string;
  migration_method: MigrationMethod;
  migration_parallel_slots: number;
  migration_async_maxbulks: number;
  migration_async_maxbytes: number;
  migration_async_numkeys: number;
  migration_timeout: number;
  migration_pause: number;
  migration_max_keys_per_sec: number;
  migration_max_bytes_per_sec: number;
  migration_bigkey_elements: number;
  migration_bigkey_bytes: number;
  sentinel_client_timeout: number;
  sentinel_quorum: number;
  sentinel_parallel_syncs: number;
  sentinel_down_after: number;
  sentinel_failover_timeout: number;
  sentinel_notification_script: string;
  sentinel_client_reconfig_script: string;
}

const PRODUCT_NAME_RE = /^\w[\w.-]*$/;
const nonEmpty = (v: string): string | undefined => (v === '' ? 'must not be empty' : undefined);
const positive = (v: number): string | undefined => (v > 0 ? undefined : 'must be > 0');
const count = { min: 1 };
const k = key;

export const dashboardConfigSchema: Schema<DashboardConfig> = {
  title: 'Codis-Dashboard',
  keys: {
    coordinator_name: k.enum<CoordinatorConfigName>(
      ['filesystem', 'fs', 'etcd', 'zookeeper', 'zk'],
      'filesystem',
      'Set Coordinator, only accept "zookeeper" & "etcd" & "filesystem".\n' +
        'for zookeeper/etcd, coordinator_auth accepts "user:password".\n' +
        'Quick Start',
    ),
    coordinator_addr: k.string('/tmp/codis', undefined, { validate: nonEmpty }),
    coordinator_auth: k.string(
      '',
      'For example:\n' +
        '  coordinator_name = "zookeeper"\n' +
        '  coordinator_addr = "127.0.0.1:2181"\n' +
        '  coordinator_auth = "user:password"\n' +
        'or "etcd" with comma-separated endpoints such as "127.0.0.1:2379".',
      { secret: true },
    ),
    product_name: k.string('codis-demo', 'Set Codis Product Name/Auth.', {
      validate: (v) => (PRODUCT_NAME_RE.test(v) ? undefined : 'must match ^\\w[\\w\\.\\-]*$'),
    }),
    product_auth: k.string('', undefined, { secret: true }),
    admin_addr: k.string('0.0.0.0:18080', 'Set bind address for admin(rpc), tcp only.', {
      validate: (v) => addrProblem(v, { allowEmptyHost: true, allowZeroPort: true }),
    }),
    migration_method: k.enum<MigrationMethod>(
      ['sync', 'semi-async'],
      'sync',
      "Set arguments for data migration (only accept 'sync' & 'semi-async').\n" +
        'It is also the forward method of every slot in the proxies.',
    ),
    migration_parallel_slots: k.int(
      100,
      'Slots migrating at once (from any groups, to any groups; one SCAN pass per source serves them all).',
      count,
    ),
    migration_async_maxbulks: k.int(200, 'Elements per chunk when a big key is copied.', count),
    migration_async_maxbytes: k.size(
      '32mb',
      'Bytes per MIGRATE call at most (a batch of large values is split).',
      {
        min: 1,
        max: Number.MAX_SAFE_INTEGER,
      },
    ),
    migration_async_numkeys: k.int(500, 'Keys per MIGRATE batch (and SCAN COUNT); adjustable live.', count),
    migration_timeout: k.duration('30s', 'Timeout of one MIGRATE call.', { validate: positive }),
    migration_pause: k.duration(
      '0',
      'Pause between two batches (at most 1s); adjustable live (codis-admin --slot-action --interval).',
      { min: 0, max: 1000 },
    ),
    migration_max_keys_per_sec: k.int(
      0,
      'Rate limits of all migrations together, 0 = unlimited; adjustable live.',
      { min: 0 },
    ),
    migration_max_bytes_per_sec: k.size('0', undefined, { min: 0, max: Number.MAX_SAFE_INTEGER }),
    migration_bigkey_elements: k.int(
      10000,
      'A key with more elements (list, hash, set, zset) or a longer string is a big key: it is\n' +
        'copied in chunks while the proxies hold requests for that key only. Proxies get these\n' +
        'thresholds with every migrating slot: a request never moves a big key itself.',
      count,
    ),
    migration_bigkey_bytes: k.size('16mb', undefined, { min: 1, max: Number.MAX_SAFE_INTEGER }),
    sentinel_client_timeout: k.duration('10s', 'Set configs for redis sentinel.', { validate: positive }),
    sentinel_quorum: k.int(2, undefined, count),
    sentinel_parallel_syncs: k.int(1, undefined, count),
    sentinel_down_after: k.duration('30s', undefined, { validate: positive }),
    sentinel_failover_timeout: k.duration('5m', undefined, { validate: positive }),
    sentinel_notification_script: k.string(''),
    sentinel_client_reconfig_script: k.string(''),
  },
};

/** Keys left out of the JSON form (Overview `config`): the secrets. */
export const DASHBOARD_HIDDEN_KEYS = ['product_auth', 'coordinator_auth'] as const;

export function defaultDashboardConfig(): DashboardConfig {
  return defaults(dashboardConfigSchema);
}

/** Throws ConfigError (one line, naming the key) unless every value is valid. */
export function validateDashboardConfig(c: DashboardConfig): void {
  validate(dashboardConfigSchema, c);
}

/**
 * Reads `path` over the defaults and validates; without a path, the defaults. Unknown keys are
 * ignored and passed to `warn` (default: a process warning).
 */
export function loadDashboardConfig(path?: string, warn?: (msg: string) => void): DashboardConfig {
  return loadConfigFile(path, dashboardConfigSchema, warn);
}

/** What `codis-dashboard --default-config` prints; config/dashboard.toml holds the same text. */
export function dashboardConfigToml(): string {
  return renderToml(dashboardConfigSchema, defaultDashboardConfig());
}

/** The JSON form, without product_auth and coordinator_auth. */
export function dashboardConfigJson(c: DashboardConfig): Record<string, unknown> {
  return toJson(dashboardConfigSchema, c, DASHBOARD_HIDDEN_KEYS);
}
