/**
 * Key → slot, exactly as Codis: IEEE CRC-32 of the key, or of the bytes between the first `{`
 * and the first `}` after it (an empty tag hashes the empty string), mod 1024.
 * Works on the key's bytes in place: no string is ever made of a key.
 */
export const MAX_SLOT_NUM = 1024;

/**
 * Slicing-by-4, in one table: T[0, 256) is the byte-wise CRC table, and each further 256
 * carry a byte's effect one, two and three bytes on, so four bytes take one step.
 */
const T = new Int32Array(1024);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  T[n] = c;
}
for (let n = 256; n < 1024; n++) T[n] = (T[n - 256]! >>> 8) ^ T[T[n - 256]! & 0xff]!;

/** CRC-32 (IEEE) of buf[start, end), as an unsigned 32-bit integer. */
export function crc32(buf: Uint8Array, start = 0, end = buf.length): number {
  return crcBits(buf, start, end) >>> 0;
}

/**
 * The CRC's 32 bits as a signed integer. The slot is taken from its low bits with a mask: the
 * unsigned value does not fit a small integer, and `%` on it compiles to a floating-point
 * remainder (x87 fprem), which showed as a tenth of the cost of grouping an MSET's keys.
 */
function crcBits(buf: Uint8Array, start: number, end: number): number {
  let crc = -1;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    crc ^= buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
    crc = step4(crc);
  }
  for (; i < end; i++) crc = T[(crc ^ buf[i]!) & 0xff]! ^ (crc >>> 8);
  return crc ^ -1;
}

function step4(crc: number): number {
  return (
    T[768 | (crc & 0xff)]! ^ T[512 | ((crc >>> 8) & 0xff)]! ^ T[256 | ((crc >>> 16) & 0xff)]! ^ T[crc >>> 24]!
  );
}

/** MAX_SLOT_NUM is a power of two: the slot is the CRC's low bits, as `crc % 1024` would give. */
const SLOT_MASK = MAX_SLOT_NUM - 1;

/** `{` in each byte of a word. */
const OPEN4 = 0x7b7b7b7b;

/**
 * The slot of a key given as a byte range of a larger buffer (the request's receive chunk).
 * One pass: the CRC of the whole key is taken while each four bytes are checked for a `{`
 * (a word with a zero byte, once xor-ed with OPEN4); only a key that has one starts over.
 */
export function slotOfRange(buf: Uint8Array, start: number, end: number): number {
  let crc = -1;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const w = buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
    const x = w ^ OPEN4;
    if (((x - 0x01010101) & ~x & 0x80808080) !== 0) return taggedSlot(buf, start, i, end);
    crc = step4(crc ^ w);
  }
  for (; i < end; i++) {
    const b = buf[i]!;
    if (b === 0x7b) return taggedSlot(buf, start, i, end);
    crc = T[(crc ^ b) & 0xff]! ^ (crc >>> 8);
  }
  return (crc ^ -1) & SLOT_MASK;
}

/** The slot of a key whose first `{` is at or just after `from`: its tag's, if a `}` closes it. */
function taggedSlot(buf: Uint8Array, start: number, from: number, end: number): number {
  let open = from;
  while (buf[open] !== 0x7b) open++;
  for (let j = open + 1; j < end; j++) {
    if (buf[j] === 0x7d /* } */) return crcBits(buf, open + 1, j) & SLOT_MASK;
  }
  return crcBits(buf, start, end) & SLOT_MASK;
}

export function slotOf(key: Uint8Array | string): number {
  const b = typeof key === 'string' ? Buffer.from(key) : key;
  return slotOfRange(b, 0, b.length);
}
