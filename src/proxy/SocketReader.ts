/**
 * How received bytes reach a session or a backend connection. Through a stream's 'data'
 * events every read costs a fresh 64 KB buffer, a stream push and a next-tick (and in Node 20
 * a Map made when that tick queue drains): more than the request itself. So connections read
 * into one buffer shared by all of them (a client's bare handle, or a backend socket's
 * `onread`), and the reader gets an exact-size copy it may keep (a small one is a slice of
 * Node's buffer pool).
 */
import type net from 'node:net';
import { copyBytes } from '../utils/copyBytes.js';

/** Every read lands here first; reads run one at a time, each copied out before the next. */
export const READ_BUF = Buffer.allocUnsafe(64 * 1024);

export function takeRead(n: number): Buffer {
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
