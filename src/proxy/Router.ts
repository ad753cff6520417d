/**
 * The routing table: 1024 slots over two pools of backend connections (primaries and
 * replicas). Requests come in with a slot id; the router holds them while the slot is held,
 * and otherwise hands them to the slot's forward method.
 */
import type { SlotJson } from '../models/Slot.js';
import { CmdFlag } from './commands/CommandInfo.js';
import { MAX_SLOT_NUM } from './hash.js';
import type { Request } from './Request.js';
import { SharedBackendConnPool, type SharedBackendConn } from './SharedBackendConn.js';
import { ForwardMethod, NO_REPLICAS, Slot } from './Slot.js';
import { BackendConn, type BackendOptions } from './BackendConn.js';
import { movedCause } from './Blocking.js';
import type { Proto } from '../resp/encode.js';
import { DEFAULT_BIG_KEY, forwardMigrating, holdKey } from './forward.js';

export interface RouterOptions {
  backend: BackendOptions;
  primaryParallel: number;
  replicaParallel: number;
  numDatabases: number;
  primaryOnly: boolean;
}

const MASTER_ONLY = CmdFlag.Write | CmdFlag.MayWrite | CmdFlag.MasterOnly;

export class Router {
  readonly slots: Slot[] = [];
  readonly primary: SharedBackendConnPool;
  readonly replica: SharedBackendConnPool;
  online = false;
  closed = false;
  /** `product_auth`, for MIGRATE between backends. */
  readonly auth: string;

  constructor(private readonly opts: RouterOptions) {
    for (let i = 0; i < MAX_SLOT_NUM; i++) this.slots.push(new Slot(i));
    this.auth = opts.backend.auth;
    this.primary = new SharedBackendConnPool(opts.backend, opts.primaryParallel, opts.numDatabases);
    this.replica = new SharedBackendConnPool(opts.backend, opts.replicaParallel, opts.numDatabases);
  }

  /** Routes a request for a slot: held while the slot is, otherwise forwarded. */
  dispatch(req: Request, slotId: number): void {
    const slot = this.slots[slotId]!;
    if (slot.blocked) {
      slot.held.push(req);
      return;
    }
    this.forward(slot, req);
  }

  /** Sends a request to the slot's backend (the slot must not be held). */
  forward(slot: Slot, req: Request): void {
    if (slot.backend === null) {
      req.fail('ERR handle request, slot is not ready, may be offline');
      return;
    }
    if (req.own !== null && req.own.route(this, slot, req)) return;
    if (slot.migrate !== null) {
      forwardMigrating(this, slot, req);
      return;
    }
    const bc = this.pick(slot, req);
    slot.track(req);
    bc.push(req);
  }

  /** The connection a request for a plain slot goes to: a replica for reads when allowed. */
  pick(slot: Slot, req: Request): BackendConn {
    const groups = slot.replicaGroups;
    if (
      groups.length > 0 &&
      (req.info.flags & MASTER_ONLY) === 0 &&
      !req.primaryOnly &&
      slot.migrate === null
    ) {
      for (const group of groups) {
        for (let i = 0; i < group.length; i++) {
          const bc = group[(req.seed + i) % group.length]!.get(req.db, req.seed, false, req.proto);
          if (bc !== null) return bc;
        }
      }
    }
    return slot.backend!.get(req.db, req.seed, true, req.proto)!;
  }

  /**
   * Installs slot mappings in order. Each waits for its slot's in-flight requests to finish
   * before switching, while new requests for that slot are held; a locked mapping keeps the
   * slot held until a later fill unlocks it.
   */
  async fillSlots(list: readonly SlotJson[]): Promise<void> {
    if (this.closed) throw new Error('use of closed router');
    const waits: Promise<void>[] = [];
    for (const m of list) waits.push(this.fillSlot(m));
    await Promise.all(waits);
  }

  private async fillSlot(m: SlotJson, switched = false): Promise<void> {
    const slot = this.slots[m.id]!;
    if ((m.backend_addr ?? '') !== (slot.backend?.addr ?? '') || m.migrate_from) this.cancelBlocked(slot);
    slot.switching = true;
    await slot.drained();
    this.release(slot);
    if (m.backend_addr) {
      slot.backend = this.primary.retain(m.backend_addr);
      slot.backendGroupId = m.backend_addr_group_id ?? 0;
    }
    if (m.migrate_from) {
      slot.migrate = this.primary.retain(m.migrate_from);
      slot.migrateGroupId = m.migrate_from_group_id ?? 0;
      if (m.migrate_bigkey_elements !== undefined || m.migrate_bigkey_bytes !== undefined) {
        slot.bigKey = {
          elements: m.migrate_bigkey_elements ?? DEFAULT_BIG_KEY.elements,
          bytes: m.migrate_bigkey_bytes ?? DEFAULT_BIG_KEY.bytes,
        };
      }
    }
    if (!this.opts.primaryOnly && m.replica_groups) {
      const groups: SharedBackendConn[][] = [];
      for (const group of m.replica_groups) {
        const conns = group.filter((a) => a !== '').map((a) => this.replica.retain(a));
        if (conns.length > 0) groups.push(conns);
      }
      if (groups.length > 0) slot.replicaGroups = groups;
    }
    if (slot.migrate === null && slot.keyHolds !== null) {
      // Holds only make sense while migrating; whatever waited goes on with the new mapping.
      const waiting = [...slot.keyHolds.values()].flat();
      slot.keyHolds = null;
      for (const req of waiting) slot.held.push(req);
    }
    slot.method = m.forward_method === 1 ? ForwardMethod.SemiAsync : ForwardMethod.Sync;
    slot.locked = m.locked === true;
    slot.switched = switched;
    slot.switching = false;
    this.releaseHeld(slot);
  }

  /**
   * Holds a key of a migrating slot while the dashboard moves it in chunks (a big key):
   * requests naming it wait; resolves when requests sent before the hold have finished.
   */
  async holdKey(slotId: number, db: number, key: Buffer): Promise<void> {
    const slot = this.slots[slotId]!;
    const hk = holdKey(db, key);
    slot.keyHolds ??= new Map();
    if (!slot.keyHolds.has(hk)) slot.keyHolds.set(hk, []);
    await slot.settled();
  }

  /** Ends a key hold; the requests that waited go on, in their order. */
  releaseKey(slotId: number, db: number, key: Buffer): void {
    const slot = this.slots[slotId]!;
    const hk = holdKey(db, key);
    const waiting = slot.keyHolds?.get(hk);
    if (waiting === undefined) return;
    slot.keyHolds!.delete(hk);
    if (slot.keyHolds!.size === 0) slot.keyHolds = null;
    for (const req of waiting) this.dispatch(req, slotId);
  }

  /** Re-points slots whose group master changed (sentinel failover seen by this proxy). */
  async switchMasters(masters: ReadonlyMap<number, string>): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const slot of this.slots) {
      const m = this.toJson(slot);
      let changed = false;
      const b = masters.get(slot.backendGroupId);
      if (slot.backend && b && b !== slot.backend.addr) {
        m.backend_addr = b;
        changed = true;
      }
      const f = masters.get(slot.migrateGroupId);
      if (slot.migrate && f && f !== slot.migrate.addr) {
        m.migrate_from = f;
        changed = true;
      }
      if (changed) waits.push(this.fillSlot(m, true));
    }
    await Promise.all(waits);
  }

  get backendOptions(): BackendOptions {
    return this.opts.backend;
  }

  /**
   * A client's own backend connection (OwnConn.ts). `waits`: for blocking commands and WAIT,
   * which wait by design, so it has no receive timeout, and CLIENT UNBLOCK needs its id; it may
   * be one another client left (SharedBackendConn.takeWaiting).
   */
  privateConn(sbc: SharedBackendConn, db: number, proto: Proto, waits: boolean): BackendConn {
    return waits
      ? sbc.takeWaiting(db, proto)
      : new BackendConn(sbc.host, sbc.port, db, this.opts.backend, proto);
  }

  /** The slot moves: commands blocked on its old group are cancelled, so their clients retry. */
  private cancelBlocked(slot: Slot): void {
    for (const bc of slot.blockers) if (bc.pending > 0) bc.close(movedCause(slot));
    slot.blockers.clear();
  }

  private releaseHeld(slot: Slot): void {
    while (!slot.blocked && slot.held.length > 0) this.forward(slot, slot.held.shift()!);
  }

  private release(slot: Slot): void {
    const drop = (pool: SharedBackendConnPool, sbc: SharedBackendConn | null) => {
      if (sbc !== null) pool.release(sbc);
    };
    drop(this.primary, slot.backend);
    drop(this.primary, slot.migrate);
    for (const g of slot.replicaGroups) for (const sbc of g) this.replica.release(sbc);
    slot.backend = null;
    slot.migrate = null;
    slot.backendGroupId = 0;
    slot.migrateGroupId = 0;
    slot.bigKey = null;
    slot.replicaGroups = NO_REPLICAS;
  }

  toJson(slot: Slot): SlotJson {
    const m: SlotJson = { id: slot.id };
    if (slot.locked) m.locked = true;
    if (slot.backend) {
      m.backend_addr = slot.backend.addr;
      m.backend_addr_group_id = slot.backendGroupId;
    }
    if (slot.migrate) {
      m.migrate_from = slot.migrate.addr;
      m.migrate_from_group_id = slot.migrateGroupId;
      if (slot.bigKey !== null) {
        m.migrate_bigkey_elements = slot.bigKey.elements;
        m.migrate_bigkey_bytes = slot.bigKey.bytes;
      }
    }
    if (slot.method !== ForwardMethod.Sync) m.forward_method = slot.method;
    if (slot.replicaGroups.length > 0) m.replica_groups = slot.replicaGroups.map((g) => g.map((s) => s.addr));
    return m;
  }

  allJson(): SlotJson[] {
    return this.slots.map((s) => this.toJson(s));
  }

  get switched(): boolean {
    return this.slots.some((s) => s.switched);
  }

  keepAlive(): void {
    this.primary.keepAlive();
    this.replica.keepAlive();
  }

  /** Empties every slot; held requests fail. */
  close(): void {
    this.closed = true;
    this.online = false;
    for (const slot of this.slots) {
      this.release(slot);
      slot.locked = false;
      slot.switching = false;
      this.releaseHeld(slot);
    }
    this.primary.close();
    this.replica.close();
  }
}
