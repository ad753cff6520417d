/**
 * How received bytes reach a session or a backend connection. Through a stream's 'data'
 * events every read costs a fresh 64 KB buffer, a stream push and a next-tick (and in Node 20
 * a Map made when that tick queue drains): more than the request itself. So sockets read with
 * Node's `onread`: the kernel reads into one buffer shared by every socket, and the reader
 * gets an exact-size copy it may keep (a small one is a slice of Node's buffer pool).
 */
import net from 'node:net';
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
type Accepted = net.Socket & { _handle?: StreamHandle | null };
type ChunkFn = (this: net.Socket, chunk: Buffer) => void;
const ON_CHUNK = Symbol('onChunk');
type Reading = net.Socket & { [ON_CHUNK]: ChunkFn };

/**
 * Starts reading an accepted socket (the listener pauses sockets on connect) and returns the
 * socket to use from now on; `onChunk` is called on it. A listener cannot give `onread` to the
 * sockets it accepts, so the connection's handle moves to a new socket made with it. Falls
 * back to 'data' events where the handle cannot take a user buffer.
 */
export function readAccepted<S extends net.Socket>(
  accepted: net.Socket,
  onChunk: (this: S, chunk: Buffer) => void,
): net.Socket {
  const handle = (accepted as Accepted)._handle;
  if (handle == null || typeof handle.useUserBuffer !== 'function') {
    accepted.on('data', onChunk as ChunkFn);
    accepted.resume();
    return accepted;
  }
  // Left without its handle, the accepted socket owns nothing but the listener's count of
  // connections: destroying it closes nothing.
  (accepted as Accepted)._handle = null;
  const socket = new net.Socket({
    handle,
    onread: { buffer: READ_BUF, callback: chunkToOwner },
  } as net.SocketConstructorOpts) as Reading;
  socket[ON_CHUNK] = onChunk as ChunkFn;
  accepted.destroy();
  return socket;
}

function chunkToOwner(this: Reading, n: number): void {
  this[ON_CHUNK](takeRead(n));
}
