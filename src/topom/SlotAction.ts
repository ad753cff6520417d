/**
 * Slot actions (slot migrations): the boundary between the action queue and the executor.
 *
 * - The queue lives in the store: a slot with `action.state = pending` (an `index` giving the
 *   order, a `target_id`) is queued. TopomSlots creates and cancels actions.
 * - The state machine of §4.4 is here, as the steps an executor calls: `prepare(sid)` takes a
 *   slot from pending to `migrating` (every proxy first holds the slot locked, then routes it to
 *   the target with migrate_from = the source), and `complete(sid)` takes it through `finished`
 *   to `{group_id: target}` with no action. Each step runs under the dashboard mutex and pushes
 *   the slot to every proxy; a proxy that fails stops the step, and the next call resumes it.
 * - The executor (the migration worker, a later issue) implements `SlotMigrator` and is installed
 *   with `setMigrator()`: the loop then asks `pick` (default `pickRound`: at most
 *   `migration_parallel_slots` slots, each group in at most one migration, §4.6) and hands the
 *   round to `migrator.round()`. Without a migrator no loop runs and actions stay pending.
 * - `interval` (µs between executor steps) and `disabled` (no new pending action is started) are
 *   runtime settings, as in Codis; they are not stored.
 */
import {
  ActionFinished,
  ActionMigrating,
  ActionNothing,
  ActionPending,
  ActionPrepared,
  ActionPreparing,
  type SlotMapping,
} from '../models/SlotMapping.js';
import { conflict } from '../utils/http.js';
import { Loop } from './loop.js';
import type { Topom } from './Topom.js';

/** What the migration worker implements. */
export interface SlotMigrator {
  /**
   * Runs one round: for each slot, `actions.prepare(sid)`, move its keys from the source
   * (`group_id`) to the target (`action.target_id`), then `actions.complete(sid)`. A throw ends the
   * round (retried 5 s later). Progress text goes to `actions.progress`.
   */
  round(sids: number[], actions: SlotActions): Promise<void>;
  /** Which slots a round takes; pickRound when absent. */
  pick?(slots: readonly SlotMapping[], parallel: number, disabled: boolean): number[];
}

export const MAX_INTERVAL_US = 1_000_000;

/**
 * The slots one scheduling round may run (§4.4 step 2, §4.6): slots already past `pending` first,
 * lowest index first; then, unless disabled, pending ones by index. A slot is skipped when its
 * source (if any) or target group is already used in this round.
 */
export function pickRound(slots: readonly SlotMapping[], parallel: number, disabled: boolean): number[] {
  const marks = new Set<number>();
  const plans: number[] = [];
  const picked = new Set<number>();
  const accept = (m: SlotMapping) =>
    !picked.has(m.id) && !marks.has(m.group_id) && !marks.has(m.action.target_id ?? 0);
  const minIndex = (pending: boolean): SlotMapping | undefined => {
    let best: SlotMapping | undefined;
    for (const m of slots) {
      const state = m.action.state ?? ActionNothing;
      if (state === ActionNothing || (state === ActionPending) !== pending || !accept(m)) continue;
      if (!best || (m.action.index ?? 0) < (best.action.index ?? 0)) best = m;
    }
    return best;
  };
  const max = Math.max(1, parallel);
  while (plans.length < max) {
    const m = minIndex(false) ?? (disabled ? undefined : minIndex(true));
    if (!m) break;
    if (m.group_id !== 0) marks.add(m.group_id);
    marks.add(m.action.target_id ?? 0);
    picked.add(m.id);
    plans.push(m.id);
  }
  return plans;
}

export class SlotActions {
  /** Pause between executor steps, µs. */
  interval = 0;
  disabled = false;
  /** `""`, `[OK] Slot[NNNN]@DB[d]=remaining` or `[ERROR] Slot[NNNN]: …`. */
  progress = '';
  /** Slot executors running now. */
  executor = 0;
  private migrator: SlotMigrator | undefined;
  private loop: Loop | undefined;

  constructor(private readonly t: Topom) {}

  setInterval(us: number): void {
    this.interval = Math.min(Math.max(0, Math.trunc(us)), MAX_INTERVAL_US);
  }

  setDisabled(disabled: boolean): void {
    this.disabled = disabled;
  }

  /** Installs the executor; the loop runs only with one. */
  setMigrator(m: SlotMigrator): void {
    this.migrator = m;
    if (this.t.online && !this.loop) this.start();
  }

  json(): Record<string, unknown> {
    return {
      interval: this.interval,
      disabled: this.disabled,
      progress: { status: this.progress },
      executor: this.executor,
    };
  }

  /**
   * pending → preparing → prepared (all proxies hold the slot locked, routed to the target) →
   * migrating (unlocked, target with migrate_from = source). Resumes from the stored state; a
   * proxy failure while preparing pushes the unlocked mapping back and leaves `preparing`.
   * Returns the state reached (`migrating`, or `finished` if it was already there).
   */
  prepare(sid: number): Promise<string> {
    return this.t.run(async (ctx) => {
      const m = ctx.getSlotMapping(sid);
      const busy = (gid: number) => gid !== 0 && ctx.isGroupPromoting(gid);
      if (busy(m.group_id) || busy(m.action.target_id ?? 0))
        throw conflict(`slot-[${sid}] waits: a group of its action is promoting`);
      const save = async (state: SlotMapping['action']['state']) => {
        m.action.state = state;
        await this.t.cache.updateSlot(m);
      };
      const state = m.action.state ?? ActionNothing;
      if (state === ActionNothing) throw conflict(`slot-[${sid}] action doesn't exist`);
      if (state === ActionPending) await save(ActionPreparing);
      if (m.action.state === ActionPreparing) {
        m.action.state = ActionPrepared;
        try {
          await this.t.proxies.resyncSlotMappings(ctx, [m]);
        } catch (e) {
          m.action.state = ActionPreparing;
          await this.t.proxies.resyncSlotMappings(ctx, [m]).catch(() => undefined);
          throw e;
        }
        await save(ActionPrepared);
      }
      if (m.action.state === ActionPrepared) {
        m.action.state = ActionMigrating;
        await this.t.proxies.resyncSlotMappings(ctx, [m]);
        await save(ActionMigrating);
      }
      return m.action.state ?? ActionNothing;
    });
  }

  /**
   * migrating → finished (pushed: target only) → `{group_id: target}` with no action. A failed
   * push leaves `finished`, and the next call pushes again.
   */
  complete(sid: number): Promise<void> {
    return this.t.run(async (ctx) => {
      const m = ctx.getSlotMapping(sid);
      const state = m.action.state ?? ActionNothing;
      if (state !== ActionMigrating && state !== ActionFinished)
        throw conflict(`slot-[${sid}] action isn't migrating (${state || 'none'})`);
      if (state === ActionMigrating) {
        m.action.state = ActionFinished;
        await this.t.cache.updateSlot(m);
      }
      await this.t.proxies.resyncSlotMappings(ctx, [m]);
      const done: SlotMapping = { id: sid, group_id: m.action.target_id ?? 0, action: {} };
      await this.t.cache.updateSlot(done);
      ctx.slots[sid] = done;
      this.t.log.info(`slot-[${sid}] moved to group-[${done.group_id}]`);
    });
  }

  start(): void {
    if (!this.migrator) return;
    this.loop = new Loop(
      () => this.round(),
      1000,
      (e) => {
        this.progress = `[ERROR] ${(e as Error).message}`;
        this.t.log.warn(`slot actions: ${(e as Error).message}`);
      },
      5000,
    ).start(1000);
  }

  /** One scheduling round; another follows 10 ms later while there is work. */
  private async round(): Promise<number | void> {
    const migrator = this.migrator;
    if (!migrator || !this.t.online) return;
    const slots = this.t.cache.slotList();
    const parallel = this.t.config.migration_parallel_slots;
    const sids = (migrator.pick ?? pickRound)(slots, parallel, this.disabled);
    if (sids.length === 0) return;
    this.executor += sids.length;
    try {
      await migrator.round(sids, this);
    } finally {
      this.executor -= sids.length;
    }
    return 10;
  }

  async stop(): Promise<void> {
    await this.loop?.stop();
    this.loop = undefined;
  }
}
