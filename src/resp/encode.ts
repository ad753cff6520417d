/**
 * Encoders for what the proxy writes itself: its own replies and commands, and the
 * sub-commands of split multi-key commands. RESP2, and the few RESP3 forms (null, map,
 * verbatim string) that a RESP3 session's local replies need.
 */
import { copyBytes } from '../utils/copyBytes.js';

const CRLF = '\r\n';

export const OK = Buffer.from('+OK\r\n');
export const PONG = Buffer.from('+PONG\r\n');
export const NIL = Buffer.from('$-1\r\n');
export const NIL_ARRAY = Buffer.from('*-1\r\n');
export const EMPTY_ARRAY = Buffer.from('*0\r\n');
/** RESP3's one null, for a missing string and a missing array alike. */
export const NULL3 = Buffer.from('_\r\n');

/** The protocol a client speaks, chosen with HELLO. */
export type Proto = 2 | 3;

/** A missing string: `$-1` in RESP2, `_` in RESP3. */
export function nil(proto: Proto): Buffer {
  return proto === 3 ? NULL3 : NIL;
}

/** A missing array: `*-1` in RESP2, `_` in RESP3. */
export function nilArray(proto: Proto): Buffer {
  return proto === 3 ? NULL3 : NIL_ARRAY;
}

/** The header of a map of `n` pairs: `%n` in RESP3, a flat `*2n` array in RESP2. */
export function mapHeader(n: number, proto: Proto): Buffer {
  return Buffer.from((proto === 3 ? '%' + n : '*' + 2 * n) + CRLF);
}

/** Text as Redis sends INFO: a verbatim string (`=len\r\ntxt:…`) in RESP3, a bulk string in RESP2. */
export function verbatim(text: string, proto: Proto): Buffer {
  if (proto === 2) return bulk(text);
  const body = Buffer.from('txt:' + text);
  return Buffer.concat([Buffer.from('=' + body.length + CRLF), body, Buffer.from(CRLF)]);
}

export function simple(s: string): Buffer {
  return Buffer.from('+' + s + CRLF);
}

/** `msg` is the whole error text including its code, e.g. `ERR unknown command`. */
export function error(msg: string): Buffer {
  return Buffer.from('-' + msg.replace(/[\r\n]/g, ' ') + CRLF);
}

/** `-<prefix><arg><suffix>` keeping the argument's bytes, as Redis's `%.128s` does (cut at 128 bytes or a NUL). */
export function errorWithArg(prefix: string, arg: Buffer, suffix: string): Buffer {
  const nul = arg.indexOf(0);
  const a = Buffer.from(arg.subarray(0, Math.min(nul < 0 ? arg.length : nul, 128)));
  for (let i = 0; i < a.length; i++) if (a[i] === 13 || a[i] === 10) a[i] = 32;
  return Buffer.concat([Buffer.from('-' + prefix), a, Buffer.from(suffix + CRLF)]);
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

/** Writes `$len\r\n<b>\r\n` at p; returns the end. `out` must have room for it. */
export function writeBulk(out: Buffer, p: number, b: Buffer): number {
  return writeBulkRange(out, p, b, 0, b.length);
}

/** writeBulk of data[start, end), with no view made of it. */
export function writeBulkRange(out: Buffer, p: number, data: Buffer, start: number, end: number): number {
  p = writeHeader(out, p, 0x24, end - start);
  p += copyBytes(data, start, end, out, p);
  out[p++] = 13;
  out[p++] = 10;
  return p;
}

/** Bytes of the header writeHeader writes for `n` (n >= 0): the type, the digits and CRLF. */
export function headerLength(n: number): number {
  let len = 4;
  for (let v = n; v >= 10; v = Math.floor(v / 10)) len++;
  return len;
}

/** Writes `*n\r\n` or `$n\r\n` (type `*` or `$`) at p, without making a string of the number; returns the end. */
export function writeHeader(out: Buffer, p: number, type: number, n: number): number {
  out[p++] = type;
  let end = p + 1;
  for (let v = n; v >= 10; v = Math.floor(v / 10)) end++;
  let v = n;
  for (let q = end - 1; q >= p; q--) {
    out[q] = 48 + (v % 10);
    v = Math.floor(v / 10);
  }
  out[end] = 13;
  out[end + 1] = 10;
  return end + 2;
}
