/**
 * A client connection on its bare libuv handle (TCP or pipe), without a net.Socket: about a
 * third of the memory per idle client, and no stream work on the path of each request. Reads
 * land in the buffer all sockets share (SocketReader); writes go straight to the handle
 * (SocketWriter).
 */
import { getSystemErrorName } from 'node:util';
import type { ClientConn, ConnOwner } from './ClientConn.js';
import { LINGER_MS, NO_OWNER } from './ClientConn.js';
import { READ_BUF, takeRead } from './SocketReader.js';
import {
  lastReadResult,
  streamWrap,
  writeHandle,
  writevHandle,
  WRITE_DONE,
  type WritableHandle,
  type WriteOwner,
} from './SocketWriter.js';

const CONN = Symbol('conn');

interface ConnHandle extends WritableHandle {
  /** Node checks it is a function: it is set once and left. */
  onread: (this: ConnHandle) => void;
  useUserBuffer(buf: Uint8Array): void;
  readStart(): number;
  readStop(): number;
  shutdown(req: object): number;
  close(onClose: () => void): void;
  setNoDelay?(on: boolean): number;
  setKeepAlive?(on: boolean, delaySecs: number): number;
  getpeername?(out: { address?: string; port?: number }): number;
  [CONN]?: HandleConn;
}

/** A handle this module can drive (the stream binding is there, and the handle is a stream). */
export function isAdoptable(handle: unknown): handle is ConnHandle {
  const h = handle as Partial<ConnHandle>;
  return (
    streamWrap !== null &&
    typeof h.useUserBuffer === 'function' &&
    typeof h.readStart === 'function' &&
    typeof h.writeBuffer === 'function' &&
    typeof h.shutdown === 'function'
  );
}

export class HandleConn implements ClientConn, WriteOwner {
  private owner: ConnOwner = NO_OWNER;
  private reading = true;
  /** The client's FIN (or a read error) came. */
  private readEnded = false;
  /** end() was called: nothing more is written. */
  private ending = false;
  private shutDown = false;
  private closed = false;
  private linger: NodeJS.Timeout | null = null;

  constructor(
    private readonly handle: ConnHandle,
    private readonly unixPath: string,
  ) {
    handle[CONN] = this;
    handle.onread = onHandleRead;
    handle.useUserBuffer(READ_BUF);
    if (handle.readStart() !== 0) this.destroy();
  }

  attach(owner: ConnOwner): void {
    this.owner = owner;
  }

  onRead(n: number): void {
    if (n > 0) this.owner.onData(takeRead(n));
    else if (n < 0) this.onReadEnd(n);
  }

  /** The client's FIN (its owner ends this side once it answered), or a read error. */
  private onReadEnd(n: number): void {
    this.readEnded = true;
    if (getSystemErrorName(n) !== 'EOF') this.destroy();
    else if (this.shutDown) this.destroy();
    else this.owner.onEnd();
  }

  write(data: Buffer): boolean {
    if (this.ending || this.closed) return true;
    return this.settled(writeHandle(this.handle, data, this));
  }

  writev(chunks: Buffer[]): boolean {
    if (this.ending || this.closed) return true;
    return this.settled(writevHandle(this.handle, chunks, this));
  }

  private settled(r: number): boolean {
    if (r >= 0) return r === WRITE_DONE;
    this.destroy();
    return true;
  }

  afterWrite(status: number): void {
    if (this.closed) return;
    if (status < 0) this.destroy();
    else if (this.handle.writeQueueSize === 0) this.owner.onDrain();
  }

  get unsent(): number {
    return this.closed ? 0 : this.handle.writeQueueSize;
  }

  get fd(): number {
    return this.closed ? -1 : ((this.handle as { fd?: number }).fd ?? -1);
  }

  get remote(): string {
    const out: { address?: string; port?: number } = {};
    if (this.closed || this.handle.getpeername?.(out) !== 0 || out.address === undefined)
      return `${this.unixPath}:0`;
    return `${out.address}:${out.port}`;
  }

  pause(): void {
    if (!this.reading || this.readEnded || this.closed) return;
    this.reading = false;
    this.handle.readStop();
  }

  resume(): void {
    if (this.reading || this.readEnded || this.closed) return;
    this.reading = true;
    this.handle.readStart();
  }

  end(last?: Buffer): void {
    if (this.ending || this.closed) return;
    if (last !== undefined) this.write(last);
    this.ending = true;
    if (this.closed) return;
    // The client's FIN came and the kernel has every byte: a close sends them and then our FIN,
    // as a shutdown would, for a system call and a callback less (most clients leave this way).
    if (this.readEnded && this.handle.writeQueueSize === 0) {
      this.destroy();
      return;
    }
    // libuv shuts the write side down after the writes queued before it.
    const req = new streamWrap!.ShutdownWrap();
    req.oncomplete = () => this.afterShutdown();
    if (this.handle.shutdown(req) !== 0) this.destroy();
  }

  private afterShutdown(): void {
    this.shutDown = true;
    if (this.closed) return;
    if (this.readEnded) {
      this.destroy();
      return;
    }
    this.resume();
    this.linger = setTimeout(() => this.destroy(), LINGER_MS);
    this.linger.unref();
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.linger !== null) clearTimeout(this.linger);
    this.handle.close(() => this.owner.onClose());
  }

  setNoDelay(): void {
    this.handle.setNoDelay?.(true);
  }

  setKeepAlive(periodMs: number): void {
    this.handle.setKeepAlive?.(true, Math.floor(periodMs / 1000));
  }
}

function onHandleRead(this: ConnHandle): void {
  this[CONN]!.onRead(lastReadResult());
}
