import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import {
  defaultProxyConfig,
  loadProxyConfig,
  proxyConfigJson,
  proxyConfigSchema,
  proxyConfigToml,
  validateProxyConfig,
  type ProxyConfig,
} from '../../src/proxy/Config.js';
import { ConfigError, loadToml } from '../../src/utils/config.js';

const PROXY_TOML = new URL('../../../config/proxy.toml', import.meta.url);

/** Every key of codis-3.md §7.1 with its Codis default (text form for sizes and durations). */
const CODIS_DEFAULTS: Record<string, string | number | boolean> = {
  product_name: 'codis-demo',
  product_auth: '',
  session_auth: '',
  admin_addr: '0.0.0.0:11080',
  proto_type: 'tcp4',
  proxy_addr: '0.0.0.0:19000',
  jodis_name: '',
  jodis_addr: '',
  jodis_auth: '',
  jodis_timeout: '20s',
  jodis_compatible: false,
  proxy_datacenter: '',
  proxy_max_clients: 1000,
  proxy_max_offheap_size: '1gb',
  proxy_heap_placeholder: '256mb',
  backend_ping_period: '5s',
  backend_recv_bufsize: '128kb',
  backend_recv_timeout: '30s',
  backend_send_bufsize: '128kb',
  backend_send_timeout: '30s',
  backend_max_pipeline: 20480,
  backend_primary_only: false,
  backend_primary_parallel: 1,
  backend_replica_parallel: 1,
  backend_keepalive_period: '75s',
  backend_number_databases: 16,
  session_recv_bufsize: '128kb',
  session_recv_timeout: '30m',
  session_send_bufsize: '64kb',
  session_send_timeout: '30s',
  session_max_pipeline: 10000,
  session_keepalive_period: '75s',
  session_break_on_failure: false,
  metrics_report_server: '',
  metrics_report_period: '1s',
  metrics_report_influxdb_server: '',
  metrics_report_influxdb_period: '1s',
  metrics_report_influxdb_username: '',
  metrics_report_influxdb_password: '',
  metrics_report_influxdb_database: '',
  metrics_report_statsd_server: '',
  metrics_report_statsd_period: '1s',
  metrics_report_statsd_prefix: '',
  // codis-ts additions
  proxy_forward_unknown_commands: false,
  session_max_request_size: '512mb',
  proxy_max_procs: 0,
  proxy_accept: 'primary',
  proxy_tracking_max_keys: 100000,
};

function withFile(text: string, fn: (path: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'codis-ts-cfg-'));
  try {
    const path = join(dir, 'proxy.toml');
    writeFileSync(path, text);
    fn(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    assert.ok(!e.message.includes('\n'));
    return e;
  }
  assert.fail('expected a ConfigError');
}

test('config/proxy.toml is exactly proxyConfigToml()', () => {
  assert.equal(readFileSync(PROXY_TOML, 'utf8'), proxyConfigToml());
});

test('the default file has every Codis key with its default, and re-parses to the defaults', () => {
  const doc = { ...parse(proxyConfigToml()) };
  assert.deepEqual(Object.keys(doc).sort(), Object.keys(CODIS_DEFAULTS).sort());
  assert.deepEqual(doc, CODIS_DEFAULTS);
  const { values, warnings } = loadToml(proxyConfigToml(), proxyConfigSchema);
  assert.deepEqual(values, defaultProxyConfig());
  assert.deepEqual(warnings, []);
  assert.equal(
    proxyConfigToml()
      .split('\n')
      .filter((l) => /^#\s/.test(l)).length > 30,
    true,
    'documented',
  );
});

test('defaults in parsed units', () => {
  const c = defaultProxyConfig();
  assert.equal(c.backend_ping_period, 5000);
  assert.equal(c.session_recv_timeout, 30 * 60 * 1000);
  assert.equal(c.proxy_max_offheap_size, 1024 ** 3);
  assert.equal(c.backend_recv_bufsize, 128 * 1024);
  assert.equal(c.session_max_request_size, 512 * 1024 ** 2);
  validateProxyConfig(c);
});

test('loadProxyConfig reads a file over the defaults and reports unknown keys', () => {
  withFile(
    'product_name = "p1"\nbackend_ping_period = "10s"\nproto_type = "TCP"\nno_such_key = 1\n',
    (path) => {
      const warnings: string[] = [];
      const c = loadProxyConfig(path, (w) => warnings.push(w));
      assert.equal(c.product_name, 'p1');
      assert.equal(c.backend_ping_period, 10_000);
      assert.equal(c.proto_type, 'tcp');
      assert.equal(c.proxy_max_clients, 1000);
      assert.deepEqual(warnings, [`${path}: unknown key "no_such_key" ignored`]);
    },
  );
  assert.deepEqual(loadProxyConfig(), defaultProxyConfig());
});

test('loadProxyConfig errors name the file and the key', () => {
  withFile('backend_ping_period = "5x"\n', (path) => {
    assert.equal(
      errorOf(() => loadProxyConfig(path)).message,
      `${path}: invalid backend_ping_period = "5x": not a duration`,
    );
  });
  assert.match(
    errorOf(() => loadProxyConfig('/nonexistent/proxy.toml')).message,
    /^cannot read config \/nonexistent/,
  );
});

test('validation rules', () => {
  const bad: [string, RegExp][] = [
    ['product_name = ""', /^invalid product_name = "": must match/],
    ['product_name = "a b"', /^invalid product_name = "a b": must match/],
    ['product_name = ".x"', /^invalid product_name/],
    ['admin_addr = ""', /^invalid admin_addr = "": empty/],
    ['admin_addr = "nohost"', /^invalid admin_addr = "nohost": missing port/],
    ['proxy_addr = ""', /^invalid proxy_addr = "": must not be empty/],
    ['proxy_addr = "x:99999"', /^invalid proxy_addr = "x:99999": port out of range/],
    ['proto_type = "udp"', /^invalid proto_type = "udp": must be one of "tcp", "tcp4"/],
    ['jodis_name = "redis"', /^invalid jodis_name = "redis": must be one of/],
    ['jodis_addr = "127.0.0.1:2181"', /^invalid jodis_name = "": required when jodis_addr is set/],
    ['jodis_name = "zookeeper"', /^invalid jodis_addr = "": required when jodis_name is set/],
    ['jodis_timeout = "-1s"', /^invalid jodis_timeout = "-1s": must be >= 0/],
    ['proxy_max_clients = -1', /^invalid proxy_max_clients = -1: must be >= 0/],
    ['proxy_max_procs = -1', /^invalid proxy_max_procs = -1: must be >= 0/],
    ['proxy_max_procs = 65', /^invalid proxy_max_procs = 65: must be <= 64/],
    ['proxy_tracking_max_keys = 0', /^invalid proxy_tracking_max_keys = 0: must be >= 1/],
    ['proxy_accept = "kernel"', /^invalid proxy_accept = "kernel": must be one of "primary", "workers"/],
    ['proxy_max_offheap_size = "-1mb"', /^invalid proxy_max_offheap_size = "-1mb": must be >= 0/],
    ['backend_ping_period = "500ms"', /^invalid backend_ping_period = "500ms": must be 0 \(off\) or >= 1s/],
    ['backend_max_pipeline = 0', /^invalid backend_max_pipeline = 0: must be >= 1/],
    ['backend_number_databases = 0', /^invalid backend_number_databases = 0: must be >= 1/],
    ['backend_primary_parallel = -2', /^invalid backend_primary_parallel = -2: must be >= 0/],
    ['session_max_pipeline = 0', /^invalid session_max_pipeline = 0: must be >= 1/],
    ['session_max_request_size = 0', /^invalid session_max_request_size = 0: must be >= 1/],
    ['session_recv_timeout = "1y"', /^invalid session_recv_timeout = "1y": not a duration/],
    ['metrics_report_period = "0"', /^invalid metrics_report_period = "0": must be >= 1s/],
    ['proxy_forward_unknown_commands = 1', /^invalid proxy_forward_unknown_commands = 1: not a boolean/],
    ['session_auth = 5', /^invalid session_auth: not a string$/],
  ];
  for (const [text, want] of bad) {
    assert.match(errorOf(() => loadToml(text, proxyConfigSchema)).message, want, text);
  }
  const good = [
    'backend_ping_period = 0',
    'backend_ping_period = "1s"',
    'proto_type = "unix"\nproxy_addr = "/tmp/codis.sock"',
    'admin_addr = "127.0.0.1:0"\nproxy_addr = ":0"',
    'proto_type = "tcp6"\nproxy_addr = "[::1]:19000"',
    'jodis_name = "etcd"\njodis_addr = "127.0.0.1:2379"',
    'proxy_max_clients = 0',
  ];
  for (const text of good) loadToml(text, proxyConfigSchema);
});

test('validateProxyConfig checks an object after overrides', () => {
  const c: ProxyConfig = { ...defaultProxyConfig(), product_name: 'bad name' };
  assert.match(errorOf(() => validateProxyConfig(c)).message, /^invalid product_name = "bad name"/);
  const d: ProxyConfig = { ...defaultProxyConfig(), backend_recv_timeout: -1 };
  assert.equal(
    errorOf(() => validateProxyConfig(d)).message,
    'invalid backend_recv_timeout = "-1ms": must be >= 0',
  );
});

test('the JSON form hides the secrets and writes units as strings', () => {
  const c: ProxyConfig = {
    ...defaultProxyConfig(),
    product_auth: 'pa',
    session_auth: 'sa',
    metrics_report_influxdb_password: 'ip',
  };
  const json = proxyConfigJson(c);
  for (const k of ['product_auth', 'session_auth', 'metrics_report_influxdb_password'])
    assert.ok(!(k in json), k);
  assert.ok(!JSON.stringify(json).includes('"pa"'));
  assert.equal(json.proxy_max_offheap_size, '1gb');
  assert.equal(json.backend_ping_period, '5s');
  assert.equal(json.session_recv_timeout, '30m');
  assert.equal(json.proxy_max_clients, 1000);
  assert.equal(json.backend_primary_only, false);
  assert.equal(Object.keys(json).length, Object.keys(CODIS_DEFAULTS).length - 3);
});
