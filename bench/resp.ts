/**
 * A tiny RESP2 client for preloading keys and health checks. Bench-local on purpose: measuring the
 * proxy with the proxy's own codec would hide codec bugs.
 */
import { connect, type Socket } from 'node:net';

export type Reply = string | number | Buffer | null | Error | Reply[];

export function encode(args: readonly (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a) : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

const INCOMPLETE = Symbol('incomplete');

/** Parses one reply at `pos`; returns it with the next position, or INCOMPLETE. */
function parse(buf: Buffer, pos: number): [Reply, number] | typeof INCOMPLETE {
  const eol = buf.indexOf('\r\n', pos);
  if (eol < 0) return INCOMPLETE;
  const line = buf.toString('latin1', pos + 1, eol);
  const next = eol + 2;
  switch (buf[pos]) {
    case 0x2b /* + */:
      return [line, next];
    case 0x2d /* - */:
      return [new Error(line), next];
    case 0x3a /* : */:
      return [Number(line), next];
    case 0x24 /* $ */: {
      const n = Number(line);
      if (n < 0) return [null, next];
      if (buf.length < next + n + 2) return INCOMPLETE;
      return [buf.subarray(next, next + n), next + n + 2];
    }
    case 0x2a /* * */: {
      const n = Number(line);
      if (n < 0) return [null, next];
      const items: Reply[] = [];
      let p = next;
      for (let i = 0; i < n; i++) {
        const r = parse(buf, p);
        if (r === INCOMPLETE) return INCOMPLETE;
        items.push(r[0]);
        p = r[1];
      }
      return [items, p];
    }
    default:
      throw new Error(`bad RESP type byte 0x${(buf[pos] ?? 0).toString(16)}`);
  }
}

export class RespConn {
  private buf: Buffer = Buffer.alloc(0);
  private waiting: {
    want: number;
    got: Reply[];
    resolve: (r: Reply[]) => void;
    reject: (e: Error) => void;
  }[] = [];
  private failure: Error | undefined;

  private constructor(private readonly sock: Socket) {
    sock.on('data', (d: Buffer) => this.onData(d));
    const fail = (e: Error): void => {
      this.failure ??= e;
      for (const w of this.waiting.splice(0)) w.reject(this.failure);
    };
    sock.on('error', fail);
    sock.on('close', () => fail(new Error('connection closed')));
  }

  static open(host: string, port: number, timeoutMs = 5000): Promise<RespConn> {
    return new Promise((resolve, reject) => {
      const sock = connect(port, host);
      const t = setTimeout(() => {
        sock.destroy();
        reject(new Error(`connect ${host}:${port} timed out`));
      }, timeoutMs);
      sock.once('connect', () => {
        clearTimeout(t);
        sock.setNoDelay(true);
        resolve(new RespConn(sock));
      });
      sock.once('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    let pos = 0;
    while (this.waiting.length && pos < this.buf.length) {
      const r = parse(this.buf, pos);
      if (r === INCOMPLETE) break;
      pos = r[1];
      const w = this.waiting[0]!;
      w.got.push(r[0]);
      if (w.got.length === w.want) {
        this.waiting.shift();
        w.resolve(w.got);
      }
    }
    this.buf = this.buf.subarray(pos);
  }

  /** Sends commands in one write and resolves with their replies, or rejects after `timeoutMs`. */
  pipeline(cmds: readonly (readonly (string | Buffer)[])[], timeoutMs = 10_000): Promise<Reply[]> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      // A reply that never comes must not hang the bench: fail and drop the connection.
      const t = setTimeout(() => {
        this.failure ??= new Error(`no reply within ${timeoutMs} ms`);
        this.close();
        for (const w of this.waiting.splice(0)) w.reject(this.failure);
      }, timeoutMs);
      this.waiting.push({
        want: cmds.length,
        got: [],
        resolve: (r) => {
          clearTimeout(t);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(t);
          reject(e);
        },
      });
      this.sock.write(Buffer.concat(cmds.map(encode)));
    });
  }

  async call(args: readonly (string | Buffer)[], timeoutMs?: number): Promise<Reply> {
    return (await this.pipeline([args], timeoutMs))[0]!;
  }

  close(): void {
    this.sock.destroy();
  }
}

/**
 * PING until PONG, for up to `ms`: a proxy may listen a moment before it is online (with
 * workers, until the primary has handed them the slot table) and refuse clients meanwhile.
 */
export async function waitPong(host: string, port: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (await pingOk(host, port, Math.max(100, until - Date.now()))) return true;
    if (Date.now() >= until) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One PING on a fresh connection: true only for +PONG within the timeout. */
export async function pingOk(host: string, port: number, timeoutMs = 3000): Promise<boolean> {
  let c: RespConn | undefined;
  try {
    c = await RespConn.open(host, port, timeoutMs);
    return (await c.call(['PING'], timeoutMs)) === 'PONG';
  } catch {
    return false;
  } finally {
    c?.close();
  }
}
