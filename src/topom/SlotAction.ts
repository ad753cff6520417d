/**
 * Slot actions (slot migrations): the boundary between the action queue and the executor.
 *
 * - The queue lives in the store: a slot with `action.state = pending` (and an `index` giving the
 *   order, and a `target_id`) is queued. TopomSlots creates and cancels actions; that is all this
 *   version does with them.
 * - The executor (the migration worker, a later issue) implements `SlotMigrator` and is installed
 *   with `setMigrator()`. The loop here then asks `pickRound()` which slots to run, at most
 *   `migration_parallel_slots` per round with every group in at most one migration (§4.6), and
 *   runs `migrator.process(sid)` for each, counting executors and keeping a progress line.
 * - `interval` (µs between executor steps) and `disabled` (no new pending action is started) are
 *   runtime settings, as in Codis; they are not stored.
 */
import {
  ActionNothing,
  ActionPending,
  type SlotMapping,
} from '../models/SlotMapping.js';
import { Loop } from './loop.js';
import type { Topom } from './Topom.js';

/** What the migration worker implements. */
export interface SlotMigrator {
  /**
   * Moves one slot's action forward until it is done (the slot then belongs to its target and
   * has no action) or cannot go on now (throw: the loop retries later). Progress text goes to
   * `actions.progress`.
   */
  process(sid: number, actions: SlotActions): Promise<void>;
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
    const sids = pickRound(this.t.cache.slotList(), this.t.config.migration_parallel_slots, this.disabled);
    if (sids.length === 0) return;
    const results = await Promise.allSettled(
      sids.map(async (sid) => {
        this.executor++;
        try {
          await migrator.process(sid, this);
        } finally {
          this.executor--;
        }
      }),
    );
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    return 10;
  }

  async stop(): Promise<void> {
    await this.loop?.stop();
    this.loop = undefined;
  }
}
