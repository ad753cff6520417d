/** RESP2 reply encoders for replies the proxy makes itself (never on the forwarding path). */

const CRLF = '\r\n';

export const OK = Buffer.from('+OK\r\n');
export const PONG = Buffer.from('+PONG\r\n');
export const NIL = Buffer.from('$-1\r\n');
export const NIL_ARRAY = Buffer.from('*-1\r\n');
export const EMPTY_ARRAY = Buffer.from('*0\r\n');

export function simple(s: string): Buffer {
  return Buffer.from('+' + s + CRLF);
}

/** `msg` is the whole error text including its code, e.g. `ERR unknown command`. */
export function error(msg: string): Buffer {
  return Buffer.from('-' + msg.replace(/[\r\n]/g, ' ') + CRLF);
}

export function integer(n: number | bigint): Buffer {
  return Buffer.from(':' + n + CRLF);
}

export function bulk(b: Buffer | string | null): Buffer {
  if (b === null) return NIL;
  const body = typeof b === 'string' ? Buffer.from(b) : b;
  const head = Buffer.from('$' + body.length + CRLF);
  return Buffer.concat([head, body, Buffer.from(CRLF)]);
}

/** Array header followed by already-encoded elements. */
export function array(items: readonly Buffer[]): Buffer {
  return Buffer.concat([Buffer.from('*' + items.length + CRLF), ...items]);
}

export function arrayHeader(n: number): Buffer {
  return Buffer.from('*' + n + CRLF);
}

/** A command as a RESP multi-bulk, for requests the proxy sends on its own. */
export function command(args: readonly (Buffer | string | number)[]): Buffer {
  const parts: Buffer[] = [Buffer.from('*' + args.length + CRLF)];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a));
    parts.push(Buffer.from('$' + b.length + CRLF), b, Buffer.from(CRLF));
  }
  return Buffer.concat(parts);
}
