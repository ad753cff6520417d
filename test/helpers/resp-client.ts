/**
 * A minimal RESP client for tests, independent of the code under test: an incremental parser that
 * accepts any chunking, FIFO reply matching, raw writes for protocol-abuse tests. RESP3 replies (after
 * HELLO 3) come as RESP2's nearest forms: a map as the flat array of its pairs, a set as an array,
 * doubles and big numbers as their text, booleans as 1 and 0, a verbatim string without its format.
 */
import { connect as netConnect, type Socket } from 'node:net';

/** An error reply (`-ERR ...`); `message` is the whole text and `code` its first word. */
export class RedisError extends Error {
  readonly code: string;
  constructor(message: string) {
    super(message);
    this.name = 'RedisError';
    this.code = message.split(' ', 1)[0] ?? '';
  }
}

export class RespProtocolError extends Error {
  override name = 'RespProtocolError';
}

/** bulk → Buffer (or null), simple → string, integer → number, error → RedisError, array → Reply[] (or null). */
export type Reply = string | number | Buffer | null | RedisError | Reply[];
/** Reply with bulk strings decoded as UTF-8. */
export type TextReply = string | number | null | RedisError | TextReply[];
export type Arg = string | Buffer | number;

/** Deeply converts bulk strings to UTF-8 text, for short assertions. */
export function toText(r: Reply): TextReply {
  if (Buffer.isBuffer(r)) return r.toString('utf8');
  if (Array.isArray(r)) return r.map(toText);
  return r;
}

/** Encodes a command as a RESP array of bulk strings. */
export function encodeCommand(args: readonly Arg[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a));
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

const EMPTY = Buffer.alloc(0);
interface Frame {
  items: Reply[];
  remaining: number;
}

/**
 * Incremental RESP reply parser. Aggregates are built on a stack, so a long array that arrives in many
 * chunks is parsed once; a large bulk string waits for all its bytes without re-concatenating.
 */
export class RespParser {
  private buf: Buffer = EMPTY;
  private pos = 0;
  private chunks: Buffer[] = [];
  private chunksLen = 0;
  /** Bytes that must arrive before parsing is worth retrying. */
  private need = 0;
  private readonly stack: Frame[] = [];
  private readonly done: Reply[] = [];

  /** Adds bytes; returns the top-level replies completed by them. Throws RespProtocolError. */
  feed(chunk: Buffer): Reply[] {
    this.chunks.push(chunk);
    this.chunksLen += chunk.length;
    if (this.chunksLen < this.need) return [];
    this.buf = Buffer.concat([this.buf.subarray(this.pos), ...this.chunks]);
    this.pos = 0;
    this.chunks = [];
    this.chunksLen = 0;
    this.need = 0;
    this.parse();
    if (this.pos === this.buf.length) {
      this.buf = EMPTY;
      this.pos = 0;
    }
    return this.done.splice(0);
  }

  /** True when no reply is partially received. */
  get idle(): boolean {
    return this.stack.length === 0 && this.pos === this.buf.length && this.chunksLen === 0;
  }

  private parse(): void {
    const buf = this.buf;
    while (this.pos < buf.length) {
      const start = this.pos;
      const eol = buf.indexOf('\r\n', start + 1);
      if (eol < 0) return;
      const type = buf[start]!;
      const line = buf.toString('latin1', start + 1, eol);
      let value: Reply;
      switch (type) {
        case 0x2b: // '+'
          value = buf.toString('utf8', start + 1, eol);
          break;
        case 0x2d: // '-'
          value = new RedisError(buf.toString('utf8', start + 1, eol));
          break;
        case 0x3a: // ':'
          value = this.int(line);
          break;
        case 0x5f: // '_' RESP3 null
          value = null;
          break;
        case 0x23: // '#' RESP3 boolean
          value = line === 't' ? 1 : 0;
          break;
        case 0x2c: // ',' RESP3 double
        case 0x28: // '(' RESP3 big number
          value = buf.subarray(start + 1, eol);
          break;
        case 0x24: // '$'
        case 0x3d: // '=' RESP3 verbatim string
        case 0x21: {
          // '!' RESP3 blob error
          const len = this.int(line);
          if (len === -1 && type === 0x24) {
            value = null;
            break;
          }
          if (len < 0) throw new RespProtocolError(`bad bulk length ${line}`);
          const body = eol + 2;
          if (buf.length < body + len + 2) {
            this.need = body + len + 2 - buf.length;
            return;
          }
          if (buf[body + len] !== 0x0d || buf[body + len + 1] !== 0x0a) {
            throw new RespProtocolError('bulk string not terminated by CRLF');
          }
          value = buf.subarray(body, body + len);
          // A verbatim string's `txt:` (its format) is dropped: the text is what RESP2 sends.
          if (type === 0x3d) value = value.subarray(4);
          else if (type === 0x21) value = new RedisError(value.toString('utf8'));
          this.pos = body + len + 2;
          this.deliver(value);
          continue;
        }
        case 0x2a: // '*'
        case 0x7e: // '~' RESP3 set
        case 0x3e: // '>' RESP3 push
        case 0x25: {
          // '%' RESP3 map, as a flat array of its pairs
          const n = this.int(line) * (type === 0x25 ? 2 : 1);
          this.pos = eol + 2;
          if (n === -1) this.deliver(null);
          else if (n < 0) throw new RespProtocolError(`bad array length ${line}`);
          else if (n === 0) this.deliver([]);
          else this.stack.push({ items: [], remaining: n });
          continue;
        }
        default:
          throw new RespProtocolError(`unexpected reply type byte 0x${type.toString(16)}`);
      }
      this.pos = eol + 2;
      this.deliver(value);
    }
  }

  private int(text: string): number {
    if (!/^-?\d+$/.test(text)) throw new RespProtocolError(`bad integer ${JSON.stringify(text)}`);
    return Number(text);
  }

  private deliver(value: Reply): void {
    for (;;) {
      const top = this.stack[this.stack.length - 1];
      if (!top) {
        this.done.push(value);
        return;
      }
      top.items.push(value);
      if (--top.remaining > 0) return;
      this.stack.pop();
      value = top.items;
    }
  }
}

export interface ClientOptions {
  /** Per-reply timeout in ms (0 = none). On timeout the connection is destroyed. Default 10 000. */
  timeoutMs?: number;
  /** Connect timeout in ms. Default 5 000. */
  connectTimeoutMs?: number;
  /** Sent with AUTH right after connecting; a failing AUTH rejects connect(). */
  password?: string;
}

interface Waiter {
  resolve(r: Reply): void;
  reject(e: Error): void;
  timer?: NodeJS.Timeout;
}

export class RespClient {
  private readonly parser = new RespParser();
  private readonly waiters: Waiter[] = [];
  private readonly unclaimed: Reply[] = [];
  private closeError: Error | undefined;
  private readonly closedPromise: Promise<void>;
  private isClosed = false;
  private readonly timeoutMs: number;

  static connect(port: number, host = '127.0.0.1', opts: ClientOptions = {}): Promise<RespClient> {
    return RespClient.open(netConnect({ port, host, noDelay: true }), `${host}:${port}`, opts);
  }

  /** Connects to a unix socket. */
  static connectPath(path: string, opts: ClientOptions = {}): Promise<RespClient> {
    return RespClient.open(netConnect({ path }), path, opts);
  }

  private static open(socket: Socket, where: string, opts: ClientOptions): Promise<RespClient> {
    return new Promise<RespClient>((resolve, reject) => {
      const timer = setTimeout(
        () => socket.destroy(new Error(`connect to ${where} timed out`)),
        opts.connectTimeoutMs ?? 5000,
      );
      const onError = (e: Error): void => {
        clearTimeout(timer);
        reject(e);
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        resolve(new RespClient(socket, opts));
      });
    }).then(async (c) => {
      if (opts.password !== undefined) {
        const r = await c.call('AUTH', opts.password);
        if (r instanceof RedisError) {
          c.destroy();
          throw r;
        }
      }
      return c;
    });
  }

  constructor(
    readonly socket: Socket,
    opts: ClientOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.closedPromise = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => (this.closeError ??= e));
    socket.once('close', () => this.onClose());
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Sends a command; resolves with its reply (error replies resolve as RedisError, never reject). */
  call(...args: Arg[]): Promise<Reply> {
    return this.callRaw(encodeCommand(args));
  }

  /** Like call, with bulk strings decoded as UTF-8. */
  async callText(...args: Arg[]): Promise<TextReply> {
    return toText(await this.call(...args));
  }

  /** Writes bytes as they are (e.g. an inline command) and waits for one reply. */
  callRaw(bytes: Buffer | string): Promise<Reply> {
    const p = this.readReply();
    this.writeRaw(bytes);
    return p;
  }

  /** Sends all commands in one write; resolves with their replies in order. */
  pipeline(cmds: readonly (readonly Arg[])[]): Promise<Reply[]> {
    const replies = cmds.map(() => this.readReply());
    this.writeRaw(Buffer.concat(cmds.map(encodeCommand)));
    return Promise.all(replies);
  }

  /** Writes bytes without expecting a reply (use readReply for any that come). */
  writeRaw(bytes: Buffer | string): void {
    if (!this.isClosed) this.socket.write(bytes);
  }

  /** The next reply not claimed by an earlier call. Rejects if the connection closes first. */
  readReply(timeoutMs = this.timeoutMs): Promise<Reply> {
    if (this.unclaimed.length > 0) return Promise.resolve(this.unclaimed.shift()!);
    if (this.isClosed) return Promise.reject(this.closedError());
    return new Promise<Reply>((resolve, reject) => {
      const w: Waiter = { resolve, reject };
      if (timeoutMs > 0) {
        w.timer = setTimeout(() => {
          // Reply order is lost once one is skipped, so the connection cannot be reused.
          this.closeError ??= new Error(`timeout: no reply within ${timeoutMs} ms`);
          this.socket.destroy();
        }, timeoutMs);
      }
      this.waiters.push(w);
    });
  }

  /** Resolves when the server (or we) closed the connection; rejects after timeoutMs if given. */
  waitClosed(timeoutMs?: number): Promise<void> {
    if (timeoutMs === undefined) return this.closedPromise;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs);
    });
    return Promise.race([this.closedPromise, timeout]).finally(() => clearTimeout(timer));
  }

  /** Half-closes and waits for the server to close too (or destroys after 2 s). */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), 2000);
    await this.closedPromise;
    clearTimeout(timer);
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    let replies: Reply[];
    try {
      replies = this.parser.feed(chunk);
    } catch (e) {
      this.closeError = e as Error;
      this.socket.destroy();
      return;
    }
    for (const r of replies) {
      const w = this.waiters.shift();
      if (!w) {
        this.unclaimed.push(r);
        continue;
      }
      if (w.timer) clearTimeout(w.timer);
      w.resolve(r);
    }
  }

  private closedError(): Error {
    const why = this.closeError ? `: ${this.closeError.message}` : '';
    const err = new Error(`connection closed${why}`);
    if (this.closeError) err.cause = this.closeError;
    return err;
  }

  private onClose(): void {
    this.isClosed = true;
    const err = this.closedError();
    for (const w of this.waiters.splice(0)) {
      if (w.timer) clearTimeout(w.timer);
      w.reject(err);
    }
  }
}
