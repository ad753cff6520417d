/**
 * The dashboard's admin HTTP API (Codis topom_api.go): every route of §4.2 with the same paths,
 * methods and xauth. Mutations answer "OK"; errors are a proper 4xx/5xx with `{"cause": …}`:
 * 400 bad input, 403 xauth, 404 unknown group/slot/proxy/server/sentinel, 409 conflicts, 502 a
 * proxy/redis/sentinel failed, 503 not online (or the coordinator failed).
 *
 * Unlike Codis, the unauthenticated `group/info` and `sentinels/info` calls only answer for
 * servers of a group and configured sentinels, and no secret is ever in a GET answer.
 * Extras: `GET /api/topom/group/status/:xauth` (expected vs actual master link of every server);
 * slot migration: `GET /api/topom/slots/progress/:xauth` (per-slot progress, rates, ETA),
 * `PUT /api/topom/slots/action/rate/:xauth` with `{keys_per_sec?, bytes_per_sec?, batch_keys?,
 * pause_ms?}` (answers the settings now in force), `PUT /api/topom/slots/action/abort/:xauth/:sid`
 * (answers `cancelled` or `reversed`, see SlotActions.reverse).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { topomToJson } from '../models/Topom.js';
import { badRequest, createHttpServer, forbidden, HttpError } from '../utils/http.js';
import type { Topom } from './Topom.js';

export interface ApiHooks {
  /** After `PUT /api/topom/shutdown`: close and exit. */
  onShutdown(): void;
}

type Req = FastifyRequest<{ Params: Record<string, string | undefined> }>;

const OK = 'OK';

export function createTopomApi(t: Topom, hooks: ApiHooks): FastifyInstance {
  const app = createHttpServer({
    logRequests: (m, url, ip) => t.log.info(`admin API ${m} ${url} from ${ip}`),
  });

  /** The xauth runs first (Codis order), then "closed". */
  const check = (req: Req) => {
    const x = req.params.xauth;
    if (!x) throw forbidden('missing xauth, please check product name & auth');
    if (x !== t.xauth) throw forbidden('invalid xauth, please check product name & auth');
    if (t.closed) throw new HttpError(503, 'use of closed topom');
  };
  const str = (req: Req, name: string): string => {
    const v = req.params[name];
    if (!v) throw badRequest(`missing ${name}`);
    return v;
  };
  const int = (req: Req, name: string): number => {
    const v = str(req, name);
    if (!/^[+-]?\d{1,15}$/.test(v)) throw badRequest(`invalid ${name}`);
    return Number(v);
  };
  const flag = (req: Req, name: string): boolean => int(req, name) !== 0;
  const model = () => topomToJson(t.model);

  /** An authenticated PUT answering "OK". */
  const put = (path: string, f: (req: Req) => Promise<unknown> | unknown) =>
    app.put(path, async (req: Req) => {
      check(req);
      await f(req);
      return OK;
    });

  app.get('/', async (_req, reply) => reply.redirect('/topom'));
  app.get('/topom', () => t.stats.overview());
  app.get('/topom/model', async () => model());
  app.get('/topom/stats', () => t.stats.stats());
  app.get('/topom/slots', () => t.slots.slots());
  app.get('/api/topom/model', async () => model());
  app.get('/api/topom/xping/:xauth', async (req: Req) => (check(req), OK));
  app.get('/api/topom/stats/:xauth', async (req: Req) => (check(req), t.stats.stats()));
  app.get('/api/topom/slots/:xauth', async (req: Req) => (check(req), t.slots.slots()));
  app.get('/api/topom/group/status/:xauth', async (req: Req) => (check(req), t.groups.status()));

  put('/api/topom/reload/:xauth', () => t.reload());
  put('/api/topom/shutdown/:xauth', () => void setImmediate(() => hooks.onShutdown()));
  put('/api/topom/loglevel/:xauth/:value', (req) => {
    const v = str(req, 'value');
    try {
      t.log.setLevel(v);
    } catch {
      throw badRequest(`invalid loglevel = ${v}`);
    }
  });

  put('/api/topom/proxy/create/:xauth/:addr', (req) => t.proxies.create(str(req, 'addr')));
  put('/api/topom/proxy/online/:xauth/:addr', (req) => t.proxies.online(str(req, 'addr')));
  put('/api/topom/proxy/reinit/:xauth/:token', (req) => t.proxies.reinitProxy(str(req, 'token')));
  put('/api/topom/proxy/remove/:xauth/:token/:force', (req) =>
    t.proxies.remove(str(req, 'token'), flag(req, 'force')),
  );

  put('/api/topom/group/create/:xauth/:gid', (req) => t.groups.create(int(req, 'gid')));
  put('/api/topom/group/remove/:xauth/:gid', (req) => t.groups.remove(int(req, 'gid')));
  put('/api/topom/group/resync/:xauth/:gid', (req) => t.groups.resyncGroup(int(req, 'gid')));
  put('/api/topom/group/resync-all/:xauth', () => t.groups.resyncAll());
  put('/api/topom/group/add/:xauth/:gid/:addr', (req) =>
    t.groups.addServer(int(req, 'gid'), str(req, 'addr')),
  );
  put('/api/topom/group/add/:xauth/:gid/:addr/:datacenter', (req) =>
    t.groups.addServer(int(req, 'gid'), str(req, 'addr'), req.params.datacenter ?? ''),
  );
  put('/api/topom/group/del/:xauth/:gid/:addr', (req) =>
    t.groups.delServer(int(req, 'gid'), str(req, 'addr')),
  );
  put('/api/topom/group/promote/:xauth/:gid/:addr', (req) =>
    t.groups.promote(int(req, 'gid'), str(req, 'addr')),
  );
  put('/api/topom/group/replica-groups/:xauth/:gid/:addr/:value', (req) =>
    t.groups.replicaGroups(int(req, 'gid'), str(req, 'addr'), flag(req, 'value')),
  );
  put('/api/topom/group/replica-groups-all/:xauth/:value', (req) =>
    t.groups.replicaGroupsAll(flag(req, 'value')),
  );
  put('/api/topom/group/action/create/:xauth/:addr', (req) => t.groups.syncCreate(str(req, 'addr')));
  put('/api/topom/group/action/remove/:xauth/:addr', (req) => t.groups.syncRemove(str(req, 'addr')));
  app.get('/api/topom/group/info/:addr', (req: Req) => t.groups.info(str(req, 'addr')));

  put('/api/topom/slots/action/create/:xauth/:sid/:gid', (req) =>
    t.slots.createAction(int(req, 'sid'), int(req, 'gid')),
  );
  put('/api/topom/slots/action/create-some/:xauth/:src/:dst/:num', (req) =>
    t.slots.createActionSome(int(req, 'src'), int(req, 'dst'), int(req, 'num')),
  );
  put('/api/topom/slots/action/create-range/:xauth/:beg/:end/:gid', (req) =>
    t.slots.createActionRange(int(req, 'beg'), int(req, 'end'), int(req, 'gid')),
  );
  put('/api/topom/slots/action/remove/:xauth/:sid', (req) => t.slots.removeAction(int(req, 'sid')));
  put('/api/topom/slots/action/interval/:xauth/:value', (req) => t.actions.setInterval(int(req, 'value')));
  put('/api/topom/slots/action/disabled/:xauth/:value', (req) => t.actions.setDisabled(flag(req, 'value')));
  app.put('/api/topom/slots/action/rate/:xauth', async (req: Req) => {
    check(req);
    return t.actions.setRate(req.body);
  });
  app.put('/api/topom/slots/action/abort/:xauth/:sid', async (req: Req) => {
    check(req);
    t.checkOnline();
    return t.actions.abort(int(req, 'sid'));
  });
  app.get('/api/topom/slots/progress/:xauth', async (req: Req) => (check(req), t.stats.progress()));
  put('/api/topom/slots/assign/:xauth', (req) => t.slots.assign(req.body, false));
  put('/api/topom/slots/assign/:xauth/offline', (req) => t.slots.assign(req.body, true));
  app.put('/api/topom/slots/rebalance/:xauth/:confirm', async (req: Req) => {
    check(req);
    return t.slots.rebalance(flag(req, 'confirm'));
  });

  put('/api/topom/sentinels/add/:xauth/:addr', (req) => t.sentinels.add(str(req, 'addr')));
  put('/api/topom/sentinels/del/:xauth/:addr/:force', (req) =>
    t.sentinels.del(str(req, 'addr'), flag(req, 'force')),
  );
  put('/api/topom/sentinels/resync-all/:xauth', () => t.sentinels.resyncAll());
  app.get('/api/topom/sentinels/info/:addr', (req: Req) => t.sentinels.info(str(req, 'addr')));
  app.get('/api/topom/sentinels/info/:addr/monitored', (req: Req) => t.sentinels.monitored(str(req, 'addr')));

  return app;
}
