/**
 * A consistent snapshot of the product (Codis pkg/topom/context.go), built for each operation from
 * the dashboard's cache. Operations may change its objects in place; the cache only changes when
 * a change has been written to the store.
 *
 * It also translates the stored SlotMapping into the proxy-facing Slot (§4.3) and computes replica
 * groups for a proxy (§1.9).
 */
import { isIP } from 'node:net';
import { isValidGroupId, MaxGroupId, type Group } from '../models/Group.js';
import type { ProxyModel, SentinelModel } from '../models/Proxy.js';
import type { BigKeyLimits, ForwardMethodId, SlotJson } from '../models/Slot.js';
import {
  ActionFinished,
  ActionMigrating,
  ActionNothing,
  ActionPending,
  ActionPrepared,
  ActionPreparing,
  MaxSlotNum,
  type SlotMapping,
} from '../models/SlotMapping.js';
import { badRequest, conflict, notFound } from '../utils/http.js';

export interface ContextData {
  slots: SlotMapping[];
  group: Map<number, Group>;
  proxy: Map<string, ProxyModel>;
  sentinel: SentinelModel;
  method: ForwardMethodId;
  /** Big-key thresholds of the migration, told to proxies with every migrating slot. */
  bigKey?: BigKeyLimits;
  /** host → IP for host names (IP literals need no entry). */
  hosts?: Map<string, string>;
}

/** Throws 400 unless `sid` is a slot id (0..1023). */
export function checkSlotId(sid: number): void {
  if (!Number.isInteger(sid) || sid < 0 || sid >= MaxSlotNum)
    throw badRequest(`invalid slot id = ${sid}, out of range 0..${MaxSlotNum - 1}`);
}

/** Throws 400 unless `gid` is a group id (1..9999). */
export function checkGroupId(gid: number): void {
  if (!isValidGroupId(gid)) throw badRequest(`invalid group id = ${gid}, out of range 1..${MaxGroupId}`);
}

/** The host part of `host:port` without brackets. */
export function hostOf(addr: string): string {
  const i = addr.lastIndexOf(':');
  return (i < 0 ? addr : addr.slice(0, i)).replace(/^\[|\]$/g, '');
}

export class Context {
  readonly slots: SlotMapping[];
  readonly group: Map<number, Group>;
  readonly proxy: Map<string, ProxyModel>;
  sentinel: SentinelModel;
  readonly method: ForwardMethodId;
  readonly bigKey: BigKeyLimits | undefined;
  private readonly hosts: Map<string, string>;

  constructor(d: ContextData) {
    this.slots = d.slots;
    this.group = d.group;
    this.proxy = d.proxy;
    this.sentinel = d.sentinel;
    this.method = d.method;
    this.bigKey = d.bigKey;
    this.hosts = d.hosts ?? new Map();
  }

  getSlotMapping(sid: number): SlotMapping {
    checkSlotId(sid);
    const m = this.slots[sid];
    if (!m) throw notFound(`slot-[${sid}] doesn't exist`);
    return m;
  }

  /** Slots owned by gid, or moving to it. */
  getSlotMappingsByGroupId(gid: number): SlotMapping[] {
    return this.slots.filter((m) => m.group_id === gid || m.action.target_id === gid);
  }

  maxSlotActionIndex(): number {
    let max = 0;
    for (const m of this.slots) if (m.action.state) max = Math.max(max, m.action.index ?? 0);
    return max;
  }

  /** Whether any slot uses the group, as owner or as migration target. */
  isGroupInUse(gid: number): boolean {
    return this.slots.some((m) => m.group_id === gid || (m.action.state && m.action.target_id === gid));
  }

  getGroup(gid: number): Group {
    checkGroupId(gid);
    const g = this.group.get(gid);
    if (!g) throw notFound(`group-[${gid}] doesn't exist`);
    return g;
  }

  /** Sorted by id. */
  groups(): Group[] {
    return [...this.group.values()].sort((a, b) => a.id - b.id);
  }

  getGroupIndex(g: Group, addr: string): number {
    const i = g.servers.findIndex((s) => s.server === addr);
    if (i < 0) throw notFound(`group-[${g.id}] doesn't have server-[${addr}]`);
    return i;
  }

  /** The group holding the server (ids in order), and its index there. */
  getGroupByServer(addr: string): [Group, number] {
    for (const g of this.groups()) {
      const i = g.servers.findIndex((s) => s.server === addr);
      if (i >= 0) return [g, i];
    }
    throw notFound(`server-[${addr}] doesn't exist`);
  }

  hasServer(addr: string): boolean {
    for (const g of this.group.values()) if (g.servers.some((s) => s.server === addr)) return true;
    return false;
  }

  maxSyncActionIndex(): number {
    let max = 0;
    for (const g of this.group.values())
      for (const s of g.servers)
        if (s.action.state === ActionPending) max = Math.max(max, s.action.index ?? 0);
    return max;
  }

  /** servers[0] of the group, or '' when the group does not exist or is empty. */
  getGroupMaster(gid: number): string {
    return this.group.get(gid)?.servers[0]?.server ?? '';
  }

  /** gid → master address of every non-empty group. */
  getGroupMasters(): Map<number, string> {
    const out = new Map<number, string>();
    for (const g of this.groups()) if (g.servers.length > 0) out.set(g.id, g.servers[0]!.server);
    return out;
  }

  isGroupPromoting(gid: number): boolean {
    return !!this.group.get(gid)?.promoting.state;
  }

  /** A group locks its slots only while its promotion is `prepared`. */
  isGroupLocked(gid: number): boolean {
    const state = this.group.get(gid)?.promoting.state ?? ActionNothing;
    return state === ActionPrepared;
  }

  isSlotLocked(m: SlotMapping): boolean {
    switch (m.action.state ?? ActionNothing) {
      case ActionNothing:
      case ActionPending:
      case ActionPreparing:
        return this.isGroupLocked(m.group_id);
      case ActionPrepared:
        return true;
      case ActionMigrating:
        return this.isGroupLocked(m.group_id) || this.isGroupLocked(m.action.target_id ?? 0);
      case ActionFinished:
        return this.isGroupLocked(m.action.target_id ?? 0);
      default:
        throw conflict(`slot-[${m.id}] action state is invalid: ${String(m.action.state)}`);
    }
  }

  /** The proxy-facing Slot for a SlotMapping (§4.3); `p` orders replica groups for that proxy. */
  toSlot(m: SlotMapping, p?: ProxyModel): SlotJson {
    const slot: SlotJson = { id: m.id };
    if (this.isSlotLocked(m)) slot.locked = true;
    const target = m.action.target_id ?? 0;
    const set = (backendGid: number, fromGid?: number) => {
      const backend = this.getGroupMaster(backendGid);
      if (backend) slot.backend_addr = backend;
      if (backendGid) slot.backend_addr_group_id = backendGid;
      if (fromGid !== undefined) {
        const from = this.getGroupMaster(fromGid);
        if (from) slot.migrate_from = from;
        if (fromGid) slot.migrate_from_group_id = fromGid;
        if (this.bigKey !== undefined) {
          slot.migrate_bigkey_elements = this.bigKey.elements;
          slot.migrate_bigkey_bytes = this.bigKey.bytes;
        }
      }
    };
    switch (m.action.state ?? ActionNothing) {
      case ActionNothing:
      case ActionPending: {
        set(m.group_id);
        const rg = this.toReplicaGroups(m.group_id, p);
        if (rg.length > 0) slot.replica_groups = rg;
        break;
      }
      case ActionPreparing:
        set(m.group_id);
        break;
      case ActionPrepared:
      case ActionMigrating:
        set(target, m.group_id);
        break;
      case ActionFinished:
        set(target);
        break;
    }
    if (this.method) slot.forward_method = this.method;
    return slot;
  }

  toSlotSlice(slots: readonly SlotMapping[], p?: ProxyModel): SlotJson[] {
    return slots.map((m) => this.toSlot(m, p));
  }

  private ipOf(addr: string): string | undefined {
    const host = hostOf(addr);
    if (host === '') return undefined;
    if (isIP(host)) return host;
    if (host === 'localhost') return '127.0.0.1';
    return this.hosts.get(host);
  }

  /**
   * Replica addresses in priority order for proxy p: 0 = same datacenter and same IP as the
   * proxy's admin host, 1 = same datacenter, 2 = the rest (or the proxy's IP is unknown).
   * Only servers with replica_group set; none for a promoting group or one with ≤1 server.
   */
  toReplicaGroups(gid: number, p?: ProxyModel): string[][] {
    const g = this.group.get(gid);
    if (!g || g.promoting.state || g.servers.length <= 1) return [];
    const dc = p?.datacenter ?? '';
    const ip = p ? this.ipOf(p.admin_addr) : undefined;
    const buckets: string[][] = [[], [], []];
    for (const s of g.servers) {
      if (!s.replica_group) continue;
      let prio = 2;
      if (ip !== undefined && dc === s.datacenter) prio = this.ipOf(s.server) === ip ? 0 : 1;
      buckets[prio]!.push(s.server);
    }
    return buckets.filter((b) => b.length > 0);
  }

  getProxy(token: string): ProxyModel {
    const p = this.proxy.get(token);
    if (!p) throw notFound(`proxy-[${token}] doesn't exist`);
    return p;
  }

  /** Sorted by id. */
  proxies(): ProxyModel[] {
    return [...this.proxy.values()].sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
  }

  maxProxyId(): number {
    let max = 0;
    for (const p of this.proxy.values()) max = Math.max(max, p.id ?? 0);
    return max;
  }
}
