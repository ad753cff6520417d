/**
 * A client's connection as a session sees it: bytes in (to its owner), bytes out, pausing,
 * and ending. It is a HandleConn (the bare libuv handle) or, where that cannot be used, a
 * SocketConn (net.Socket); `acceptConns` picks.
 */
import type { ByteSink } from './SocketWriter.js';

/** Who hears a connection's events (a Session; a refused connection has none). */
export interface ConnOwner {
  onData(chunk: Buffer): void;
  /**
   * The client sent its FIN (`printf ... | nc -N` does): nothing more comes, but it may still
   * read. The owner answers what it has, then calls end().
   */
  onEnd(): void;
  /** Everything written so far has reached the kernel. */
  onDrain(): void;
  /** The connection is closed (once). */
  onClose(): void;
}

export interface ClientConn extends ByteSink {
  /** From now on reads go to `owner`; until then they are dropped. */
  attach(owner: ConnOwner): void;
  /** Bytes written and not yet taken by the kernel. */
  readonly unsent: number;
  /** `address:port` of the client (for a unix socket: the socket's path and 0). */
  readonly remote: string;
  /** The descriptor (CLIENT LIST's fd), or -1 once closed. */
  readonly fd: number;
  pause(): void;
  resume(): void;
  /**
   * Sends `last`, then ends the connection once everything written is out. Reading goes on
   * (the input is the owner's to drop) until the client's FIN, as a connection closed with
   * input unread would be reset; a client that keeps its side open is closed after
   * LINGER_MS.
   */
  end(last?: Buffer): void;
  /** Closes at once; what is unsent is lost. */
  destroy(): void;
  setNoDelay(): void;
  setKeepAlive(periodMs: number): void;
}

/** How long a connection the proxy ended may stay half-open, waiting for the client's FIN. */
export const LINGER_MS = 2000;

export const NO_OWNER: ConnOwner = { onData() {}, onEnd() {}, onDrain() {}, onClose() {} };
