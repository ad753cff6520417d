/**
 * codis-proxy configuration: every key of Codis's config/proxy.toml with its defaults and rules,
 * plus codis-ts additions. Durations are milliseconds, sizes are bytes.
 */
import { addrProblem } from '../utils/addr.js';
import { defaults, key, loadConfigFile, renderToml, toJson, validate, type Schema } from '../utils/config.js';

export type ProtoType = 'tcp' | 'tcp4' | 'tcp6' | 'unix' | 'unixpacket';
/** Who accepts the client connections of a proxy with worker processes. */
export type ProxyAccept = 'primary' | 'workers';
export type JodisName = '' | 'zookeeper' | 'zk' | 'etcd' | 'filesystem' | 'fs';

export interface ProxyConfig {
  product_name: string;
  product_auth: string;
  session_auth: string;
  admin_addr: string;
  proto_type: ProtoType;
  proxy_addr: string;
  jodis_name: JodisName;
  jodis_addr: string;
  jodis_auth: string;
  jodis_timeout: number;
  jodis_compatible: boolean;
  proxy_datacenter: string;
  proxy_max_clients: number;
  proxy_max_procs: number;
  proxy_accept: ProxyAccept;
  proxy_max_offheap_size: number;
  proxy_heap_placeholder: number;
  backend_ping_period: number;
  backend_recv_bufsize: number;
  backend_recv_timeout: number;
  backend_send_bufsize: number;
  backend_send_timeout: number;
  backend_max_pipeline: number;
  backend_primary_only: boolean;
  backend_primary_parallel: number;
  backend_replica_parallel: number;
  backend_keepalive_period: number;
  backend_number_databases: number;
  session_recv_bufsize: number;
  session_recv_timeout: number;
  session_send_bufsize: number;
  session_send_timeout: number;
  session_max_pipeline: number;
  session_max_request_size: number;
  session_keepalive_period: number;
  session_break_on_failure: boolean;
  proxy_tracking_max_keys: number;
  proxy_forward_unknown_commands: boolean;
  metrics_report_server: string;
  metrics_report_period: number;
  metrics_report_influxdb_server: string;
  metrics_report_influxdb_period: number;
  metrics_report_influxdb_username: string;
  metrics_report_influxdb_password: string;
  metrics_report_influxdb_database: string;
  metrics_report_statsd_server: string;
  metrics_report_statsd_period: number;
  metrics_report_statsd_prefix: string;
}

const SECOND = 1000;
const MAX_SIZE = Number.MAX_SAFE_INTEGER;
const PRODUCT_NAME_RE = /^\w[\w.-]*$/;

const size = { min: 0, max: MAX_SIZE };
const nonNegative = { min: 0 };
/**
 * Workers are whole Node processes (some 40–80 MB each): far more of them than cores only
 * costs memory, and a typo such as `--ncpu 1000` must not fork until the machine runs out.
 */
export const MAX_PROXY_PROCS = 64;
const nonEmpty = (v: string): string | undefined => (v === '' ? 'must not be empty' : undefined);
const zeroOrSecond = (v: number): string | undefined =>
  v !== 0 && v < SECOND ? 'must be 0 (off) or >= 1s' : undefined;

const k = key;
export const proxyConfigSchema: Schema<ProxyConfig> = {
  title: 'Codis-Proxy',
  keys: {
    product_name: k.string('codis-demo', 'Set Codis Product Name/Auth.', {
      validate: (v) => (PRODUCT_NAME_RE.test(v) ? undefined : 'must match ^\\w[\\w\\.\\-]*$'),
    }),
    product_auth: k.string('', undefined, { secret: true }),
    session_auth: k.string(
      '',
      'Set auth for client session\n' +
        '  1. product_auth is used for auth validation among codis-dashboard,\n' +
        '     codis-proxy and codis-server.\n' +
        '  2. session_auth is different from product_auth, it requires clients\n' +
        '     to issue AUTH <PASSWORD> before processing any other commands.',
      { secret: true },
    ),
    admin_addr: k.string('0.0.0.0:11080', 'Set bind address for admin(rpc), tcp only.', {
      validate: (v) => addrProblem(v, { allowEmptyHost: true, allowZeroPort: true }),
    }),
    proto_type: k.enum<ProtoType>(
      ['tcp', 'tcp4', 'tcp6', 'unix', 'unixpacket'],
      'tcp4',
      'Set bind address for proxy, proto_type can be "tcp", "tcp4", "tcp6", "unix" or "unixpacket".',
    ),
    proxy_addr: k.string('0.0.0.0:19000', undefined, { validate: nonEmpty }),
    jodis_name: k.enum<JodisName>(
      ['', 'zookeeper', 'zk', 'etcd', 'filesystem', 'fs'],
      '',
      'Set jodis address & session timeout\n' +
        '  1. jodis_name is short for jodis_coordinator_name, accepts "zookeeper" & "etcd".\n' +
        '  2. jodis_addr is short for jodis_coordinator_addr; jodis is off when it is empty.\n' +
        '  3. jodis_auth is "user:password" for the coordinator.\n' +
        '  4. proxy will be registered as node:\n' +
        '       if jodis_compatible = true (not suggested):\n' +
        '         /zk/codis/db_{PRODUCT_NAME}/proxy/{HASHID} (compatible with Codis2.0)\n' +
        '       or else\n' +
        '         /jodis/{PRODUCT_NAME}/proxy-{HASHID}',
    ),
    jodis_addr: k.string(''),
    jodis_auth: k.string(''),
    jodis_timeout: k.duration('20s', undefined, nonNegative),
    jodis_compatible: k.bool(false),
    proxy_datacenter: k.string('', 'Set datacenter of proxy.'),
    proxy_max_clients: k.int(
      1000,
      'Set max number of alive sessions (of all the workers together).',
      nonNegative,
    ),
    proxy_max_procs: k.int(
      0,
      `Set number of proxy worker processes serving the client port. (0 = 1 on up to 2 cores, else cores - 1; at most ${MAX_PROXY_PROCS})`,
      { min: 0, max: MAX_PROXY_PROCS },
    ),
    proxy_accept: k.enum<ProxyAccept>(
      ['primary', 'workers'],
      'primary',
      'Set who accepts client connections when there are worker processes.\n' +
        '  "primary": the primary hands each one to the worker with the fewest clients: an even\n' +
        '    spread, and proxy_max_clients is exact.\n' +
        '  "workers": every worker accepts on the shared port, with no hand-off: for clients that\n' +
        '    connect for each request. The kernel spreads the connections, unevenly when many come\n' +
        '    at once, and proxy_max_clients may be passed by a burst that reaches several workers.',
    ),
    proxy_max_offheap_size: k.size(
      '1024mb',
      'Set max offheap memory size. (0 to disable)\n' +
        'Accepted for compatibility with Codis; unused by codis-ts.',
      size,
    ),
    proxy_heap_placeholder: k.size(
      '256mb',
      'Set heap placeholder to reduce GC frequency.\n' +
        'Accepted for compatibility with Codis; unused by codis-ts.',
      size,
    ),
    backend_ping_period: k.duration(
      '5s',
      "Proxy will ping backend redis (and clear 'MASTERDOWN' state) in a predefined interval. (0 to disable)",
      { min: 0, validate: zeroOrSecond },
    ),
    backend_recv_bufsize: k.size('128kb', 'Set backend recv buffer size & timeout.', size),
    backend_recv_timeout: k.duration('30s', undefined, nonNegative),
    backend_send_bufsize: k.size('128kb', 'Set backend send buffer & timeout.', size),
    backend_send_timeout: k.duration('30s', undefined, nonNegative),
    backend_max_pipeline: k.int(20480, 'Set backend pipeline buffer size.', { min: 1 }),
    backend_primary_only: k.bool(false, 'Set backend never read replica groups, default is false'),
    backend_primary_parallel: k.int(
      1,
      'Set backend parallel connections per server (0 is treated as 1)',
      nonNegative,
    ),
    backend_replica_parallel: k.int(1, undefined, nonNegative),
    backend_keepalive_period: k.duration(
      '75s',
      'Set backend tcp keepalive period. (0 to disable)',
      nonNegative,
    ),
    backend_number_databases: k.int(16, 'Set number of databases of backend.', { min: 1 }),
    session_recv_bufsize: k.size(
      '128kb',
      'If there is no request from client for a long time, the connection will be closed. (0 to disable)\n' +
        'Set session recv buffer size & timeout.',
      size,
    ),
    session_recv_timeout: k.duration('30m', undefined, nonNegative),
    session_send_bufsize: k.size('64kb', 'Set session send buffer size & timeout.', size),
    session_send_timeout: k.duration('30s', undefined, nonNegative),
    session_max_pipeline: k.int(
      10000,
      'Make sure this is higher than the max number of requests for each pipeline request, or your client may be blocked.\n' +
        'Set session pipeline buffer size.',
      { min: 1 },
    ),
    session_max_request_size: k.size(
      '512mb',
      'Set max size of a single request; a larger request is a protocol error and closes the session.',
      { min: 1, max: MAX_SIZE },
    ),
    session_keepalive_period: k.duration(
      '75s',
      'Set session tcp keepalive period. (0 to disable)',
      nonNegative,
    ),
    session_break_on_failure: k.bool(
      false,
      'Set session to be sensitive to failures. Default is false, instead of closing socket, proxy will send an error response to client.',
    ),
    proxy_tracking_max_keys: k.int(
      100000,
      'Set how many keys the proxy (each worker) remembers for clients with CLIENT TRACKING on; past it\n' +
        'the oldest are invalidated for their readers, as Redis does past tracking-table-max-keys.',
      { min: 1 },
    ),
    proxy_forward_unknown_commands: k.bool(
      false,
      'Set how commands missing from the command table are handled. Default is false: they get\n' +
        '"-ERR unknown command". If true, they are routed by their first argument as Codis did.',
    ),
    metrics_report_server: k.string(
      '',
      'Set metrics server (such as http://localhost:28000), proxy will report json formatted metrics to specified server in a predefined period.',
    ),
    metrics_report_period: k.duration('1s', undefined, { min: SECOND }),
    metrics_report_influxdb_server: k.string(
      '',
      'Set influxdb server (such as http://localhost:8086), proxy will report metrics to influxdb.',
    ),
    metrics_report_influxdb_period: k.duration('1s', undefined, { min: SECOND }),
    metrics_report_influxdb_username: k.string(''),
    metrics_report_influxdb_password: k.string('', undefined, { secret: true }),
    metrics_report_influxdb_database: k.string(''),
    metrics_report_statsd_server: k.string(
      '',
      'Set statsd server (such as localhost:8125), proxy will report metrics to statsd.',
    ),
    metrics_report_statsd_period: k.duration('1s', undefined, { min: SECOND }),
    metrics_report_statsd_prefix: k.string(''),
  },
  check: (c) => {
    if (c.proto_type === 'unix' || c.proto_type === 'unixpacket') {
      if (c.proxy_addr === '') return { key: 'proxy_addr', problem: 'must not be empty' };
    } else {
      const problem = addrProblem(c.proxy_addr, { allowEmptyHost: true, allowZeroPort: true });
      if (problem) return { key: 'proxy_addr', problem: `${problem} (proto_type = ${c.proto_type})` };
    }
    if (c.jodis_addr !== '' && c.jodis_name === '')
      return { key: 'jodis_name', problem: 'required when jodis_addr is set' };
    if (c.jodis_name !== '' && c.jodis_addr === '')
      return { key: 'jodis_addr', problem: 'required when jodis_name is set' };
    return undefined;
  },
};

/** Keys left out of the JSON form (Overview `config`). */
export const PROXY_HIDDEN_KEYS = [
  'product_auth',
  'session_auth',
  'metrics_report_influxdb_password',
] as const;

export function defaultProxyConfig(): ProxyConfig {
  return defaults(proxyConfigSchema);
}

/** Throws ConfigError (one line, naming the key) unless every value is valid. */
export function validateProxyConfig(c: ProxyConfig): void {
  validate(proxyConfigSchema, c);
}

/**
 * Reads `path` over the defaults and validates; without a path, the defaults. Unknown keys are ignored
 * and passed to `warn` (default: a process warning on stderr).
 */
export function loadProxyConfig(path?: string, warn?: (msg: string) => void): ProxyConfig {
  return loadConfigFile(path, proxyConfigSchema, warn);
}

/** What `codis-proxy --default-config` prints; config/proxy.toml holds the same text. */
export function proxyConfigToml(): string {
  return renderToml(proxyConfigSchema, defaultProxyConfig());
}

/** The JSON form, without product_auth, session_auth and metrics_report_influxdb_password. */
export function proxyConfigJson(c: ProxyConfig): Record<string, unknown> {
  return toJson(proxyConfigSchema, c, PROXY_HIDDEN_KEYS);
}
