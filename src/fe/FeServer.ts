/**
 * codis-fe's HTTP server (§9.1):
 * - `GET /list`: sorted names of the products that have a dashboard;
 * - any other path with `?forward=<product>`: passed on unchanged to that product's dashboard
 *   (403 with a JSON cause when the product is unknown);
 * - everything else: the page's static files.
 */
import type { FastifyInstance } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHttpServer, forbidden, HttpError, listenHttp, notFound } from '../utils/http.js';
import type { Logger } from '../utils/log.js';
import { readAsset } from './assets.js';
import { Forwarder, sendJsonError } from './Forwarder.js';
import type { ProductTable } from './ProductTable.js';

export interface FeServerOptions {
  products: ProductTable;
  /** Folder holding index.html and the page's scripts (see assets.ts). */
  assetsDir: string;
  log?: Logger;
}

/** The `forward` query parameter of a URL: undefined when absent, '' when empty. */
export function forwardParam(url: string): string | undefined {
  const q = url.indexOf('?');
  if (q < 0) return undefined;
  const value = new URLSearchParams(url.slice(q + 1)).get('forward');
  return value ?? undefined;
}

function urlPath(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

export class FeServer {
  readonly app: FastifyInstance;
  private readonly forwarder = new Forwarder();

  constructor(private readonly opts: FeServerOptions) {
    const log = opts.log;
    this.app = createHttpServer({
      logRequests: log ? (method, url, ip) => log.info(`${method} ${url} from ${ip}`) : undefined,
    });
    const app = this.app;

    // Forwarded calls are handled before Fastify reads the body, so it streams through untouched.
    // Anything else that is not a page file is an API call missing its product.
    app.addHook('onRequest', async (req, reply) => {
      const product = forwardParam(req.url);
      if (urlPath(req.url) === '/list') return;
      if (product === undefined) {
        if (req.method !== 'GET' && req.method !== 'HEAD') throw missingForward();
        return;
      }
      reply.hijack();
      await this.forward(req.raw, reply.raw, product);
    });

    app.get('/list', async () => {
      try {
        return await opts.products.names();
      } catch (e) {
        log?.warn(`product list: ${(e as Error).message}`);
        throw new HttpError(503, `product list unavailable: ${(e as Error).message}`);
      }
    });

    app.get('/*', async (req, reply) => {
      const path = urlPath(req.url);
      const asset = await readAsset(opts.assetsDir, path);
      if (asset) {
        return reply.type(asset.type).header('cache-control', 'no-cache').send(asset.body);
      }
      throw path.startsWith('/api/') || path.startsWith('/topom')
        ? missingForward()
        : notFound(`no such file: ${path}`);
    });
  }

  private async forward(req: IncomingMessage, res: ServerResponse, product: string): Promise<void> {
    if (product === '') return sendJsonError(res, 403, 'missing product name in ?forward=');
    let dashboard: string | undefined;
    try {
      dashboard = await this.opts.products.lookup(product);
    } catch (e) {
      return sendJsonError(res, 503, `product list unavailable: ${(e as Error).message}`);
    }
    if (dashboard === undefined)
      return sendJsonError(res, 403, `product ${JSON.stringify(product)} is unknown or has no dashboard`);
    const failed = await this.forwarder.forward(req, res, dashboard, `dashboard of product ${product}`);
    if (failed) this.opts.log?.warn(`${req.method} ${req.url}: ${failed}`);
  }

  /** Listens on `host:port` and returns the bound address. */
  listen(addr: string): Promise<string> {
    return listenHttp(this.app, addr);
  }

  async close(): Promise<void> {
    this.forwarder.close();
    await this.app.close();
  }
}

function missingForward(): HttpError {
  return forbidden('missing ?forward=<product>: codis-fe passes API calls on to a product dashboard');
}
