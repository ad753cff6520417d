/**
 * The live migration settings: batch size, pause between batches and rate limits. They start
 * from dashboard.toml and can be changed at run time (`PUT /api/topom/slots/action/rate`,
 * `…/slots/action/interval`); like Codis's interval and disabled flag they are not stored.
 */
import { badRequest } from '../../utils/http.js';
import { parseSize } from '../../utils/units.js';
import type { DashboardConfig } from '../Config.js';

export const MAX_PAUSE_MS = 1000;
export const MAX_BATCH_KEYS = 100_000;

export interface MigrationSettings {
  keysPerSec: number;
  bytesPerSec: number;
  batchKeys: number;
}

export function settingsFromConfig(c: DashboardConfig): MigrationSettings {
  return {
    keysPerSec: c.migration_max_keys_per_sec,
    bytesPerSec: c.migration_max_bytes_per_sec,
    batchKeys: c.migration_async_numkeys,
  };
}

/** The body of `slots/action/rate`: every field optional, nothing else allowed. */
export interface RateChange {
  keys_per_sec?: number;
  bytes_per_sec?: number;
  batch_keys?: number;
  pause_ms?: number;
}

const FIELDS = ['keys_per_sec', 'bytes_per_sec', 'batch_keys', 'pause_ms'] as const;

function integer(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max)
    throw badRequest(`invalid ${name} = ${JSON.stringify(v)}: expected an integer in [${min},${max}]`);
  return v;
}

/** Validates a rate body (400 on anything unexpected); `bytes_per_sec` may be a size ("10mb"). */
export function parseRateChange(body: unknown): RateChange {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw badRequest(`expected a JSON object with any of ${FIELDS.join(', ')}`);
  const b = body as Record<string, unknown>;
  const unknown = Object.keys(b).filter((k) => !(FIELDS as readonly string[]).includes(k));
  if (unknown.length > 0)
    throw badRequest(`unknown field(s) ${unknown.join(', ')}; expected ${FIELDS.join(', ')}`);
  if (Object.keys(b).length === 0) throw badRequest(`nothing to change: give any of ${FIELDS.join(', ')}`);
  const out: RateChange = {};
  const max = Number.MAX_SAFE_INTEGER;
  if (b.keys_per_sec !== undefined) out.keys_per_sec = integer('keys_per_sec', b.keys_per_sec, 0, max);
  if (b.bytes_per_sec !== undefined) {
    let v = b.bytes_per_sec;
    if (typeof v === 'string') {
      try {
        v = parseSize(v);
      } catch {
        throw badRequest(`invalid bytes_per_sec = ${JSON.stringify(v)}: not a size`);
      }
    }
    out.bytes_per_sec = integer('bytes_per_sec', v, 0, max);
  }
  if (b.batch_keys !== undefined) out.batch_keys = integer('batch_keys', b.batch_keys, 1, MAX_BATCH_KEYS);
  if (b.pause_ms !== undefined) out.pause_ms = integer('pause_ms', b.pause_ms, 0, MAX_PAUSE_MS);
  return out;
}
