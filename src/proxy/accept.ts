/** Accepting clients: each connection becomes a ClientConn, on its bare handle where possible. */
import net from 'node:net';
import { getSystemErrorName } from 'node:util';
import type { ClientConn } from './ClientConn.js';
import { HandleConn, isAdoptable } from './HandleConn.js';
import { SocketConn } from './SocketConn.js';

/** A listening libuv handle: Node calls its `onconnection` with each accepted one. */
export interface ListenHandle {
  onconnection?: unknown;
  listen?(backlog: number): number;
  close?(): void;
}

/** Sends each connection `listener` accepts to `onHandle`, and a failed accept to `onError`. */
function onConnections(
  listener: ListenHandle,
  onHandle: (handle: unknown) => void,
  onError: (e: Error) => void,
): void {
  listener.onconnection = (err: number, handle: unknown) => {
    if (err !== 0 || handle === undefined) {
      onError(new Error(`accept: ${err !== 0 ? getSystemErrorName(err) : 'no handle'}`));
      return;
    }
    onHandle(handle);
  };
}

/**
 * A net.Server makes a net.Socket per connection: about 2.7 KB more than the bare handle
 * (10,000 idle clients: 3.9 against 1.2 MB per 1,000), and a stream's work on every read and
 * write. So once the server listens, its handle's connection callback is taken over and
 * `onHandle` gets each connection's bare libuv handle. False where that is not possible: the
 * connections then come as net.Sockets through 'connection' events.
 */
export function takeAccepts(server: net.Server, onHandle: (handle: unknown) => void): boolean {
  const listener = (server as unknown as { _handle?: ListenHandle | null })._handle;
  if (listener == null || typeof listener.onconnection !== 'function') return false;
  onConnections(listener, onHandle, (e) => server.emit('error', e));
  return true;
}

/**
 * Listens on a socket another process bound (the primary's shared client port) and hands
 * each connection to `onConn`. Throws when listen fails.
 */
export function acceptOn(
  listener: ListenHandle,
  unixPath: string,
  onConn: (c: ClientConn) => void,
  onError: (e: Error) => void,
): void {
  if (typeof listener.listen !== 'function')
    throw new Error('the shared client port is not a listening handle');
  onConnections(listener, (h) => onConn(connOf(h, unixPath)), onError);
  const err = listener.listen(LISTEN_BACKLOG);
  if (err !== 0) throw new Error(`listen on the shared client port: ${getSystemErrorName(err)}`);
}

/** Node's own default backlog for net.Server. */
const LISTEN_BACKLOG = 511;

/**
 * A client connection from a bare handle or a net.Socket (the server must allow half-open
 * connections, so that a client's FIN does not end the connection before its replies).
 * `unixPath` names the clients of a unix socket.
 */
export function connOf(handle: unknown, unixPath: string): ClientConn {
  if (handle instanceof net.Socket) return new SocketConn(handle, unixPath);
  if (isAdoptable(handle)) return new HandleConn(handle, unixPath);
  const socket = new net.Socket({ handle, allowHalfOpen: true } as net.SocketConstructorOpts);
  return new SocketConn(socket, unixPath);
}

/** Hands each connection `server` accepts to `onConn`. */
export function acceptConns(server: net.Server, unixPath: string, onConn: (c: ClientConn) => void): void {
  if (takeAccepts(server, (h) => onConn(connOf(h, unixPath)))) return;
  server.on('connection', (s: net.Socket) => onConn(connOf(s, unixPath)));
}
