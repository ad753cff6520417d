/**
 * The migration bench's data set: `key:NNNNNNNNNNNN` (redis-benchmark's naming, see benchKey) with
 * fixed-size values, written straight into one redis-server, and an independent key → slot
 * function (zlib's CRC-32, not the proxy's code) to know where every key must end up.
 */
import { crc32 } from 'node:zlib';
import { RespConn } from './resp.js';
import { benchKey } from './servers.js';

/** Codis' slot of a key: CRC-32 (IEEE) of the key, or of the bytes between its first `{` and the next `}`, mod 1024. */
export function slotOf(key: string | Buffer): number {
  const b = typeof key === 'string' ? Buffer.from(key) : key;
  const open = b.indexOf(0x7b);
  if (open >= 0) {
    const close = b.indexOf(0x7d, open + 1);
    if (close >= 0) return crc32(b.subarray(open + 1, close)) % 1024;
  }
  return crc32(b) % 1024;
}

/** How many of keys 0..n-1 fall into slots [0, slots). */
export function keysInSlots(n: number, slots: number): number {
  let c = 0;
  for (let i = 0; i < n; i++) if (slotOf(benchKey(i)) < slots) c++;
  return c;
}

/** Writes keys 0..n-1 with MSETs of 100 keys, 50 MSETs per round trip, on one connection. */
export async function preloadDirect(port: number, n: number, valueBytes: number): Promise<void> {
  const value = Buffer.alloc(valueBytes, 'v');
  const conn = await RespConn.open('127.0.0.1', port);
  try {
    for (let i = 0; i < n;) {
      const cmds: (string | Buffer)[][] = [];
      for (let c = 0; c < 50 && i < n; c++) {
        const mset: (string | Buffer)[] = ['MSET'];
        for (let k = 0; k < 100 && i < n; k++, i++) mset.push(benchKey(i), value);
        cmds.push(mset);
      }
      const replies = await conn.pipeline(cmds, 60_000);
      const bad = replies.find((r) => r !== 'OK');
      if (bad !== undefined)
        throw new Error(`MSET replied ${bad instanceof Error ? bad.message : String(bad)}`);
    }
  } finally {
    conn.close();
  }
}

export interface Placement {
  keys: number;
  /** Keys whose slot is in [0, slots). */
  inRange: number;
}

/** SCANs a whole server and counts its keys by whether their slot is below `slots`. */
export async function scanPlacement(port: number, slots: number): Promise<Placement> {
  const conn = await RespConn.open('127.0.0.1', port);
  const out: Placement = { keys: 0, inRange: 0 };
  try {
    let cursor = '0';
    do {
      const r = await conn.call(['SCAN', cursor, 'COUNT', '1000'], 30_000);
      if (!Array.isArray(r) || r.length !== 2) throw new Error(`SCAN replied ${String(r)}`);
      cursor = String(r[0]);
      for (const k of r[1] as Buffer[]) {
        out.keys++;
        if (slotOf(k) < slots) out.inRange++;
      }
    } while (cursor !== '0');
    return out;
  } finally {
    conn.close();
  }
}

export async function dbsize(conn: RespConn): Promise<number> {
  const r = await conn.call(['DBSIZE'], 10_000);
  if (typeof r !== 'number') throw new Error(`DBSIZE replied ${String(r)}`);
  return r;
}

/** Fraction of `sample` random keys that GET returns with a value of `valueBytes` bytes. */
export async function proxyHitRate(
  port: number,
  n: number,
  valueBytes: number,
  sample = 2000,
): Promise<number> {
  const conn = await RespConn.open('127.0.0.1', port);
  try {
    const cmds = Array.from({ length: sample }, () => ['GET', benchKey(Math.floor(Math.random() * n))]);
    const replies = await conn.pipeline(cmds, 30_000);
    return replies.filter((r) => Buffer.isBuffer(r) && r.length === valueBytes).length / sample;
  } finally {
    conn.close();
  }
}

/** The big hash of `--bigkey-fields`: field `f:NNNNNNNNN` (11 bytes) → a 16-byte value. */
export const BIG_FIELD_BYTES = 11;
export const BIG_VALUE_BYTES = 16;
export const bigField = (j: number): string => `f:${String(j).padStart(9, '0')}`;

/** The first `bench:bighash:I` whose slot is below `slots` (inside the migrated range). */
export function bigKeyName(slots: number): { key: string; slot: number } {
  for (let i = 0; ; i++) {
    const key = `bench:bighash:${i}`;
    const slot = slotOf(key);
    if (slot < slots) return { key, slot };
  }
}

/** Writes one hash of `fields` fields straight into a redis-server: HSET of 1000 fields, 20 per round trip. */
export async function preloadHash(port: number, key: string, fields: number): Promise<void> {
  const value = Buffer.alloc(BIG_VALUE_BYTES, 'h');
  const conn = await RespConn.open('127.0.0.1', port);
  try {
    for (let j = 0; j < fields;) {
      const cmds: (string | Buffer)[][] = [];
      const want: number[] = [];
      for (let c = 0; c < 20 && j < fields; c++) {
        const hset: (string | Buffer)[] = ['HSET', key];
        const from = j;
        for (; j < fields && j - from < 1000; j++) hset.push(bigField(j), value);
        cmds.push(hset);
        want.push(j - from);
      }
      const replies = await conn.pipeline(cmds, 60_000);
      replies.forEach((r, i) => {
        if (r !== want[i])
          throw new Error(
            `HSET of ${want[i]} new fields replied ${r instanceof Error ? r.message : String(r)}`,
          );
      });
    }
    const n = await conn.call(['HLEN', key]);
    if (n !== fields) throw new Error(`${key} holds ${String(n)} fields after writing ${fields}`);
  } finally {
    conn.close();
  }
}
