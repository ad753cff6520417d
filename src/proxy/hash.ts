/**
 * Key → slot, exactly as Codis: IEEE CRC-32 of the key, or of the bytes between the first `{`
 * and the first `}` after it (an empty tag hashes the empty string), mod 1024.
 * Works on the key's bytes in place: no string is ever made of a key.
 */
export const MAX_SLOT_NUM = 1024;

const TABLE = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  TABLE[n] = c;
}

/** CRC-32 (IEEE) of buf[start, end), as an unsigned 32-bit integer. */
export function crc32(buf: Uint8Array, start = 0, end = buf.length): number {
  let crc = -1;
  for (let i = start; i < end; i++) crc = TABLE[(crc ^ buf[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

/** The slot of a key given as a byte range of a larger buffer (the request's receive chunk). */
export function slotOfRange(buf: Uint8Array, start: number, end: number): number {
  let open = -1;
  for (let i = start; i < end; i++) {
    if (buf[i] === 0x7b /* { */) {
      open = i;
      break;
    }
  }
  if (open >= 0) {
    for (let j = open + 1; j < end; j++) {
      if (buf[j] === 0x7d /* } */) return crc32(buf, open + 1, j) % MAX_SLOT_NUM;
    }
  }
  return crc32(buf, start, end) % MAX_SLOT_NUM;
}

export function slotOf(key: Uint8Array | string): number {
  const b = typeof key === 'string' ? Buffer.from(key) : key;
  return slotOfRange(b, 0, b.length);
}
