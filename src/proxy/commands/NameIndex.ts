/**
 * Command names by hash, matched case-insensitively against request bytes in place: every
 * request looks its command up, so this neither allocates nor builds a string, and indexing a
 * power-of-two array of buckets costs less than a Map.
 */

/** What the index holds: anything known by an upper-case name. */
export interface Named {
  readonly upper: Buffer;
}

export class NameIndex<T extends Named> {
  private readonly buckets: (T[] | undefined)[];

  /** `size` must be a power of two. */
  constructor(size: number) {
    this.buckets = new Array<T[] | undefined>(size).fill(undefined);
  }

  add(e: T): void {
    const h = hashUpper(e.upper, 0, e.upper.length) & (this.buckets.length - 1);
    const bucket = this.buckets[h];
    if (bucket) bucket.push(e);
    else this.buckets[h] = [e];
  }

  /** The entry named by b[from, to), in any case. */
  find(b: Buffer, from: number, to: number): T | undefined {
    const bucket = this.buckets[hashUpper(b, from, to) & (this.buckets.length - 1)];
    if (bucket === undefined) return undefined;
    for (let i = 0; i < bucket.length; i++) if (equalsUpper(bucket[i]!.upper, b, from, to)) return bucket[i];
    return undefined;
  }
}

/** FNV-1a over ASCII-upper-cased bytes b[from, to), folded to 30 bits (a small integer). */
function hashUpper(b: Buffer, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) {
    let c = b[i]!;
    if (c >= 97 && c <= 122) c -= 32;
    h = Math.imul(h ^ c, 0x01000193);
  }
  return h & 0x3fffffff;
}

/** `upper` is already upper-case; b[from, to) is compared case-insensitively (ASCII, like strcasecmp). */
export function equalsUpper(upper: Buffer, b: Buffer, from = 0, to = b.length): boolean {
  if (upper.length !== to - from) return false;
  for (let i = from; i < to; i++) {
    let c = b[i]!;
    if (c >= 97 && c <= 122) c -= 32;
    if (c !== upper[i - from]) return false;
  }
  return true;
}
