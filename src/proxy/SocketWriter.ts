/**
 * Writes straight to a stream handle (the libuv TCP or pipe under a socket). socket.write goes
 * through the Writable stream: a WriteWrap, the stream's bookkeeping and a next-tick callback
 * for every write, even one the kernel takes whole at once, which is nearly every write a
 * proxy makes. Here such a write costs the syscall alone. What the kernel cannot take stays
 * queued in libuv with its buffer, and the writer hears when it has gone (afterWrite).
 *
 * This uses the handle's writeBuffer/writev and the WriteWrap class that Node's own streams
 * use (process.binding('stream_wrap')). Where those are missing (another Node), `directWrites`
 * is false and sockets are written through socket.write.
 */
import type net from 'node:net';
import { getSystemErrorName } from 'node:util';

interface WriteReq {
  oncomplete: ((this: WriteReq, status: number) => void) | null;
  owner: WriteOwner | null;
  /** Keeps the bytes alive while libuv holds them. */
  buffer: Buffer | Buffer[] | null;
}

/** What a stream handle offers for writing. */
export interface WritableHandle {
  writeBuffer(req: WriteReq, data: Buffer): number;
  writev(req: WriteReq, chunks: Buffer[], allBuffers: boolean): number;
  /** Bytes handed to libuv and not yet taken by the kernel. */
  readonly writeQueueSize: number;
}

/** Told when a write that was queued is done (status < 0: it failed, as a negative errno). */
export interface WriteOwner {
  afterWrite(status: number): void;
}

/** Where a batch of bytes goes: a client connection or a backend socket. */
export interface ByteSink {
  /** False when part of it is queued (like socket.write's back-pressure signal). */
  write(data: Buffer): boolean;
  /** Several buffers in one call. */
  writev(chunks: Buffer[]): boolean;
}

interface StreamWrapBinding {
  WriteWrap: new () => WriteReq;
  ShutdownWrap: new () => { oncomplete: ((status: number) => void) | null };
  streamBaseState: Int32Array;
  kLastWriteWasAsync: number;
  kReadBytesOrError: number;
}

/** Node's stream_wrap binding, or null where it is not reachable. */
export const streamWrap: StreamWrapBinding | null = loadBinding();
const directWrites = streamWrap !== null;

/**
 * The binding's state words, which say how the last read and write went. Read after every read
 * and write, so the array and the indices are looked up once: the binding object is a slow
 * one to read properties from.
 */
const STATE: Int32Array = streamWrap?.streamBaseState ?? new Int32Array(0);
const LAST_WRITE_WAS_ASYNC = streamWrap?.kLastWriteWasAsync ?? 0;
const READ_BYTES_OR_ERROR = streamWrap?.kReadBytesOrError ?? 0;

/** What the read that just called `onread` gave: bytes read (in the handle's buffer), or a negative errno. */
export function lastReadResult(): number {
  return STATE[READ_BYTES_OR_ERROR]!;
}

/** The request object for the next write; a write that is queued keeps it. */
let spare: WriteReq | null = streamWrap === null ? null : newReq();

function loadBinding(): StreamWrapBinding | null {
  try {
    const b = (process as unknown as { binding(name: string): Partial<StreamWrapBinding> }).binding(
      'stream_wrap',
    );
    if (
      typeof b.WriteWrap === 'function' &&
      typeof b.ShutdownWrap === 'function' &&
      b.streamBaseState instanceof Int32Array &&
      typeof b.kLastWriteWasAsync === 'number' &&
      typeof b.kReadBytesOrError === 'number'
    ) {
      return b as StreamWrapBinding;
    }
  } catch {
    // no process.binding, or not this module: sockets are written the stream's way
  }
  return null;
}

function newReq(): WriteReq {
  const req = new streamWrap!.WriteWrap();
  req.oncomplete = null;
  req.owner = null;
  req.buffer = null;
  return req;
}

/** The kernel took all of it. */
export const WRITE_DONE = 0;
/** Some of it waits in libuv: the owner's afterWrite follows. */
export const WRITE_QUEUED = 1;

/** Writes `data`: WRITE_DONE, WRITE_QUEUED, or a negative errno. Needs `directWrites`. */
export function writeHandle(h: WritableHandle, data: Buffer, owner: WriteOwner): number {
  return settle(h.writeBuffer(spare!, data), data, owner);
}

/** Writes several buffers in one writev, as writeHandle. */
export function writevHandle(h: WritableHandle, chunks: Buffer[], owner: WriteOwner): number {
  return settle(h.writev(spare!, chunks, true), chunks, owner);
}

function settle(err: number, data: Buffer | Buffer[], owner: WriteOwner): number {
  if (err !== 0) return err;
  if (STATE[LAST_WRITE_WAS_ASYNC] === 0) return WRITE_DONE;
  const req = spare!;
  spare = newReq();
  req.owner = owner;
  req.buffer = data;
  req.oncomplete = onWriteDone;
  return WRITE_QUEUED;
}

function onWriteDone(this: WriteReq, status: number): void {
  const owner = this.owner!;
  this.owner = null;
  this.buffer = null;
  owner.afterWrite(status);
}

function errnoError(err: number, syscall: string): NodeJS.ErrnoException {
  const code = getSystemErrorName(err);
  return Object.assign(new Error(`${syscall} ${code}`), { errno: err, code, syscall });
}

type HandledSocket = net.Socket & { _handle: WritableHandle | null };

/**
 * A net.Socket written directly when that keeps order with everything else (connected, not
 * ending, no stream writes queued), through socket.write otherwise. A failed direct write
 * destroys the socket, as a failed socket.write does.
 */
export class SocketSink implements ByteSink, WriteOwner {
  constructor(readonly socket: net.Socket) {}

  write(data: Buffer): boolean {
    const h = this.handle();
    if (h === null) return this.socket.write(data);
    return this.settled(writeHandle(h, data, this));
  }

  writev(chunks: Buffer[]): boolean {
    const h = this.handle();
    if (h !== null) return this.settled(writevHandle(h, chunks, this));
    const s = this.socket;
    s.cork();
    let ok = true;
    for (let i = 0; i < chunks.length; i++) ok = s.write(chunks[i]!);
    s.uncork();
    return ok;
  }

  afterWrite(status: number): void {
    if (status < 0) this.socket.destroy(errnoError(status, 'write'));
    else if (!this.socket.destroyed && this.handle()?.writeQueueSize === 0) this.socket.emit('drain');
  }

  /** Bytes written and not yet taken by the kernel. */
  get unsent(): number {
    const h = (this.socket as HandledSocket)._handle;
    return this.socket.writableLength + (h?.writeQueueSize ?? 0);
  }

  private handle(): WritableHandle | null {
    const s = this.socket;
    if (!directWrites || s.connecting || s.writableLength !== 0 || s.writableEnded) return null;
    const h = (s as HandledSocket)._handle;
    return h !== null && h !== undefined && typeof h.writeBuffer === 'function' ? h : null;
  }

  private settled(r: number): boolean {
    if (r >= 0) return r === WRITE_DONE;
    this.socket.destroy(errnoError(r, 'write'));
    return true;
  }
}

/**
 * Writes a list of buffers with as few calls as possible: small pieces are joined into one
 * buffer (one copy), large ones go out as they are; several pieces leave in one writev.
 * Returns the back-pressure signal.
 */
export function writeBuffers(sink: ByteSink, bufs: Buffer[], total: number): boolean {
  if (bufs.length === 1) return sink.write(bufs[0]!);
  if (total <= JOIN_LIMIT && !hasBigPiece(bufs)) return sink.write(Buffer.concat(bufs, total));
  const chunks: Buffer[] = [];
  let run: Buffer[] = [];
  let runLen = 0;
  const endRun = () => {
    if (run.length > 0) chunks.push(run.length === 1 ? run[0]! : Buffer.concat(run, runLen));
    run = [];
    runLen = 0;
  };
  for (const b of bufs) {
    if (b.length >= BIG_PIECE) {
      endRun();
      chunks.push(b);
    } else {
      run.push(b);
      runLen += b.length;
      if (runLen >= JOIN_LIMIT) endRun();
    }
  }
  endRun();
  return chunks.length === 1 ? sink.write(chunks[0]!) : sink.writev(chunks);
}

function hasBigPiece(bufs: Buffer[]): boolean {
  for (let i = 0; i < bufs.length; i++) if (bufs[i]!.length >= BIG_PIECE) return true;
  return false;
}

/** Up to this many bytes are joined into one buffer before writing. */
export const JOIN_LIMIT = 256 * 1024;
/** A piece this large is written as it is (a big value is never copied). */
export const BIG_PIECE = 16 * 1024;

/**
 * Restarts the socket's idle timer (socket.setTimeout), which a direct write, unlike
 * socket.write, leaves alone.
 */
export function restartIdleTimer(socket: net.Socket): void {
  (socket as net.Socket & { _unrefTimer?(): void })._unrefTimer?.();
}
