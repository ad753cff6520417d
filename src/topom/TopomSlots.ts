/**
 * Slots (Codis topom_slots.go): direct assignment (online or offline, no data moved), the slot
 * action queue (create / create-some / create-range / remove; actions wait as `pending` for the
 * executor, see SlotAction.ts), and the rebalance plan.
 */
import type { Group } from '../models/Group.js';
import type { SlotJson } from '../models/Slot.js';
import { ActionPending, MaxSlotNum, newSlotMapping, type SlotMapping } from '../models/SlotMapping.js';
import { badRequest, conflict, notFound } from '../utils/http.js';
import { checkSlotId, type Context } from './context.js';
import { planRebalance, RebalanceError } from './rebalance.js';
import type { Topom } from './Topom.js';

/** One entry of a slots/assign body. */
interface AssignEntry {
  id: number;
  group_id: number;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Validates a slots/assign body: `[{id, group_id, action?}]` with no action state. */
export function parseAssignBody(body: unknown): AssignEntry[] {
  if (body === undefined) return [];
  if (!Array.isArray(body)) throw badRequest('slots: expected a JSON array of {"id", "group_id"}');
  const seen = new Set<number>();
  return body.map((v: unknown, i) => {
    if (!isObject(v)) throw badRequest(`slots[${i}] must be an object`);
    const { id, group_id: gid, action } = v;
    if (typeof id !== 'number' || !Number.isInteger(id))
      throw badRequest(`slots[${i}].id must be an integer`);
    checkSlotId(id);
    if (gid !== undefined && (typeof gid !== 'number' || !Number.isInteger(gid) || gid < 0))
      throw badRequest(`slots[${i}].group_id must be a non-negative integer`);
    if (action !== undefined && action !== null) {
      if (!isObject(action)) throw badRequest(`slots[${i}].action must be an object`);
      if (action.state) throw badRequest(`invalid slot-[${id}] action state = ${String(action.state)}`);
    }
    if (seen.has(id)) throw badRequest(`slot-[${id}] appears twice`);
    seen.add(id);
    return { id, group_id: (gid as number | undefined) ?? 0 };
  });
}

export class TopomSlots {
  constructor(private readonly t: Topom) {}

  /** Proxy-format slots, replica groups computed with no proxy (GET /topom/slots). */
  slots(): Promise<SlotJson[]> {
    return this.t.run(async (ctx) => ctx.toSlotSlice(ctx.slots));
  }

  private nonEmptyGroup(ctx: Context, gid: number): Group {
    const g = ctx.getGroup(gid);
    if (g.servers.length === 0) throw conflict(`group-[${gid}] is empty`);
    return g;
  }

  /** Promotion and migration of a group exclude each other (TopomGroup.promote checks the other way). */
  private notPromoting(ctx: Context, ...gids: number[]): void {
    for (const gid of gids)
      if (gid !== 0 && ctx.isGroupPromoting(gid))
        throw conflict(`group-[${gid}] is promoting: no slot migration to or from it until that finishes`);
  }

  /** The slot must have no action (a migration would be overwritten). */
  private idle(m: SlotMapping): void {
    if (m.action.state) throw conflict(`slot-[${m.id}] action already exists (${m.action.state})`);
  }

  /**
   * Maps slots to groups directly (no data moves), or offline (`offline`: every group_id must be 0).
   * Everything is checked before anything is written; then the slots are pushed to every proxy.
   */
  assign(body: unknown, offline: boolean): Promise<void> {
    const entries = parseAssignBody(body);
    return this.t.run(async (ctx) => {
      for (const e of entries) {
        if (offline) {
          if (e.group_id !== 0) throw badRequest(`group of slot-[${e.id}] should be 0`);
        } else this.nonEmptyGroup(ctx, e.group_id);
        this.idle(ctx.getSlotMapping(e.id));
      }
      if (entries.length === 0) return;
      // Groups are marked out of sync while their slots are pushed (cleared again once all proxies
      // have them; a group that was already out of sync stays so).
      const touched = new Set<number>(offline ? [] : entries.map((e) => e.group_id));
      const flipped: Group[] = [];
      for (const gid of touched) {
        const g = ctx.getGroup(gid);
        if (!g.out_of_sync) {
          g.out_of_sync = true;
          await this.t.cache.updateGroup(g);
          flipped.push(g);
        }
      }
      const slots = entries.map((e) => newSlotMapping(e.id, e.group_id));
      await this.t.cache.updateSlots(slots);
      for (const m of slots) ctx.slots[m.id] = m;
      await this.t.proxies.resyncSlotMappings(ctx, slots);
      for (const g of flipped) {
        g.out_of_sync = false;
        await this.t.cache.updateGroup(g);
      }
      this.t.log.info(
        `assigned ${slots.length} slot(s) ${offline ? 'offline' : `to group(s) ${[...touched]}`}`,
      );
    });
  }

  private async queue(ctx: Context, sids: readonly number[], gid: number): Promise<void> {
    const changed: SlotMapping[] = [];
    let index = ctx.maxSlotActionIndex();
    for (const sid of sids) {
      const m = ctx.getSlotMapping(sid);
      m.action = { index: ++index, state: ActionPending, target_id: gid };
      changed.push(m);
    }
    await this.t.cache.updateSlots(changed);
    this.t.log.info(`queued ${changed.length} slot action(s) to group-[${gid}]`);
  }

  /** Queues slot sid to move to gid. */
  createAction(sid: number, gid: number): Promise<void> {
    return this.t.run(async (ctx) => {
      const m = ctx.getSlotMapping(sid);
      this.nonEmptyGroup(ctx, gid);
      this.idle(m);
      if (m.group_id === gid) throw conflict(`slot-[${sid}] already in group-[${gid}]`);
      this.notPromoting(ctx, m.group_id, gid);
      await this.queue(ctx, [sid], gid);
    });
  }

  /** Queues up to num idle slots of group src (0: offline slots), lowest ids first, to dst. */
  createActionSome(src: number, dst: number, num: number): Promise<void> {
    return this.t.run(async (ctx) => {
      this.nonEmptyGroup(ctx, dst);
      if (!Number.isInteger(num) || num < 0) throw badRequest(`invalid num = ${num}`);
      this.notPromoting(ctx, src, dst);
      const sids = ctx.slots
        .filter((m) => !m.action.state && m.group_id === src && m.group_id !== dst)
        .slice(0, num)
        .map((m) => m.id);
      await this.queue(ctx, sids, dst);
    });
  }

  /** Queues slots beg..end (inclusive) to gid; all must be idle and not already in gid. */
  createActionRange(beg: number, end: number, gid: number): Promise<void> {
    return this.t.run(async (ctx) => {
      if (!(beg >= 0 && beg <= end && end < MaxSlotNum))
        throw badRequest(`invalid slot range [${beg},${end}]`);
      this.nonEmptyGroup(ctx, gid);
      const sids: number[] = [];
      for (let sid = beg; sid <= end; sid++) {
        const m = ctx.getSlotMapping(sid);
        this.idle(m);
        if (m.group_id === gid) throw conflict(`slot-[${sid}] already in group-[${gid}]`);
        this.notPromoting(ctx, m.group_id, gid);
        sids.push(sid);
      }
      await this.queue(ctx, sids, gid);
    });
  }

  /** Cancels a pending action. */
  removeAction(sid: number): Promise<void> {
    return this.t.run(async (ctx) => {
      const m = ctx.getSlotMapping(sid);
      if (!m.action.state) throw notFound(`slot-[${sid}] action doesn't exist`);
      if (m.action.state !== ActionPending) throw conflict(`slot-[${sid}] action isn't pending`);
      m.action = {};
      await this.t.cache.updateSlot(m);
    });
  }

  /** The rebalance plan `{sid: gid}`; with confirm, also queued (ascending slot ids). */
  rebalance(confirm: boolean): Promise<Record<string, number>> {
    return this.t.run(async (ctx) => {
      const gids = ctx
        .groups()
        .filter((g) => g.servers.length > 0)
        .map((g) => g.id);
      let plan: Map<number, number>;
      try {
        plan = planRebalance(ctx.slots, gids);
      } catch (e) {
        if (e instanceof RebalanceError) throw conflict(e.message);
        throw e;
      }
      if (confirm && plan.size > 0) {
        const changed: SlotMapping[] = [];
        let index = ctx.maxSlotActionIndex();
        for (const [sid, gid] of plan) {
          const m = ctx.getSlotMapping(sid);
          m.action = { index: ++index, state: ActionPending, target_id: gid };
          changed.push(m);
        }
        await this.t.cache.updateSlots(changed);
        this.t.log.info(`rebalance: queued ${changed.length} slot action(s)`);
      }
      return Object.fromEntries([...plan].map(([sid, gid]) => [String(sid), gid]));
    });
  }
}
