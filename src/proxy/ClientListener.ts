/**
 * The client port: binding it as proxy_addr and proto_type say, and the address to publish for
 * it. A single proxy process binds it itself; with workers, the primary binds it and hands each
 * connection to a worker.
 */
import net from 'node:net';
import os from 'node:os';
import type { ProxyConfig } from './Config.js';

/**
 * Listens for clients. Half-open allowed: a client that sends its FIN after its commands still
 * gets the replies.
 */
export async function listenClients(config: ProxyConfig): Promise<{ server: net.Server; bound: string }> {
  const server = net.createServer({ allowHalfOpen: true });
  await listenOn(server, config.proto_type, config.proxy_addr);
  if (listenerSetsOptions(config)) {
    const h = (server as unknown as { _handle: TcpOptions })._handle;
    h.setNoDelay(true);
    const keepAlive = config.session_keepalive_period;
    if (keepAlive > 0) h.setKeepAlive(true, Math.max(1, Math.floor(keepAlive / 1000)));
  }
  return { server, bound: boundAddr(server) };
}

interface TcpOptions {
  setNoDelay(on: boolean): number;
  setKeepAlive(on: boolean, delaySecs: number): number;
}

/**
 * On Linux an accepted TCP socket inherits TCP_NODELAY and the keepalive settings of the
 * listening one, so setting them there once spares every connection five setsockopt calls (of
 * the 14 that a client sending one command and leaving used to cost). Elsewhere each connection
 * gets them itself.
 */
export function listenerSetsOptions(config: ProxyConfig): boolean {
  return process.platform === 'linux' && config.proto_type !== 'unix' && config.proto_type !== 'unixpacket';
}

/** The unix socket path clients connect to, or '' for TCP. */
export function clientUnixPath(config: ProxyConfig): string {
  return config.proto_type === 'unix' ? config.proxy_addr : '';
}

function listenOn(server: net.Server, proto: string, addr: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      resolve();
    };
    if (proto === 'unix' || proto === 'unixpacket') {
      server.listen(addr, done);
      return;
    }
    const i = addr.lastIndexOf(':');
    let host = addr.slice(0, i).replace(/^\[|\]$/g, '');
    if (host === '') host = proto === 'tcp6' ? '::' : '0.0.0.0';
    server.listen({ host, port: Number(addr.slice(i + 1)), ipv6Only: proto === 'tcp6' }, done);
  });
}

function boundAddr(server: net.Server): string {
  const a = server.address();
  if (a === null) return '';
  if (typeof a === 'string') return a;
  return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

/** The address clients should use: an unspecified listen host is replaced by a real one. */
export function publicAddr(bound: string, hostOverride?: string): string {
  const i = bound.lastIndexOf(':');
  if (i < 0) return bound;
  const port = bound.slice(i + 1);
  if (hostOverride) return hostOverride.includes(':') ? hostOverride : `${hostOverride}:${port}`;
  const host = bound.slice(0, i);
  if (host !== '0.0.0.0' && host !== '[::]') return bound;
  for (const list of Object.values(os.networkInterfaces())) {
    for (const ni of list ?? []) if (!ni.internal && ni.family === 'IPv4') return `${ni.address}:${port}`;
  }
  return `127.0.0.1:${port}`;
}
