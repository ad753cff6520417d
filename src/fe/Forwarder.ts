/**
 * The reverse proxy of codis-fe (§9.1): a request is passed on unchanged (method, path, query,
 * headers, body stream) to `http://<dashboard>`, and the answer (status, headers, body) comes back
 * unchanged, so error statuses and `{"cause": …}` bodies reach the page as the dashboard wrote them.
 * Connections to dashboards are kept alive and closed after a minute idle; connecting gives up
 * after 10 s. When the dashboard cannot be reached the caller gets 502 with a JSON cause.
 */
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import { parseAddr } from '../utils/addr.js';

const CONNECT_TIMEOUT_MS = 10_000;
const IDLE_TIMEOUT_MS = 60_000;
/** A dashboard call (a reinit, a resync over many proxies) may legitimately take a while. */
const RESPONSE_TIMEOUT_MS = 120_000;

/** Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection, never forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function endToEnd(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const named = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((s) => s.trim().toLowerCase()),
  );
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v !== undefined && !HOP_BY_HOP.has(k) && !named.has(k)) out[k] = v;
  }
  return out;
}

export function sendJsonError(res: ServerResponse, status: number, cause: string): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ Cause: cause, Stack: null, cause }, null, 4);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

export class Forwarder {
  private readonly agent = new http.Agent({ keepAlive: true, timeout: IDLE_TIMEOUT_MS, maxSockets: 32 });

  /**
   * Forwards `req` to `dashboard` (`host:port`) and writes the answer to `res`. Resolves when the
   * exchange is over, with the cause when the dashboard could not be reached (answered with 502);
   * never rejects.
   */
  forward(
    req: IncomingMessage,
    res: ServerResponse,
    dashboard: string,
    what: string,
  ): Promise<string | void> {
    return new Promise((resolve) => {
      let host: string;
      let port: number;
      try {
        ({ host, port } = parseAddr(dashboard));
      } catch (e) {
        const cause = `${what}: ${(e as Error).message}`;
        sendJsonError(res, 502, cause);
        resolve(cause);
        return;
      }
      const headers = endToEnd(req.headers);
      const ip = req.socket.remoteAddress ?? '';
      const prior = headers['x-forwarded-for'];
      headers['x-forwarded-for'] = prior ? `${String(prior)}, ${ip}` : ip;
      headers.host = dashboard;

      let connectTimer: NodeJS.Timeout | undefined;
      const up = http.request({ host, port, method: req.method, path: req.url, headers, agent: this.agent });
      up.setTimeout(RESPONSE_TIMEOUT_MS, () => up.destroy(new Error('no answer within 120 s')));
      up.on('socket', (socket) => {
        if (!socket.connecting) return;
        connectTimer = setTimeout(
          () => up.destroy(new Error('connect timed out (10 s)')),
          CONNECT_TIMEOUT_MS,
        );
        socket.once('connect', () => clearTimeout(connectTimer));
      });
      up.on('response', (answer) => {
        clearTimeout(connectTimer);
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEnd(answer.headers));
        pipeline(answer, res, () => resolve());
      });
      up.on('error', (e) => {
        clearTimeout(connectTimer);
        const cause = `${what} at ${dashboard} unreachable: ${e.message}`;
        sendJsonError(res, 502, cause);
        resolve(cause);
      });
      // The caller went away: stop talking to the dashboard too.
      res.on('close', () => {
        if (!res.writableFinished) up.destroy();
        resolve();
      });
      pipeline(req, up, (e) => {
        if (e) up.destroy(e);
      });
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
