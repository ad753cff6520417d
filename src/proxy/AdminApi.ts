/**
 * The proxy's admin HTTP API (Codis 3.2 paths and shapes): overview, model, stats, slots,
 * and the xauth-protected calls the dashboard makes (fillslots, start, sentinels, …).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parseSlotsJson } from '../models/Slot.js';
import { proxyModelToJson } from '../models/Proxy.js';
import { badRequest, createHttpServer, forbidden, HttpError } from '../utils/http.js';
import { parseLogLevel, type Logger } from '../utils/log.js';
import { proxyConfigJson } from './Config.js';
import { VERSION } from './Proxy.js';
import type { ProxyControl } from './ProxyControl.js';
import { StatsFlags } from './StatsJson.js';

export interface AdminHooks {
  /** Called after `PUT /api/proxy/shutdown`: the process exits. */
  onShutdown(): void;
}

type XAuthReq = FastifyRequest<{ Params: { xauth: string } }>;

export function createAdminApi(proxy: ProxyControl, log: Logger, hooks: AdminHooks): FastifyInstance {
  const app = createHttpServer({
    logRequests: (m, url, ip) => log.info(`admin API ${m} ${url} from ${ip}`),
  });
  const check = (req: XAuthReq) => {
    const x = req.params.xauth;
    if (!x) throw forbidden('missing xauth, please check product name & auth');
    if (x !== proxy.xauth) throw forbidden('invalid xauth, please check product name & auth');
    if (proxy.closed) throw new HttpError(503, 'use of closed proxy');
  };
  const model = () => proxyModelToJson(proxy.model);
  const overview = async () => ({
    version: VERSION,
    compile: `node ${process.version}`,
    config: proxyConfigJson(proxy.config),
    model: model(),
    stats: await proxy.stats(StatsFlags.Cmd | StatsFlags.Runtime),
    slots: proxy.slots(),
  });

  app.get('/', async (_req, reply) => reply.redirect('/proxy'));
  app.get('/proxy', async () => overview());
  app.get('/proxy/model', async () => model());
  app.get('/proxy/stats', async () => proxy.stats(StatsFlags.Cmd | StatsFlags.Runtime));
  app.get('/proxy/slots', async () => proxy.slots());
  app.get('/api/proxy/model', async () => model());
  app.get('/api/proxy/xping/:xauth', async (req: XAuthReq) => (check(req), 'OK'));
  app.get('/api/proxy/stats/:xauth', async (req: XAuthReq) => (check(req), proxy.stats(0)));
  app.get(
    '/api/proxy/stats/:xauth/:flags',
    async (req: FastifyRequest<{ Params: { xauth: string; flags: string } }>) => {
      check(req);
      const f = req.params.flags;
      if (!/^-?\d+$/.test(f)) throw badRequest(`strconv.Atoi: parsing "${f}": invalid syntax`);
      return proxy.stats(Number(f));
    },
  );
  app.get('/api/proxy/slots/:xauth', async (req: XAuthReq) => (check(req), proxy.slots()));
  app.put('/api/proxy/start/:xauth', async (req: XAuthReq) => {
    check(req);
    await proxy.start();
    return 'OK';
  });
  app.put('/api/proxy/stats/reset/:xauth', async (req: XAuthReq) => {
    check(req);
    await proxy.resetStats();
    return 'OK';
  });
  app.put('/api/proxy/forcegc/:xauth', async (req: XAuthReq) => {
    check(req);
    (globalThis as { gc?: () => void }).gc?.();
    return 'OK';
  });
  app.put('/api/proxy/shutdown/:xauth', async (req: XAuthReq) => {
    check(req);
    setImmediate(() => hooks.onShutdown());
    return 'OK';
  });
  app.put(
    '/api/proxy/loglevel/:xauth/:value',
    async (req: FastifyRequest<{ Params: { xauth: string; value: string } }>) => {
      check(req);
      try {
        parseLogLevel(req.params.value);
      } catch {
        throw badRequest(`invalid loglevel = ${req.params.value}`);
      }
      await proxy.setLogLevel(req.params.value);
      return 'OK';
    },
  );
  app.put('/api/proxy/fillslots/:xauth', async (req: XAuthReq) => {
    check(req);
    let slots;
    try {
      slots = parseSlotsJson(req.body);
    } catch (e) {
      throw badRequest((e as Error).message);
    }
    await proxy.fillSlots(slots);
    return 'OK';
  });
  // codis-ts extension for big-key migration: hold or release one key of a migrating slot.
  app.put('/api/proxy/keyhold/:xauth', async (req: XAuthReq) => {
    check(req);
    const b = req.body as { slot?: unknown; db?: unknown; key?: unknown; hold?: unknown } | undefined;
    const slot = b?.slot;
    const db = b?.db ?? 0;
    if (typeof slot !== 'number' || !Number.isInteger(slot) || slot < 0 || slot >= 1024) {
      throw badRequest('invalid slot: expected an integer in [0,1024)');
    }
    if (typeof db !== 'number' || !Number.isInteger(db) || db < 0 || db >= proxy.numDatabases) {
      throw badRequest(`invalid db: expected an integer in [0,${proxy.numDatabases})`);
    }
    if (typeof b?.key !== 'string') throw badRequest('invalid key: expected base64 text');
    const key = Buffer.from(b.key, 'base64');
    if (b.hold === false) await proxy.releaseKey(slot, db, key);
    else await proxy.holdKey(slot, db, key);
    return 'OK';
  });
  const setSentinels = (servers: string[]) => proxy.setSentinels(servers);
  app.put('/api/proxy/sentinels/:xauth', async (req: XAuthReq) => {
    check(req);
    const body = req.body as { servers?: unknown } | undefined;
    const servers = body?.servers ?? [];
    if (
      typeof body !== 'object' ||
      body === null ||
      !Array.isArray(servers) ||
      servers.some((s) => typeof s !== 'string')
    ) {
      throw badRequest('invalid sentinel model: expected {"servers": ["host:port", ...]}');
    }
    await setSentinels(servers as string[]);
    return 'OK';
  });
  app.put('/api/proxy/sentinels/:xauth/rewatch', async (req: XAuthReq) => {
    check(req);
    await setSentinels(proxy.sentinels);
    return 'OK';
  });
  return app;
}
