/**
 * The proxy-facing routing entry (Codis models.Slot), the body of `PUT /api/proxy/fillslots` and of
 * `--fillslots=FILE`. Unlike Codis, a malformed body is rejected instead of read as empty.
 */
import { addrProblem } from '../utils/addr.js';

export const MaxSlotNum = 1024;

/** Keys over these sizes are moved in chunks by the dashboard, never whole by a request. */
export interface BigKeyLimits {
  elements: number;
  bytes: number;
}

/** 0 = sync, 1 = semi-async. */
export type ForwardMethodId = 0 | 1;
export const ForwardSync: ForwardMethodId = 0;
export const ForwardSemiAsync: ForwardMethodId = 1;

export interface SlotJson {
  id: number;
  locked?: boolean;
  /** `""` or absent: the slot is offline. */
  backend_addr?: string;
  backend_addr_group_id?: number;
  migrate_from?: string;
  migrate_from_group_id?: number;
  /**
   * While migrating: keys over this many elements or bytes are left to the dashboard's chunked
   * mover (its migration_bigkey_elements / migration_bigkey_bytes); a request never moves them.
   */
  migrate_bigkey_elements?: number;
  migrate_bigkey_bytes?: number;
  forward_method?: ForwardMethodId;
  /** Replica addresses in priority order, one array per priority level. */
  replica_groups?: string[][];
}

/** Parses `sync` / `semi-async` (case-insensitive), as in dashboard.toml's migration_method. */
export function parseForwardMethod(name: string): ForwardMethodId {
  switch (name.toLowerCase()) {
    case 'sync':
      return ForwardSync;
    case 'semi-async':
      return ForwardSemiAsync;
    default:
      throw new Error(`invalid forward method = ${JSON.stringify(name)}`);
  }
}

export function forwardMethodName(id: ForwardMethodId): 'sync' | 'semi-async' {
  return id === ForwardSemiAsync ? 'semi-async' : 'sync';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An address field: `""` and null mean none (Go's zero value); anything else must be host:port. */
function addr(v: unknown, where: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new Error(`${where} must be a "host:port" string`);
  const problem = addrProblem(v);
  if (problem) throw new Error(`${where} = ${JSON.stringify(v)} is not a valid host:port (${problem})`);
  return v;
}

function groupId(v: unknown, where: string): number | undefined {
  if (v === undefined || v === null || v === 0) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new Error(`${where} must be a non-negative integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Validates one entry and returns it with only known fields and Go's omitempty applied. */
export function parseSlotJson(v: unknown, where = 'slot'): SlotJson {
  if (!isObject(v)) throw new Error(`${where} must be an object`);
  const { id } = v;
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= MaxSlotNum) {
    throw new Error(
      `${where}.id must be an integer in 0..${MaxSlotNum - 1}, got ${JSON.stringify(id) ?? 'nothing'}`,
    );
  }
  const at = `${where} (id ${id})`;
  const slot: SlotJson = { id };
  if (v.locked !== undefined && v.locked !== null) {
    if (typeof v.locked !== 'boolean') throw new Error(`${at}.locked must be a boolean`);
    if (v.locked) slot.locked = true;
  }
  const backend = addr(v.backend_addr, `${at}.backend_addr`);
  if (backend !== undefined) slot.backend_addr = backend;
  const backendGroup = groupId(v.backend_addr_group_id, `${at}.backend_addr_group_id`);
  if (backendGroup !== undefined) slot.backend_addr_group_id = backendGroup;
  const from = addr(v.migrate_from, `${at}.migrate_from`);
  if (from !== undefined) slot.migrate_from = from;
  const fromGroup = groupId(v.migrate_from_group_id, `${at}.migrate_from_group_id`);
  if (fromGroup !== undefined) slot.migrate_from_group_id = fromGroup;
  for (const k of ['migrate_bigkey_elements', 'migrate_bigkey_bytes'] as const) {
    const n = v[k];
    if (n === undefined || n === null) continue;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) {
      throw new Error(`${at}.${k} must be a positive integer, got ${JSON.stringify(n)}`);
    }
    slot[k] = n;
  }
  const fm = v.forward_method;
  if (fm !== undefined && fm !== null) {
    if (fm !== 0 && fm !== 1)
      throw new Error(`${at}.forward_method must be 0 (sync) or 1 (semi-async), got ${JSON.stringify(fm)}`);
    if (fm === 1) slot.forward_method = fm;
  }
  const rg = v.replica_groups;
  if (rg !== undefined && rg !== null) {
    if (!Array.isArray(rg)) throw new Error(`${at}.replica_groups must be an array of arrays of "host:port"`);
    const groups = rg.map((g: unknown, i) => {
      if (g === null) return [];
      if (!Array.isArray(g)) throw new Error(`${at}.replica_groups[${i}] must be an array of "host:port"`);
      return g.map((a: unknown, j) => {
        const s = addr(a, `${at}.replica_groups[${i}][${j}]`);
        if (s === undefined) throw new Error(`${at}.replica_groups[${i}][${j}] must not be empty`);
        return s;
      });
    });
    if (groups.length > 0) slot.replica_groups = groups;
  }
  return slot;
}

/**
 * Validates a fillslots body: a JSON array (or its text / Buffer) of Slot objects. Throws an Error
 * naming the index and field of the first problem.
 */
export function parseSlotsJson(body: unknown): SlotJson[] {
  let value = body;
  if (Buffer.isBuffer(value)) value = value.toString('utf8');
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value) as unknown;
    } catch (e) {
      throw new Error(`slots: invalid JSON: ${(e as Error).message}`, { cause: e });
    }
  }
  if (!Array.isArray(value)) throw new Error('slots: expected a JSON array of slots');
  return value.map((s: unknown, i) => parseSlotJson(s, `slots[${i}]`));
}
