/**
 * Proxies (Codis topom_proxy.go): create / online / reinit / remove, and pushing slots and the
 * sentinel list to every proxy. A proxy is reached by the admin address it reports in its model,
 * with the proxy xauth (product name, product_auth and the proxy's token).
 */
import type { ProxyModel } from '../models/Proxy.js';
import type { SlotJson } from '../models/Slot.js';
import type { SlotMapping } from '../models/SlotMapping.js';
import { decodeProxy } from '../models/Store.js';
import { addrProblem } from '../utils/addr.js';
import { badRequest, conflict, HttpError } from '../utils/http.js';
import { rpc, RpcError } from '../utils/rpc.js';
import type { Context } from './context.js';
import type { Topom } from './Topom.js';

const MODEL_TIMEOUT_MS = 5000;
const CALL_TIMEOUT_MS = 10_000;
/** fillslots waits, in the proxy, for requests in flight on the slots' old backends. */
const FILL_TIMEOUT_MS = 30_000;

/** A proxy (or another remote) failed: 502 with the cause. */
export const badGateway = (msg: string) => new HttpError(502, msg);

export interface FailedProxy {
  token: string;
  admin_addr: string;
  cause: string;
}

/** Some proxies did not take a push (fillslots, keyhold, …): 502, naming each of them. */
export class ProxyPushError extends HttpError {
  constructor(
    readonly what: string,
    readonly failed: FailedProxy[],
  ) {
    super(502, failed.map((f) => `proxy-[${f.token}] ${what} failed: ${f.cause}`).join('; '));
  }
}

/** Pushes to every proxy in parallel; throws ProxyPushError naming those that failed (after all answered). */
export async function pushAll(
  proxies: readonly ProxyModel[],
  what: string,
  f: (p: ProxyModel) => Promise<unknown>,
): Promise<void> {
  const results = await Promise.allSettled(proxies.map((p) => f(p)));
  const failed: FailedProxy[] = [];
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') return;
    const p = proxies[i]!;
    failed.push({ token: p.token, admin_addr: p.admin_addr, cause: causeOf(r.reason) });
  });
  if (failed.length > 0) throw new ProxyPushError(what, failed);
}

function causeOf(e: unknown): string {
  return (e as Error).message;
}

export class TopomProxy {
  /** Admin addresses being re-onlined by the stats loop. */
  private readonly onlining = new Set<string>();

  constructor(private readonly t: Topom) {}

  /** GET /api/proxy/model, then xping with our xauth: the proxy must be of this product and auth. */
  private async fetch(addr: string): Promise<ProxyModel> {
    const problem = addrProblem(addr);
    if (problem) throw badRequest(`invalid proxy address ${JSON.stringify(addr)}: ${problem}`);
    let p: ProxyModel;
    try {
      p = decodeProxy(await rpc.get<unknown>(addr, '/api/proxy/model', { timeoutMs: MODEL_TIMEOUT_MS }));
    } catch (e) {
      throw badGateway(`proxy@${addr} fetch model failed, ${causeOf(e)}`);
    }
    delete p.id;
    if (p.product_name !== this.t.product)
      throw conflict(`proxy@${addr} belongs to product '${p.product_name}', not '${this.t.product}'`);
    try {
      await rpc.get(p.admin_addr, `/api/proxy/xping/${this.t.proxyXAuth(p.token)}`, {
        timeoutMs: MODEL_TIMEOUT_MS,
      });
    } catch (e) {
      const suffix = `, ${causeOf(e)}`;
      if (e instanceof RpcError && e.status === 403)
        throw conflict(`proxy@${addr} check xauth failed (product_auth differs)${suffix}`);
      throw badGateway(`proxy@${addr} check xauth failed${suffix}`);
    }
    return p;
  }

  /** PUT /api/topom/proxy/create: a new proxy (its token must be new), then reinit. */
  create(addr: string): Promise<void> {
    return this.t.run(async (ctx) => {
      const p = await this.fetch(addr);
      if (ctx.proxy.has(p.token)) throw conflict(`proxy-[${p.token}] already exists`);
      p.id = ctx.maxProxyId() + 1;
      await this.t.cache.updateProxy(p);
      ctx.proxy.set(p.token, p);
      this.t.log.info(`proxy-[${p.token}] created: id ${p.id}, admin ${p.admin_addr}, proxy ${p.proxy_addr}`);
      await this.reinit(ctx, p);
    });
  }

  /** PUT /api/topom/proxy/online: add or refresh (a known token keeps its id), then reinit. */
  online(addr: string): Promise<void> {
    return this.t.run(async (ctx) => {
      const p = await this.fetch(addr);
      const old = ctx.proxy.get(p.token);
      p.id = old?.id ?? ctx.maxProxyId() + 1;
      await this.t.cache.updateProxy(p);
      ctx.proxy.set(p.token, p);
      this.t.log.info(`proxy-[${p.token}] online: id ${p.id}, admin ${p.admin_addr}, proxy ${p.proxy_addr}`);
      await this.reinit(ctx, p);
    });
  }

  reinitProxy(token: string): Promise<void> {
    return this.t.run(async (ctx) => this.reinit(ctx, ctx.getProxy(token)));
  }

  /** Shuts the proxy down and forgets it; with force, forgets it even if it does not answer. */
  remove(token: string, force: boolean): Promise<void> {
    return this.t.run(async (ctx) => {
      const p = ctx.getProxy(token);
      try {
        await rpc.put(p.admin_addr, `/api/proxy/shutdown/${this.t.proxyXAuth(p.token)}`, undefined, {
          timeoutMs: CALL_TIMEOUT_MS,
        });
      } catch (e) {
        if (!force) throw badGateway(`proxy-[${token}] shutdown failed: ${causeOf(e)}`);
        this.t.log.warn(`proxy-[${token}] shutdown failed (removed anyway): ${causeOf(e)}`);
      }
      await this.t.cache.deleteProxy(token);
      ctx.proxy.delete(token);
      this.t.log.info(`proxy-[${token}] removed`);
    });
  }

  put(p: ProxyModel, what: string, body?: unknown, timeoutMs = CALL_TIMEOUT_MS): Promise<unknown> {
    return rpc.put(p.admin_addr, `/api/proxy/${what}/${this.t.proxyXAuth(p.token)}`, body, { timeoutMs });
  }

  /**
   * All 1024 slots (ordered for this proxy), the key holds of big keys being moved now (a proxy
   * that restarted must not touch them either), then start, then the sentinel list.
   */
  async reinit(ctx: Context, p: ProxyModel): Promise<void> {
    const step = async (what: string, f: () => Promise<unknown>) => {
      try {
        await f();
      } catch (e) {
        throw badGateway(`proxy-[${p.token}] ${what} failed: ${causeOf(e)}`);
      }
    };
    await step('fillslots', () => this.put(p, 'fillslots', ctx.toSlotSlice(ctx.slots, p), FILL_TIMEOUT_MS));
    for (const hold of this.t.keyHolder.active())
      await step('keyhold', () => this.put(p, 'keyhold', hold, FILL_TIMEOUT_MS));
    await step('start', () => this.put(p, 'start'));
    await step('set sentinels', () => this.put(p, 'sentinels', this.sentinelBody(ctx)));
  }

  private sentinelBody(ctx: Context): Record<string, unknown> {
    return { servers: ctx.sentinel.servers ?? [], out_of_sync: ctx.sentinel.out_of_sync };
  }

  /** Calls f on every proxy in parallel; any failure fails the whole call (after all answered). */
  private async fanOut(ctx: Context, what: string, f: (p: ProxyModel) => Promise<unknown>): Promise<void> {
    try {
      await pushAll(ctx.proxies(), what, f);
    } catch (e) {
      if (e instanceof ProxyPushError)
        for (const x of e.failed) this.t.log.warn(`proxy-[${x.token}] ${what} failed: ${x.cause}`);
      throw e;
    }
  }

  /** Pushes these slots (as the context sees them) to every proxy. */
  resyncSlotMappings(ctx: Context, slots: readonly SlotMapping[]): Promise<void> {
    if (slots.length === 0) return Promise.resolve();
    return this.fanOut(ctx, 'resync slots', (p) =>
      this.put(p, 'fillslots', ctx.toSlotSlice(slots, p) satisfies SlotJson[], FILL_TIMEOUT_MS),
    );
  }

  /** Pushes the sentinel list to every proxy. */
  resyncSentinels(ctx: Context): Promise<void> {
    return this.fanOut(ctx, 'sentinel', (p) => this.put(p, 'sentinels', this.sentinelBody(ctx)));
  }

  /**
   * A stored proxy answered "not online, not closed": it restarted (same token). Bring it online
   * again in the background (the stats loop calls this), once at a time per address.
   */
  autoOnline(p: ProxyModel): void {
    if (this.onlining.has(p.admin_addr) || !this.t.online) return;
    this.onlining.add(p.admin_addr);
    this.t.log.warn(`proxy-[${p.token}] at ${p.admin_addr} is offline: bringing it online again`);
    this.online(p.admin_addr)
      .catch((e) => this.t.log.warn(`proxy-[${p.token}] auto online failed: ${causeOf(e)}`))
      .finally(() => this.onlining.delete(p.admin_addr));
  }
}
