/**
 * How received bytes reach a session or a backend connection. Through a stream's 'data'
 * events every read costs a fresh 64 KB buffer, a stream push and a next-tick (and in Node 20
 * a Map made when that tick queue drains): more than the request itself. So sockets read with
 * Node's `onread`: the kernel reads into one buffer shared by every socket, and the reader
 * gets an exact-size copy it may keep (a small one is a slice of Node's buffer pool).
 */
import net from 'node:net';
import { getSystemErrorName } from 'node:util';
import { copyBytes } from '../utils/copyBytes.js';

/** Every read lands here first; reads run one at a time, each copied out before the next. */
const READ_BUF = Buffer.allocUnsafe(64 * 1024);

function takeRead(n: number): Buffer {
  const chunk = Buffer.allocUnsafe(n);
  copyBytes(READ_BUF, 0, n, chunk, 0);
  return chunk;
}

/** `onread` for net.connect: each read goes to `onChunk`. */
export function readInto(onChunk: (chunk: Buffer) => void): net.OnReadOpts {
  return {
    buffer: READ_BUF,
    callback: (n) => {
      onChunk(takeRead(n));
      return true; // false would pause the socket
    },
  };
}

interface StreamHandle {
  useUserBuffer?: unknown;
}
interface ListenHandle {
  onconnection?: unknown;
}
type ChunkFn = (this: net.Socket, chunk: Buffer) => void;
const ON_CHUNK = Symbol('onChunk');
type Reading = net.Socket & { [ON_CHUNK]: ChunkFn };

/**
 * Hands each connection `server` accepts to `onSocket` as a socket that reads through
 * `onread`. A listener cannot give that option to the sockets it makes, so once the server
 * listens its handle's connection callback is taken over, and the socket is made here: one
 * socket per connection, not one made by the listener and another to read with. Where the
 * handle is not there to take over, connections come through 'connection' events.
 */
export function acceptReading(server: net.Server, onSocket: (socket: net.Socket) => void): void {
  const listener = (server as unknown as { _handle?: ListenHandle | null })._handle;
  if (listener == null || typeof listener.onconnection !== 'function') {
    server.on('connection', onSocket);
    return;
  }
  listener.onconnection = (err: number, handle: StreamHandle | undefined) => {
    if (err !== 0 || handle === undefined) {
      server.emit('error', new Error(`accept: ${err !== 0 ? getSystemErrorName(err) : 'no handle'}`));
      return;
    }
    onSocket(socketFor(handle));
  };
}

function socketFor(handle: StreamHandle): net.Socket {
  if (typeof handle.useUserBuffer !== 'function')
    return new net.Socket({ handle } as net.SocketConstructorOpts);
  const socket = new net.Socket({
    handle,
    onread: { buffer: READ_BUF, callback: chunkToOwner },
  } as net.SocketConstructorOpts) as Reading;
  // Until its owner asks for them (a refused connection never does), reads are dropped.
  socket[ON_CHUNK] = dropChunk;
  return socket;
}

/** Sends what `socket` receives to `onChunk`, called on the socket. */
export function readChunks<S extends net.Socket>(socket: S, onChunk: (this: S, chunk: Buffer) => void): void {
  if (ON_CHUNK in socket) (socket as unknown as Reading)[ON_CHUNK] = onChunk as ChunkFn;
  else socket.on('data', onChunk);
}

function chunkToOwner(this: Reading, n: number): void {
  this[ON_CHUNK](takeRead(n));
}

function dropChunk(): void {}
