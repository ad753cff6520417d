/**
 * A stand-in for codis-dashboard's HTTP API (reference §4.2) that records every call, for testing
 * codis-admin's paths and printing without a real product. Protected routes check the xauth of
 * product `fake`; a PUT answers "OK" unless `failures` names a cause for its path prefix, which
 * comes back as a 400 with `{"cause": …}` like our dashboard's errors.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { topomXAuth } from '../../src/utils/xauth.js';

export const PRODUCT = 'fake';
export const XAUTH = topomXAuth(PRODUCT);

export interface Call {
  method: string;
  path: string;
  body: unknown;
}

export interface FakeDashboard {
  readonly addr: string;
  readonly calls: Call[];
  /** Path prefix (after `/api/topom/`, e.g. `group/create/`) → error cause. */
  readonly failures: Map<string, string>;
  /** The answer of `slots/rebalance`. */
  plan: Record<string, number>;
  stats: Record<string, unknown>;
  /** Mutations only (PUT), as paths with the xauth replaced by `X`. */
  puts(): string[];
  close(): Promise<void>;
}

const proxyModel = (id: number, token: string, admin: string, proxy: string) => ({
  id,
  token,
  start_time: '2026-01-01 00:00:00',
  admin_addr: admin,
  proto_type: 'tcp4',
  proxy_addr: proxy,
  product_name: PRODUCT,
  pid: 1,
  pwd: '/',
  sys: 'Linux',
  hostname: 'h',
  datacenter: '',
});

const server = (addr: string) => ({ server: addr, datacenter: '', action: {}, replica_group: false });

/** Stats with every status mark: see the expectations in dashboard.test.ts. */
export function sampleStats(): Record<string, unknown> {
  return {
    closed: false,
    slots: Array.from({ length: 1024 }, (_, id) => ({ id, group_id: id < 512 ? 1 : 2, action: {} })),
    group: {
      models: [
        {
          id: 1,
          servers: [server('127.0.0.1:6379'), server('127.0.0.1:6380')],
          promoting: {},
          out_of_sync: false,
        },
        {
          id: 12,
          servers: [server('127.0.0.1:16379'), server('127.0.0.1:16380'), server('10.0.0.1:7000')],
          promoting: {},
          out_of_sync: false,
        },
      ],
      stats: {
        '127.0.0.1:6379': { stats: { run_id: 'a' }, unixtime: 1 },
        '127.0.0.1:6380': {
          stats: { master_addr: '127.0.0.1:6379', master_link_status: 'up' },
          unixtime: 1,
        },
        '127.0.0.1:16379': { stats: { master_addr: '127.0.0.1:1', master_link_status: 'down' }, unixtime: 1 },
        '127.0.0.1:16380': { error: { cause: 'connection refused' }, unixtime: 1 },
        // 10.0.0.1:7000 has no entry: [?]
      },
    },
    proxy: {
      models: [
        proxyModel(1, 'aaaa', '127.0.0.1:11080', '127.0.0.1:19000'),
        proxyModel(2, 'bbbb', '127.0.0.1:211080', '127.0.0.1:19001'),
        proxyModel(10, 'cccc', '127.0.0.1:11082', '127.0.0.1:219002'),
      ],
      stats: {
        aaaa: { stats: { online: true }, unixtime: 1 },
        bbbb: { timeout: true, unixtime: 1 },
      },
    },
    slot_action: { interval: 0, disabled: false, progress: { status: '' }, executor: 0 },
    sentinels: { model: { out_of_sync: false }, stats: {}, masters: {} },
  };
}

export async function startFakeDashboard(): Promise<FakeDashboard> {
  const calls: Call[] = [];
  const failures = new Map<string, string>();
  let addr = '';
  const state = { plan: {} as Record<string, number>, stats: sampleStats() };
  const model = () => ({
    token: 'tttt',
    start_time: '2026-01-01 00:00:00',
    admin_addr: addr,
    product_name: PRODUCT,
    pid: 1,
    pwd: '/',
    sys: 'Linux',
  });

  const srv: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      const body: unknown = raw ? JSON.parse(raw) : undefined;
      calls.push({ method: req.method ?? '', path, body });
      const send = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(value, null, 4));
      };
      const fail = (status: number, cause: string) => send(status, { cause, Cause: cause, Stack: null });
      if (req.method === 'GET' && path === '/topom')
        return send(200, {
          version: 'fake',
          compile: 'fake',
          config: { admin_addr: addr },
          model: model(),
          stats: state.stats,
        });
      if (req.method === 'GET' && path === '/api/topom/model') return send(200, model());
      const m =
        /^\/api\/topom\/(.+?)\/([0-9a-f]{32})(\/.*)?$/.exec(path) ?? /^\/api\/topom\/(.+?)()$/.exec(path);
      if (!m) return fail(404, `no such API: ${req.method} ${path}`);
      const [, route, xauth, rest = ''] = m;
      if (xauth !== XAUTH) return fail(403, 'invalid xauth, please check product name & auth');
      if (req.method === 'GET') {
        if (route === 'xping') return send(200, 'OK');
        if (route === 'stats') return send(200, state.stats);
        if (route === 'slots')
          return send(200, [{ id: 0, backend_addr: '127.0.0.1:6379', backend_addr_group_id: 1 }]);
        return fail(404, `no such API: GET ${path}`);
      }
      const key = `${route}/${rest.slice(1)}`;
      for (const [prefix, cause] of failures) if (key.startsWith(prefix)) return fail(400, cause);
      if (route === 'slots/rebalance') return send(200, state.plan);
      return send(200, 'OK');
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  addr = `127.0.0.1:${(srv.address() as AddressInfo).port}`;
  return {
    addr,
    calls,
    failures,
    get plan() {
      return state.plan;
    },
    set plan(p) {
      state.plan = p;
    },
    get stats() {
      return state.stats;
    },
    set stats(s) {
      state.stats = s;
    },
    puts: () => calls.filter((c) => c.method === 'PUT').map((c) => c.path.replace(XAUTH, 'X')),
    close: () => new Promise<void>((r) => srv.close(() => r())),
  };
}
