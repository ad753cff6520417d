/**
 * CONFIG SET, RESETSTAT and REWRITE through the proxy: every group runs the same stock server,
 * so a setting changed through the one endpoint is changed on every server that serves its
 * clients (each group's primary, and the replicas that serve reads), as Redis Cluster's
 * command tips ask (`request_policy:all_nodes`). CONFIG GET reads slot 0's group.
 *
 * The settings that the proxy and dashboard rely on to reach the servers are refused: a
 * password or address changed behind their back would cut the product off its data.
 */
import { error, OK } from '../resp/encode.js';
import { connections, fanOut, type BackendSession } from './EveryBackend.js';
import type { ProxyInfo } from './ProxyInfo.js';
import type { Request } from './Request.js';
import type { Router } from './Router.js';

/** Settings the product owns: the servers are reached with them. */
const PRODUCT_OWNED = new Set([
  'requirepass',
  'masterauth',
  'masteruser',
  'port',
  'tls-port',
  'bind',
  'bind-source-addr',
  'unixsocket',
  'unixsocketperm',
]);

export function config(router: Router, info: ProxyInfo, s: BackendSession, req: Request): void {
  const conns = connections(router, s, req.seed, true);
  switch (req.info.name) {
    case 'CONFIG|SET': {
      if (req.args.length < 4 || req.args.length % 2 !== 0) {
        return req.answer(error("ERR wrong number of arguments for 'config|set' command"));
      }
      for (let i = 2; i < req.args.length; i += 2) {
        const name = req.args[i]!.toString('latin1').toLowerCase();
        if (PRODUCT_OWNED.has(name)) {
          return req.answer(
            error(
              `ERR handle request, CONFIG SET ${name} is refused: the proxy and dashboard reach the servers with it; change it on each server and in the product's config`,
            ),
          );
        }
      }
      return fanOut(req, 'CONFIG SET', conns, () => OK);
    }
    case 'CONFIG|RESETSTAT':
      // The proxy's own counters first: INFO's Stats, Errorstats and Latencystats are its.
      void info.resetAllStats().then(
        () => fanOut(req, 'CONFIG RESETSTAT', conns, () => OK),
        (e: Error) => req.answer(error(`ERR handle request, CONFIG RESETSTAT: ${e.message}`)),
      );
      return;
    default:
      return fanOut(req, 'CONFIG REWRITE', conns, () => OK);
  }
}
