/**
 * Shared setup of the admin HTTP servers (proxy and dashboard): Codis-style JSON (pretty,
 * 4-space indent, mutations answer the JSON string "OK"), and errors as a proper 4xx/5xx
 * with a body that both Codis tools (`Cause`) and ours (`cause`) read.
 */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const badRequest = (msg: string) => new HttpError(400, msg);
export const forbidden = (msg: string) => new HttpError(403, msg);
export const notFound = (msg: string) => new HttpError(404, msg);
export const conflict = (msg: string) => new HttpError(409, msg);

export function createHttpServer(
  opts: { logRequests?: (method: string, url: string, ip: string) => void } = {},
): FastifyInstance {
  // forceCloseConnections: a clean shutdown must not wait for callers' keep-alive connections.
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 * 1024, forceCloseConnections: true });
  // Codis clients send JSON without always saying so; accept bodies of any type as JSON.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body).trim();
    if (text === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (e) {
      done(badRequest(`invalid JSON body: ${(e as Error).message}`), undefined);
    }
  });
  app.setReplySerializer((payload) => JSON.stringify(payload, null, 4));
  // Fastify sends a returned string as text; Codis clients expect JSON (`"OK"` with quotes).
  app.addHook('onSend', async (_req, reply, payload) => {
    if (
      typeof payload !== 'string' ||
      !String(reply.getHeader('content-type') ?? '').startsWith('text/plain')
    ) {
      return payload;
    }
    void reply.type('application/json; charset=utf-8');
    return JSON.stringify(payload);
  });
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    const status = err instanceof HttpError ? err.status : (err.statusCode ?? 500);
    sendError(reply, status >= 400 && status < 600 ? status : 500, err.message);
  });
  app.setNotFoundHandler((req, reply) => sendError(reply, 404, `no such API: ${req.method} ${req.url}`));
  if (opts.logRequests) {
    app.addHook('onRequest', async (req) => {
      if (req.method !== 'GET' && req.url.startsWith('/api/')) {
        const fwd = req.headers['x-forwarded-for'] ?? req.headers['x-real-ip'] ?? '';
        opts.logRequests!(req.method, req.url, `${req.ip}${fwd ? ` (${String(fwd)})` : ''}`);
      }
    });
  }
  return app;
}

export function sendError(reply: FastifyReply, status: number, cause: string): void {
  void reply
    .code(status)
    .type('application/json; charset=utf-8')
    .send(JSON.stringify({ Cause: cause, Stack: null, cause }, null, 4));
}

/** Listens on `host:port` and returns the bound address as `host:port`. */
export async function listenHttp(app: FastifyInstance, addr: string): Promise<string> {
  const i = addr.lastIndexOf(':');
  let host = addr.slice(0, i).replace(/^\[|\]$/g, '');
  if (host === '') host = '0.0.0.0';
  await app.listen({ host, port: Number(addr.slice(i + 1)) });
  const a = app.server.address();
  if (a === null || typeof a === 'string') return addr;
  return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}
