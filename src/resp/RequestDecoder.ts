/**
 * Streaming decoder of client requests: RESP2 multi-bulk and inline commands.
 *
 * A command comes out as positions in the received chunk (a RawCommand: no copy, no string,
 * no Buffer per argument), so that it can be routed and then forwarded verbatim. A request that
 * spans chunks is kept as a list of pieces and joined once, when enough bytes have arrived,
 * so a 64 MB value costs one copy rather than one per chunk.
 */
import { Buffer } from 'node:buffer';
import { writeBulk, writeHeader } from './encode.js';
import { indexOfNewline } from './newline.js';
import { RawCommand } from './RawCommand.js';

export class ProtocolError extends Error {}

export interface DecoderLimits {
  /** Most elements in one multi-bulk (Codis/Redis: 1,048,576). */
  maxElements: number;
  /** Longest bulk string (Redis: 512 MB). */
  maxBulk: number;
  /** Largest whole request in bytes. */
  maxRequest: number;
}

export const DEFAULT_LIMITS: DecoderLimits = {
  maxElements: 1024 * 1024,
  maxBulk: 512 * 1024 * 1024,
  maxRequest: 512 * 1024 * 1024,
};

/** A request that needs this many bytes or more is gathered in a buffer of its size. */
const BIG_REQUEST = 64 * 1024;

/** Longest inline command or multi-bulk header line without a newline (as Redis). */
const MAX_INLINE = 64 * 1024;

export interface RequestSink {
  /** `cmd` (RESP multi-bulk bytes, ready to forward) is valid only during the call. */
  onRequest(cmd: RawCommand): void;
}

/** Shared by every decoder: a command is handled before the next one is parsed. */
const cmd = new RawCommand();

const INCOMPLETE = -1;

export class RequestDecoder {
  private pieces: Buffer[] = [];
  private piecesLen = 0;
  /** Bytes the buffered partial request needs before parsing is worth trying again. */
  private need = 0;
  /** Set by parse() when the request is incomplete: total bytes it needs from its start. */
  private wanted = 0;
  /**
   * A big request gathers in one buffer, as Redis reads a big argument: held as pieces and
   * joined when complete, it would take twice its size at the peak. Pages of a big allocation
   * are taken only as bytes are written to them.
   */
  private room: Buffer | null = null;
  private roomLen = 0;

  constructor(private readonly limits: DecoderLimits = DEFAULT_LIMITS) {}

  /** Bytes held for an incomplete request. */
  get buffered(): number {
    return this.piecesLen + this.roomLen;
  }

  /** Decodes every complete request in `chunk`; throws ProtocolError on malformed input. */
  feed(chunk: Buffer, sink: RequestSink): void {
    if (this.room !== null) {
      this.fill(chunk, sink);
      return;
    }
    let data = chunk;
    if (this.piecesLen > 0) {
      this.pieces.push(chunk);
      this.piecesLen += chunk.length;
      if (this.piecesLen < this.need) {
        if (this.piecesLen > this.limits.maxRequest) throw new ProtocolError('request too large');
        return;
      }
      data = this.pieces.length === 1 ? this.pieces[0]! : Buffer.concat(this.pieces, this.piecesLen);
      this.pieces = [];
      this.piecesLen = 0;
    }
    this.decode(data, sink);
  }

  /** `from`: the room `data` lies in, kept if the request at its start is still incomplete. */
  private decode(data: Buffer, sink: RequestSink, from: Buffer | null = null): void {
    let pos = 0;
    const len = data.length;
    while (pos < len) {
      const end = this.parse(data, pos, sink);
      if (end === INCOMPLETE) {
        this.hold(data.subarray(pos), pos === 0 ? from : null);
        return;
      }
      pos = end;
    }
  }

  /** Keeps the start of an incomplete request until `wanted` bytes of it are here. */
  private hold(rest: Buffer, last: Buffer | null): void {
    const wanted = this.wanted;
    if (rest.length > this.limits.maxRequest || wanted > this.limits.maxRequest) {
      throw new ProtocolError('request too large');
    }
    this.need = Math.max(wanted, rest.length + 1);
    if (wanted >= BIG_REQUEST) {
      // A request with more big arguments to come stays where it is while they fit, and its
      // room doubles when one does not: the copying stays linear in the request's size.
      const room =
        last !== null && wanted <= last.length
          ? last
          : newRoom(Math.min(this.limits.maxRequest, Math.max(wanted, last === null ? 0 : 2 * last.length)));
      if (room !== null) {
        this.room = room;
        this.roomLen = room === last ? rest.length : rest.copy(room, 0);
        return;
      }
    }
    this.pieces.push(rest);
    this.piecesLen = rest.length;
  }

  /** Adds to a big request's buffer; once it holds what is needed, decodes it and then the rest of `chunk`. */
  private fill(chunk: Buffer, sink: RequestSink): void {
    const room = this.room!;
    const take = Math.min(chunk.length, room.length - this.roomLen);
    this.roomLen += chunk.copy(room, this.roomLen, 0, take);
    // All of chunk went in, or the room is full (it is at least `need` long).
    if (this.roomLen < this.need) return;
    const data = room.subarray(0, this.roomLen);
    this.room = null;
    this.roomLen = 0;
    this.decode(data, sink, room);
    if (take < chunk.length) this.feed(chunk.subarray(take), sink);
  }

  private parse(data: Buffer, start: number, sink: RequestSink): number {
    if (data[start] !== 0x2a /* * */) return this.parseInline(data, start, sink);
    const len = data.length;
    let p = readHeader(data, start, len);
    if (p < 0) p = this.header(data, start, start, 'multibulk');
    if (p === INCOMPLETE) return p;
    const n = headerValue;
    if (n > this.limits.maxElements) throw new ProtocolError('invalid multibulk length');
    if (n <= 0) return p; // Redis skips empty and null multi-bulks
    cmd.reserve(n);
    const offs = cmd.offs;
    for (let i = 0; i < n; i++) {
      if (p >= len) return this.incomplete(p - start + 4);
      if (data[p] !== 0x24 /* $ */) {
        throw new ProtocolError(`expected '$', got '${printable(data[p]!)}'`);
      }
      let body = readHeader(data, p, len);
      if (body < 0) body = this.header(data, p, start, 'bulk');
      if (body === INCOMPLETE) return body;
      const blen = headerValue;
      if (blen < 0 || blen > this.limits.maxBulk) throw new ProtocolError('invalid bulk length');
      const next = body + blen + 2;
      if (next > len) return this.incomplete(next - start + (n - i - 1) * 4);
      if (data[next - 2] !== 13 || data[next - 1] !== 10)
        throw new ProtocolError('bulk not followed by CRLF');
      offs[2 * i] = body;
      offs[2 * i + 1] = body + blen;
      p = next;
    }
    cmd.data = data;
    cmd.start = start;
    cmd.end = p;
    cmd.argc = n;
    sink.onRequest(cmd);
    return p;
  }

  /**
   * A header line at data[p] that readHeader left (its type byte checked; `start`: where the
   * request began): where the line ends, with its number in headerValue, or INCOMPLETE. `what`
   * names it in the error.
   */
  private header(data: Buffer, p: number, start: number, what: string): number {
    const nl = indexOfNewline(data, p);
    if (nl < 0) return this.incompleteLine(data.length - p, data.length - start);
    const v = parseLineInt(data, p + 1, nl);
    if (Number.isNaN(v)) throw new ProtocolError(`invalid ${what} length`);
    headerValue = v;
    return nl + 1;
  }

  private parseInline(data: Buffer, start: number, sink: RequestSink): number {
    const nl = data.indexOf(10, start);
    if (nl < 0) {
      if (data.length - start > MAX_INLINE) throw new ProtocolError('too big inline request');
      return this.incomplete(data.length - start + 1);
    }
    const lineEnd = nl > start && data[nl - 1] === 13 ? nl - 1 : nl;
    const args = splitInline(data, start, lineEnd);
    // Forwarded as multi-bulk: the encoded form is parsed like any other command.
    if (args.length > 0) this.parse(encodeMultiBulk(args), 0, sink);
    return nl + 1;
  }

  /** A header line without its newline yet: `line` bytes of it, `held` bytes since the request start. */
  private incompleteLine(line: number, held: number): number {
    if (line > MAX_INLINE) throw new ProtocolError('too big mbulk count string');
    return this.incomplete(held + 1);
  }

  private incomplete(wanted: number): number {
    this.wanted = wanted;
    return INCOMPLETE;
  }
}

/** A buffer for a big request, or null when that much memory cannot be had now. */
function newRoom(size: number): Buffer | null {
  try {
    return Buffer.allocUnsafeSlow(size);
  } catch {
    return null;
  }
}

/** The number in the header line read last (readHeader, RequestDecoder.header). */
let headerValue = 0;

/**
 * The usual header line, a type byte, up to 15 digits and CRLF, read in one pass: where the
 * line ends (past its '\n'), with its number in headerValue. Anything else (a line not all
 * here, a sign, a leading zero, a stray byte) gives -1, and the general path reads it (and
 * refuses it if it must) as before.
 */
function readHeader(data: Buffer, p: number, len: number): number {
  const max = p + 16 < len ? p + 16 : len;
  let q = p + 1;
  let v = 0;
  let c = 0;
  while (q < max && (c = data[q]!) >= 0x30 && c <= 0x39) {
    v = v * 10 + c - 0x30;
    q++;
  }
  if (c !== 13 || q === p + 1 || q + 1 >= len || data[q + 1] !== 10) return -1;
  if (data[p + 1] === 0x30 && q > p + 2) return -1;
  headerValue = v;
  return q + 2;
}

/**
 * The integer in data[from, nl), where nl indexes the '\n' of "\r\n"; NaN unless written as
 * Redis writes it (its string2ll): no leading zeros, no `-0`, no `+`. Redis drops a connection
 * that sends `$03`, so a header it would refuse must never be forwarded on a shared backend
 * connection.
 */
function parseLineInt(data: Buffer, from: number, nl: number): number {
  const end = nl - 1;
  if (end <= from || data[end] !== 13) return NaN;
  let i = from;
  let neg = false;
  if (data[i] === 0x2d /* - */) {
    neg = true;
    i++;
    if (i === end) return NaN;
  }
  if (data[i] === 0x30 /* 0 */ && (neg || end - i > 1)) return NaN;
  let v = 0;
  for (; i < end; i++) {
    const d = data[i]! - 48;
    if (d < 0 || d > 9) return NaN;
    v = v * 10 + d;
    if (v > Number.MAX_SAFE_INTEGER) return NaN;
  }
  return neg ? -v : v;
}

function printable(b: number): string {
  return b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '\\x' + b.toString(16).padStart(2, '0');
}

/**
 * Splits an inline command as Redis does (sdssplitargs): blanks separate arguments; "double
 * quotes" take \n \r \t \b \a \xHH and \<any> escapes, 'single quotes' only \'; a quote may
 * open inside an argument, and a closing quote must be followed by a blank or the end. A NUL
 * byte ends the line, as it ends Redis's C string.
 */
function splitInline(data: Buffer, start: number, end: number): Buffer[] {
  const out: Buffer[] = [];
  const at = (k: number): number => (k < end ? data[k]! : 0);
  let i = start;
  for (;;) {
    while (i < end && isSpace(data[i]!)) i++;
    if (at(i) === 0) return out;
    // The common case, an argument without quotes, is a view of the line.
    const s = i;
    while (i < end && !endsToken(data[i]!) && data[i] !== 0x22 && data[i] !== 0x27) i++;
    if (endsToken(at(i))) {
      out.push(data.subarray(s, i));
      continue;
    }
    const cur: number[] = [];
    for (let k = s; k < i; k++) cur.push(data[k]!);
    /** The open quote, or 0. */
    let quote = 0;
    for (let done = false; !done;) {
      const c = at(i);
      if (quote === 0) {
        if (endsToken(c)) done = true;
        else if (c === 0x22 || c === 0x27) quote = c;
        else cur.push(c);
      } else if (c === 0) {
        throw new ProtocolError('unbalanced quotes in request');
      } else if (c === quote) {
        if (at(i + 1) !== 0 && !isSpace(at(i + 1))) throw new ProtocolError('unbalanced quotes in request');
        done = true;
      } else if (c !== 0x5c || at(i + 1) === 0) {
        cur.push(c);
      } else if (quote === 0x27) {
        if (at(i + 1) === 0x27) i++;
        cur.push(data[i]!);
      } else if (at(i + 1) === 0x78 && isHex(at(i + 2)) && isHex(at(i + 3))) {
        cur.push(parseInt(String.fromCharCode(at(i + 2), at(i + 3)), 16));
        i += 3;
      } else {
        const e = data[++i]!;
        cur.push(e === 0x6e ? 10 : e === 0x72 ? 13 : e === 0x74 ? 9 : e === 0x62 ? 8 : e === 0x61 ? 7 : e);
      }
      if (c !== 0) i++;
    }
    out.push(Buffer.from(cur));
  }
}

/** C's isspace: what is skipped between arguments. */
function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** What ends an unquoted argument in sdssplitargs (not \v or \f). */
function endsToken(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

export function encodeMultiBulk(args: readonly Buffer[]): Buffer {
  let size = 16;
  for (const a of args) size += a.length + 16;
  const out = Buffer.allocUnsafe(size);
  let p = writeHeader(out, 0, 0x2a, args.length);
  for (const a of args) p = writeBulk(out, p, a);
  return out.subarray(0, p);
}
