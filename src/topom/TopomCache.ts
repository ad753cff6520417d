/**
 * The dashboard's in-memory copy of the product over the Store (Codis topom_cache.go).
 *
 * Every change is written through: the store first, then the cache. A failed write marks the entry
 * dirty, so that it is re-read from the store before the next operation; `dirtyAll()` (the reload
 * API) re-reads everything. The dashboard is the only writer of its product and never watches the
 * store. Cached objects are never handed out: contexts get deep copies.
 */
import type { Group } from '../models/Group.js';
import type { ProxyModel, SentinelModel } from '../models/Proxy.js';
import { MaxSlotNum, type SlotMapping } from '../models/SlotMapping.js';
import type { Store } from '../models/Store.js';
import { HttpError } from '../utils/http.js';

/** Parallel store writes for bulk slot updates. */
const WRITE_PARALLEL = 64;

function storeError(what: string, e: unknown): HttpError {
  return new HttpError(503, `store: ${what} failed: ${(e as Error).message}`);
}

export interface CacheSnapshot {
  slots: SlotMapping[];
  group: Map<number, Group>;
  proxy: Map<string, ProxyModel>;
  sentinel: SentinelModel;
}

export class TopomCache {
  private slots: SlotMapping[] = [];
  private group = new Map<number, Group>();
  private proxy = new Map<string, ProxyModel>();
  private sentinel: SentinelModel = { out_of_sync: false };
  private dirtySlots = new Set<number>(Array.from({ length: MaxSlotNum }, (_, i) => i));
  private dirtyGroups = true;
  private dirtyProxies = true;
  private dirtySentinel = true;

  constructor(private readonly store: Store) {}

  dirtyAll(): void {
    for (let i = 0; i < MaxSlotNum; i++) this.dirtySlots.add(i);
    this.dirtyGroups = this.dirtyProxies = this.dirtySentinel = true;
  }

  get isDirty(): boolean {
    return this.dirtySlots.size > 0 || this.dirtyGroups || this.dirtyProxies || this.dirtySentinel;
  }

  /** Re-reads whatever is dirty. */
  async refill(): Promise<void> {
    try {
      if (this.dirtySlots.size > 64) {
        this.slots = await this.store.slotMappings();
        this.dirtySlots.clear();
      } else {
        for (const sid of [...this.dirtySlots]) {
          this.slots[sid] = await this.store.loadSlotMapping(sid);
          this.dirtySlots.delete(sid);
        }
      }
      if (this.dirtyGroups) {
        this.group = await this.store.listGroup();
        this.dirtyGroups = false;
      }
      if (this.dirtyProxies) {
        this.proxy = await this.store.listProxy();
        this.dirtyProxies = false;
      }
      if (this.dirtySentinel) {
        this.sentinel = await this.store.loadSentinel();
        this.dirtySentinel = false;
      }
    } catch (e) {
      if (e instanceof HttpError) throw e;
      throw storeError('load', e);
    }
  }

  /** A deep copy of everything (call refill() first). */
  snapshot(): CacheSnapshot {
    return structuredClone({
      slots: this.slots,
      group: this.group,
      proxy: this.proxy,
      sentinel: this.sentinel,
    });
  }

  /** Read-only views for the stats loop (may lag while dirty; never changed in place). */
  groupList(): readonly Group[] {
    return [...this.group.values()].sort((a, b) => a.id - b.id);
  }

  proxyList(): readonly ProxyModel[] {
    return [...this.proxy.values()].sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
  }

  slotList(): readonly SlotMapping[] {
    return this.slots;
  }

  sentinelModel(): SentinelModel {
    return this.sentinel;
  }

  async updateSlots(ms: readonly SlotMapping[]): Promise<void> {
    for (let i = 0; i < ms.length; i += WRITE_PARALLEL) {
      await Promise.all(ms.slice(i, i + WRITE_PARALLEL).map((m) => this.updateSlot(m)));
    }
  }

  async updateSlot(m: SlotMapping): Promise<void> {
    try {
      await this.store.updateSlotMapping(m);
    } catch (e) {
      this.dirtySlots.add(m.id);
      throw storeError(`update slot-[${m.id}]`, e);
    }
    this.slots[m.id] = structuredClone(m);
  }

  async updateGroup(g: Group): Promise<void> {
    try {
      await this.store.updateGroup(g);
    } catch (e) {
      this.dirtyGroups = true;
      throw storeError(`update group-[${g.id}]`, e);
    }
    this.group.set(g.id, structuredClone(g));
  }

  async deleteGroup(gid: number): Promise<void> {
    try {
      await this.store.deleteGroup(gid);
    } catch (e) {
      this.dirtyGroups = true;
      throw storeError(`remove group-[${gid}]`, e);
    }
    this.group.delete(gid);
  }

  async updateProxy(p: ProxyModel): Promise<void> {
    try {
      await this.store.updateProxy(p);
    } catch (e) {
      this.dirtyProxies = true;
      throw storeError(`update proxy-[${p.token}]`, e);
    }
    this.proxy.set(p.token, structuredClone(p));
  }

  async deleteProxy(token: string): Promise<void> {
    try {
      await this.store.deleteProxy(token);
    } catch (e) {
      this.dirtyProxies = true;
      throw storeError(`remove proxy-[${token}]`, e);
    }
    this.proxy.delete(token);
  }

  async updateSentinel(s: SentinelModel): Promise<void> {
    try {
      await this.store.updateSentinel(s);
    } catch (e) {
      this.dirtySentinel = true;
      throw storeError('update sentinel', e);
    }
    this.sentinel = structuredClone(s);
  }
}
