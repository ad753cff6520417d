/**
 * The client port: binding it as proxy_addr and proto_type say, and the address to publish for
 * it. A single proxy process binds it itself; with workers, the primary binds it and either
 * hands each connection to a worker, or (proxy_accept = "workers") shares the socket with them.
 */
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import os from 'node:os';
import { getSystemErrorName } from 'node:util';
import type { ListenHandle } from './accept.js';
import type { ProxyConfig } from './Config.js';

/**
 * Listens for clients. Half-open allowed: a client that sends its FIN after its commands still
 * gets the replies.
 */
export async function listenClients(config: ProxyConfig): Promise<{ server: net.Server; bound: string }> {
  const server = net.createServer({ allowHalfOpen: true });
  await listenOn(server, config.proto_type, config.proxy_addr);
  if (listenerSetsOptions(config)) setOptions((server as unknown as { _handle: TcpOptions })._handle, config);
  return { server, bound: boundAddr(server) };
}

interface TcpOptions {
  setNoDelay(on: boolean): number;
  setKeepAlive(on: boolean, delaySecs: number): number;
}

function setOptions(h: TcpOptions, config: ProxyConfig): void {
  h.setNoDelay(true);
  const keepAlive = config.session_keepalive_period;
  if (keepAlive > 0) h.setKeepAlive(true, Math.max(1, Math.floor(keepAlive / 1000)));
}

/** A socket bound to the client port and not yet listening: the workers listen on it. */
export interface SharedPort {
  handle: ListenHandle;
  bound: string;
}

interface BoundHandle extends ListenHandle, TcpOptions {
  getsockname?(out: { address?: string; port?: number; family?: string }): number;
}

type CreateServerHandle = (
  address: string,
  port: number,
  addressType: number,
  fd?: number,
  flags?: number,
) => BoundHandle | number;

/** libuv's UV_TCP_IPV6ONLY, for a tcp6 port. */
const TCP_IPV6ONLY = 1;

/**
 * Binds the client port for workers that accept on it themselves, as node:cluster's
 * SCHED_NONE does (net._createServerHandle). This process never listens: it would take
 * connections too. It keeps the socket open, so clients queue in the kernel while no worker runs.
 */
export async function bindShared(config: ProxyConfig): Promise<SharedPort> {
  const create = (net as unknown as { _createServerHandle?: CreateServerHandle })._createServerHandle;
  if (typeof create !== 'function')
    throw new Error('proxy_accept = "workers" needs a node with net._createServerHandle');
  const proto = config.proto_type;
  const addr = config.proxy_addr;
  if (proto === 'unix' || proto === 'unixpacket') {
    const h = create(addr, -1, -1);
    if (typeof h === 'number') throw new Error(`listen ${proto} ${addr}: ${getSystemErrorName(h)}`);
    return { handle: h, bound: addr };
  }
  const i = addr.lastIndexOf(':');
  let host = addr.slice(0, i).replace(/^\[|\]$/g, '');
  if (host === '') host = proto === 'tcp6' ? '::' : '0.0.0.0';
  const ip =
    net.isIP(host) !== 0
      ? host
      : (await lookup(host, { family: proto === 'tcp6' ? 6 : proto === 'tcp4' ? 4 : 0 })).address;
  const family = net.isIP(ip);
  const h = create(ip, Number(addr.slice(i + 1)), family, undefined, proto === 'tcp6' ? TCP_IPV6ONLY : 0);
  if (typeof h === 'number') throw new Error(`listen ${proto} ${addr}: ${getSystemErrorName(h)}`);
  // libuv keeps a failed bind's error (EADDRINUSE) for listen, which only the workers call on
  // descriptors of their own: they would listen on a port the kernel picks. getsockname reports it.
  const out: { address?: string; port?: number } = {};
  const err = h.getsockname?.(out) ?? 0;
  if (err !== 0 || out.port === undefined) {
    h.close?.();
    throw new Error(`listen ${proto} ${addr}: ${err !== 0 ? getSystemErrorName(err) : 'not bound'}`);
  }
  if (listenerSetsOptions(config)) setOptions(h, config);
  return { handle: h, bound: family === 6 ? `[${out.address}]:${out.port}` : `${out.address}:${out.port}` };
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
