/**
 * The config files of coordinator mode (reference §8.3, §5.8): converting a Codis 1.x/2.x dump
 * (`--config-dump -1`) into ConfigV3, and checking a ConfigV3 before `--config-restore` writes it.
 * Pure functions: errors are AdminErrors naming the first problem.
 */
import { decodeConfigV3, type ConfigV3 } from '../models/ConfigV3.js';
import { isValidGroupId, MaxGroupId, newGroup, newGroupServer, type Group } from '../models/Group.js';
import { MaxSlotNum, newSlotMapping, type SlotMapping } from '../models/SlotMapping.js';
import { AdminError } from './client.js';

const pad4 = (n: number) => String(n).padStart(4, '0');

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function intField(v: Record<string, unknown>, key: string, where: string): number {
  const x = v[key];
  if (typeof x !== 'number' || !Number.isInteger(x))
    throw new AdminError(`${where}: "${key}" must be an integer`);
  return x;
}

function strField(v: Record<string, unknown>, key: string, where: string): string {
  const x = v[key];
  if (typeof x !== 'string') throw new AdminError(`${where}: "${key}" must be a string`);
  return x;
}

/** Children of a v1 tree node in name order (Go iterates a map; we choose a stable order). */
function children(v: unknown, where: string): [string, unknown][] {
  if (!isObject(v)) throw new AdminError(`${where} must be an object`);
  return Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Codis 2 `/zk/codis/db_{product}` tree → ConfigV3 (no proxies):
 * - `slots/slot_N` = `{id, group_id, state: {status}}`: `online` keeps its group, `offline` is
 *   dropped, any other status (a migration in progress) is refused;
 * - `servers/group_N/<addr>` = `{addr, group_id, type}`: group ids 1..9999, the master first.
 */
export function convertConfigV1(v1: unknown): ConfigV3 {
  if (!isObject(v1)) throw new AdminError('convert config failed: the file must hold a JSON object');
  const slots = new Map<number, SlotMapping>();
  if (v1.slots !== undefined && v1.slots !== null) {
    for (const [name, v] of children(v1.slots, 'slots')) {
      const where = `slots/${name}`;
      if (!isObject(v)) throw new AdminError(`${where} must be an object`);
      const sid = intField(v, 'id', where);
      const gid = intField(v, 'group_id', where);
      const state = v.state;
      const status = isObject(state) ? state.status : undefined;
      if (sid < 0 || sid >= MaxSlotNum) throw new AdminError(`${where}: invalid slot id = ${sid}`);
      if (status === 'offline') continue;
      if (status !== 'online')
        throw new AdminError(`slot-${pad4(sid)}: invalid slot status = ${JSON.stringify(status ?? null)}`);
      if (slots.has(sid)) throw new AdminError(`slot-${pad4(sid)} already exists`);
      slots.set(sid, newSlotMapping(sid, gid));
    }
  }
  const groups = new Map<number, Group>();
  if (v1.servers !== undefined && v1.servers !== null) {
    for (const [gname, g] of children(v1.servers, 'servers')) {
      for (const [sname, x] of children(g, `servers/${gname}`)) {
        const where = `servers/${gname}/${sname}`;
        if (!isObject(x)) throw new AdminError(`${where} must be an object`);
        const addr = strField(x, 'addr', where);
        const gid = intField(x, 'group_id', where);
        if (!isValidGroupId(gid)) throw new AdminError(`${where}: invalid group = ${gid}`);
        let group = groups.get(gid);
        if (!group) groups.set(gid, (group = newGroup(gid)));
        const server = newGroupServer(addr);
        if (x.type === 'master') group.servers.unshift(server);
        else group.servers.push(server);
      }
    }
  }
  const config: ConfigV3 = {};
  if (slots.size > 0) config.slots = [...slots.values()].sort((a, b) => a.id - b.id);
  if (groups.size > 0) config.group = [...groups.values()].sort((a, b) => a.id - b.id);
  return config;
}

/**
 * Parses and checks a ConfigV3 file before a restore: unique proxy tokens; group ids in 1..9999,
 * unique, not promoting; server addresses unique; slot ids valid and unique, no actions; every
 * slot's group exists and has servers. Unlike Codis, a slot of group 0 (offline) is accepted, since
 * every dump lists all 1024 slots and a product rarely has every slot assigned.
 */
export function checkConfigV3(data: Buffer | string): ConfigV3 {
  let config: ConfigV3;
  try {
    config = decodeConfigV3(data);
  } catch (e) {
    throw new AdminError(`json unmarshal failed: ${(e as Error).message}`);
  }
  const tokens = new Set<string>();
  for (const p of config.proxy ?? []) {
    if (!p.token) throw new AdminError('proxy without a token');
    if (tokens.has(p.token)) throw new AdminError(`proxy-${p.token} already exists`);
    tokens.add(p.token);
  }
  const groups = new Map<number, Group>();
  const addrs = new Set<string>();
  for (const g of config.group ?? []) {
    if (!isValidGroupId(g.id))
      throw new AdminError(`invalid group id = ${g.id}, out of range 1..${MaxGroupId}`);
    if (groups.has(g.id)) throw new AdminError(`group-${pad4(g.id)} already exists`);
    if (g.promoting.state) throw new AdminError(`group-${pad4(g.id)} is promoting`);
    for (const x of g.servers) {
      if (!x.server) throw new AdminError(`group-${pad4(g.id)} has a server without an address`);
      if (addrs.has(x.server)) throw new AdminError(`server ${x.server} already exists`);
      addrs.add(x.server);
    }
    groups.set(g.id, g);
  }
  const sids = new Set<number>();
  for (const s of config.slots ?? []) {
    if (s.id < 0 || s.id >= MaxSlotNum) throw new AdminError(`invalid slot id = ${s.id}`);
    if (sids.has(s.id)) throw new AdminError(`slot-${pad4(s.id)} already exists`);
    if (s.action.state) throw new AdminError(`slot-${pad4(s.id)} action is not empty`);
    if (s.group_id !== 0 && !groups.get(s.group_id)?.servers.length)
      throw new AdminError(`slot-${pad4(s.id)} with group-${pad4(s.group_id)} doesn't exist or empty`);
    sids.add(s.id);
  }
  return config;
}
