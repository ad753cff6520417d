/**
 * One decoded client command as positions in the received bytes. Most commands are routed
 * from their name and one key and then forwarded verbatim, so the decoder hands out offsets
 * only; argument Buffers are made when something asks for them (`args()`).
 *
 * The decoder reuses one RawCommand: its fields are valid only during `onRequest`.
 */

export class RawCommand {
  data: Buffer = EMPTY;
  /** The whole command is data[start, end). */
  start = 0;
  end = 0;
  argc = 0;
  /** Argument i is data[offs[2i], offs[2i + 1]). */
  offs = new Int32Array(INITIAL_ARGS * 2);

  argStart(i: number): number {
    return this.offs[2 * i]!;
  }

  argEnd(i: number): number {
    return this.offs[2 * i + 1]!;
  }

  /** Argument views into `data` (no copy). */
  args(): Buffer[] {
    const out = new Array<Buffer>(this.argc);
    for (let i = 0; i < this.argc; i++) out[i] = this.data.subarray(this.offs[2 * i], this.offs[2 * i + 1]);
    return out;
  }

  /**
   * Reads a command already known to be well-formed RESP multi-bulk, at data[start…] (the
   * bytes a request kept), into this table.
   */
  load(data: Buffer, start: number): this {
    const n = readInt(data, start + 1);
    this.reserve(n);
    const offs = this.offs;
    let p = intEnd + 2;
    for (let i = 0; i < n; i++) {
      const len = readInt(data, p + 1);
      const body = intEnd + 2;
      offs[2 * i] = body;
      offs[2 * i + 1] = body + len;
      p = body + len + 2;
    }
    this.data = data;
    this.start = start;
    this.end = p;
    this.argc = n;
    return this;
  }

  /** Drops the reference to the bytes, so a table kept for reuse does not keep them alive. */
  release(): void {
    this.data = EMPTY;
  }

  /** Makes room for `argc` arguments; a very long command's table is not kept afterwards. */
  reserve(argc: number): void {
    if (argc * 2 > this.offs.length) this.offs = new Int32Array(argc * 2);
    else if (this.offs.length > KEEP_ARGS * 2 && argc <= INITIAL_ARGS)
      this.offs = new Int32Array(INITIAL_ARGS * 2);
  }
}

const EMPTY = Buffer.alloc(0);
const INITIAL_ARGS = 16;
const KEEP_ARGS = 4096;

/**
 * Argument views of a command already known to be well-formed RESP multi-bulk, at
 * data[start…]: a request that kept only its bytes rebuilds its arguments this way.
 */
export function splitMultiBulk(data: Buffer, start: number): Buffer[] {
  const args = SPLIT.load(data, start).args();
  SPLIT.release();
  return args;
}

const SPLIT = new RawCommand();

/** Where readInt stopped: the '\r' after the number. */
let intEnd = 0;

/** The non-negative decimal number at data[i] up to its '\r' (sets intEnd). */
function readInt(data: Buffer, i: number): number {
  let v = 0;
  for (let c = data[i]!; c !== 13; c = data[++i]!) v = v * 10 + (c - 48);
  intEnd = i;
  return v;
}
