/**
 * codis-dashboard configuration: every key of Codis's config/dashboard.toml (§7.2) with its
 * defaults and rules. Durations are milliseconds, sizes are bytes.
 *
 * Differences from Codis, on purpose:
 * - `migration_method` defaults to "sync": with stock Redis the proxies move keys on access with
 *   MIGRATE, and the semi-async method is an option (DESIGN.md), not the default;
 * - `coordinator_name` is checked when the file is read (Codis only failed at start-up);
 * - `coordinator_auth` is a secret like `product_auth`: never shown in the overview JSON.
 */
import { readFileSync } from 'node:fs';
import { addrProblem } from '../utils/addr.js';
import {
  ConfigError,
  defaults,
  key,
  loadToml,
  renderToml,
  toJson,
  validate,
  type Schema,
} from '../utils/config.js';

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
    migration_parallel_slots: k.int(100, undefined, count),
    migration_async_maxbulks: k.int(200, undefined, count),
    migration_async_maxbytes: k.size('32mb', undefined, { min: 1, max: Number.MAX_SAFE_INTEGER }),
    migration_async_numkeys: k.int(500, undefined, count),
    migration_timeout: k.duration('30s', undefined, { validate: positive }),
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
  if (path === undefined) return defaultDashboardConfig();
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config ${path}: ${(e as Error).message}`);
  }
  const { values, warnings } = loadToml(text, dashboardConfigSchema, { source: path });
  for (const w of warnings) {
    if (warn) warn(w);
    else process.emitWarning(w, 'ConfigWarning');
  }
  return values;
}

/** What `codis-dashboard --default-config` prints; config/dashboard.toml holds the same text. */
export function dashboardConfigToml(): string {
  return renderToml(dashboardConfigSchema, defaultDashboardConfig());
}

/** The JSON form, without product_auth and coordinator_auth. */
export function dashboardConfigJson(c: DashboardConfig): Record<string, unknown> {
  return toJson(dashboardConfigSchema, c, DASHBOARD_HIDDEN_KEYS);
}
