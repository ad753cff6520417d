/**
 * Finds reply boundaries in a byte stream without decoding values: the backend connection
 * only needs to know where each reply ends to hand its raw bytes to the right request.
 * The scanner is resumable: a reply may span any number of chunks, and no state but a few
 * integers is kept between them. Understands RESP2 and the RESP3 aggregate and scalar types.
 */
import { indexOfNewline } from './newline.js';

export class ReplyProtocolError extends Error {}

const S_HEADER_START = 0;
const S_HEADER = 1;
const S_BODY = 2;

export class ReplyScanner {
  private state = S_HEADER_START;
  /** Type byte of the header line being read. */
  private type = 0;
  private num = 0;
  private neg = false;
  private digits = 0;
  /** Body bytes (and CRLF) left to skip for a bulk string. */
  private left = 0;
  /** Remaining element counts of the open aggregates, innermost last. */
  private readonly stack: number[] = [];

  /** True when between replies (nothing partially scanned). */
  get idle(): boolean {
    return this.state === S_HEADER_START && this.stack.length === 0;
  }

  reset(): void {
    this.state = S_HEADER_START;
    this.stack.length = 0;
    this.left = 0;
  }

  /**
   * Scans chunk from `from`; returns the offset just past the end of the next complete
   * top-level reply, or -1 when the chunk ended first (state is kept for the next chunk).
   */
  scan(chunk: Uint8Array, from: number): number {
    const len = chunk.length;
    let i = from;
    while (i < len) {
      switch (this.state) {
        case S_HEADER_START: {
          const t = chunk[i]!;
          if (t === 0x24 /* $ */ || t === 0x2a /* * */) {
            // Fast path, the bulk of a big array reply: a whole `$n` / `*n` header in this
            // chunk is read with locals; anything else goes through the states below.
            let j = i + 1;
            let c = j < len ? chunk[j]! : 0;
            if (c >= 48 && c <= 57) {
              let n = 0;
              do {
                n = n * 10 + (c - 48);
                c = ++j < len ? chunk[j]! : 0;
              } while (c >= 48 && c <= 57);
              if (c === 13 && j + 1 < len && chunk[j + 1] === 10) {
                j += 2;
                if (t === 0x24) {
                  const end = j + n + 2;
                  if (end > len) {
                    this.left = end - len;
                    this.state = S_BODY;
                    return -1;
                  }
                  i = end;
                  if (this.elementDone()) return i;
                } else {
                  i = j;
                  if (n > 0) this.stack.push(n);
                  else if (this.elementDone()) return i;
                }
                continue;
              }
            }
          }
          i++;
          this.type = t;
          if (t === 0x2b /* + */ || t === 0x2d /* - */ || t === 0x3a /* : */ || isLineType(t)) {
            // Values on the line are not needed: jump to its newline.
            const nl = indexOfNewline(chunk, i);
            if (nl < 0) {
              this.state = S_HEADER;
              this.digits = -1; // skipping, not parsing
              return -1;
            }
            i = nl + 1;
            if (this.elementDone()) return i;
            continue;
          }
          if (!isLengthType(t))
            throw new ReplyProtocolError(`unexpected reply type byte 0x${t.toString(16)}`);
          this.state = S_HEADER;
          this.num = 0;
          this.neg = false;
          this.digits = 0;
          break;
        }
        case S_HEADER: {
          if (this.digits < 0) {
            const nl = indexOfNewline(chunk, i);
            if (nl < 0) return -1;
            i = nl + 1;
            this.state = S_HEADER_START;
            if (this.elementDone()) return i;
            continue;
          }
          const c = chunk[i++]!;
          if (c >= 48 && c <= 57) {
            this.num = this.num * 10 + (c - 48);
            this.digits++;
          } else if (c === 0x2d && this.digits === 0 && !this.neg) {
            this.neg = true;
          } else if (c === 13) {
            // wait for the \n
          } else if (c === 10) {
            if (this.headerDone()) return i;
          } else if (c === 0x3f /* ? streamed aggregate */) {
            throw new ReplyProtocolError('streamed RESP3 aggregates are not supported');
          } else {
            throw new ReplyProtocolError(`bad length byte 0x${c.toString(16)} in reply header`);
          }
          break;
        }
        case S_BODY: {
          const avail = len - i;
          if (avail < this.left) {
            this.left -= avail;
            return -1;
          }
          i += this.left;
          this.left = 0;
          this.state = S_HEADER_START;
          if (this.elementDone()) return i;
          break;
        }
      }
    }
    return -1;
  }

  /** A length header ended; returns true if that completed a top-level reply. */
  private headerDone(): boolean {
    const n = this.neg ? -this.num : this.num;
    const t = this.type;
    this.state = S_HEADER_START;
    if (t === 0x24 /* $ */ || t === 0x3d /* = */ || t === 0x21 /* ! */) {
      if (n < 0) return this.elementDone(); // null bulk
      this.left = n + 2;
      this.state = S_BODY;
      return false;
    }
    // Aggregates: * array, ~ set, > push, % map (2n), | attribute (2n, then the real reply)
    let count = t === 0x25 || t === 0x7c ? 2 * n : n;
    if (t === 0x7c) count += 1; // the attributed reply follows and belongs to this element
    if (count <= 0) return this.elementDone();
    this.stack.push(count);
    return false;
  }

  /** One element finished; closes finished aggregates. True when a top-level reply is done. */
  private elementDone(): boolean {
    const st = this.stack;
    while (st.length > 0) {
      const top = st.length - 1;
      if (--st[top]! > 0) return false;
      st.pop();
    }
    return true;
  }
}

function isLengthType(t: number): boolean {
  // $ * = ! ~ > % |
  return (
    t === 0x24 ||
    t === 0x2a ||
    t === 0x3d ||
    t === 0x21 ||
    t === 0x7e ||
    t === 0x3e ||
    t === 0x25 ||
    t === 0x7c
  );
}

function isLineType(t: number): boolean {
  // _ null, # boolean, , double, ( big number
  return t === 0x5f || t === 0x23 || t === 0x2c || t === 0x28;
}

/**
 * Splits a complete array reply into its elements' raw bytes (views). Returns null when the
 * reply is not an array (e.g. an error). For the replies to the proxy's own commands.
 */
export function splitArrayReply(reply: Buffer): Buffer[] | null {
  if (reply[0] !== 0x2a) return null;
  const nl = reply.indexOf(10);
  const n = parseDigits(reply, 1, nl - 1);
  const out: Buffer[] = [];
  if (!(n > 0)) return out;
  const sc = new ReplyScanner();
  let p = nl + 1;
  for (let i = 0; i < n; i++) {
    const end = sc.scan(reply, p);
    if (end < 0) throw new ReplyProtocolError('truncated array reply');
    out.push(reply.subarray(p, end));
    p = end;
  }
  return out;
}

/** The integer of a `:n` reply, or NaN for any other reply. */
export function integerReply(data: Uint8Array, start: number, end: number): number {
  if (end - start < 4 || data[start] !== 0x3a || data[end - 2] !== 13) return NaN;
  return parseDigits(data, start + 1, end - 2);
}

/** The decimal integer (an optional `-`, then digits) in data[start, end), or NaN. */
function parseDigits(data: Uint8Array, start: number, end: number): number {
  const neg = data[start] === 0x2d;
  let i = neg ? start + 1 : start;
  if (i >= end) return NaN;
  let v = 0;
  for (; i < end; i++) {
    const c = data[i]! - 48;
    if (c < 0 || c > 9) return NaN;
    v = v * 10 + c;
  }
  return neg ? -v : v;
}

/**
 * Where the elements of an array reply of `n` elements start in data[start, end): just past
 * its `*n` header, or -1 when it is not such an array.
 */
export function arrayBodyStart(data: Uint8Array, start: number, end: number, n: number): number {
  if (data[start] !== 0x2a) return -1;
  let nl = start + 1;
  while (nl < end && data[nl] !== 13) nl++;
  if (nl + 1 >= end || data[nl + 1] !== 10 || parseDigits(data, start + 1, nl) !== n) return -1;
  return nl + 2;
}

/** Whether the reply bytes at buf[at…] begin with `prefix` (an error code such as `-NOSCRIPT`). */
export function startsWith(buf: Uint8Array, at: number, prefix: Uint8Array): boolean {
  if (buf.length - at < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (buf[at + i] !== prefix[i]) return false;
  return true;
}
