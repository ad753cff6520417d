/**
 * Slot actions (slot migrations): the boundary between the action queue and the executor.
 *
 * - The queue lives in the store: a slot with `action.state = pending` (an `index` giving the
 *   order, a `target_id`) is queued. TopomSlots creates and cancels actions.
 * - The state machine of §4.4 is here, as the steps an executor calls: `prepareMany(sids)` takes
 *   slots from pending to `migrating` (every proxy first holds the slots locked, then routes them
 *   to the target with migrate_from = the source), and `completeMany` takes them through
 *   `finished` to `{group_id: target}` with no action. Each step runs under the dashboard mutex
 *   and pushes all the slots of the step to every proxy in one fillslots; a proxy that fails
 *   stops the step, and the next call resumes it. `prepare(sid)` / `complete(sid)` do one slot.
 * - `reverse(sid)` is the safe abort: a pending action is cancelled, a preparing one goes back
 *   to its source (no key moved yet); a prepared or migrating one is turned around, through a
 *   locked step like prepare: the slot becomes a migration from the old target back to the
 *   source (`group_id` = old target, `target_id` = source), so the proxies move each key back
 *   before serving it and the migration worker moves the rest back; it ends wholly on the source.
 * - The executor (migration/Migrator.ts) implements `SlotMigrator`, installed with
 *   `setMigrator()`: the loop asks `pick` (default `pickRound`, Codis's rule) and hands the slots
 *   to `migrator.round()`. Without a migrator no loop runs and actions stay pending.
 * - `interval` (µs between batches), `disabled` (nothing new starts and running passes pause) and
 *   the rate settings are runtime settings, as in Codis; they are not stored.
 */
import {
  ActionFinished,
  ActionMigrating,
  ActionNothing,
  ActionPending,
  ActionPrepared,
  ActionPreparing,
  type SlotActionState,
  type SlotMapping,
} from '../models/SlotMapping.js';
import { conflict, notFound } from '../utils/http.js';
import type { Context } from './context.js';
import { Loop } from './loop.js';
import { parseRateChange, settingsFromConfig, type MigrationSettings } from './migration/settings.js';
import { pickRound } from './rebalance.js';
import type { Topom } from './Topom.js';

export { pickRound };

/** What the migration worker implements. */
export interface SlotMigrator {
  /**
   * Runs one round: for the slots (and any it takes on meanwhile), prepare, move the keys from
   * the source (`group_id`) to the target (`action.target_id`), complete. A throw ends the round
   * (retried 5 s later).
   */
  round(sids: number[], actions: SlotActions): Promise<void>;
  /** Which slots a round takes; pickRound when absent. */
  pick?(slots: readonly SlotMapping[], parallel: number, disabled: boolean): number[];
  /** Slots being migrated now. */
  readonly running?: number;
  /** Aborts a slot's action safely (see SlotActions.reverse). */
  abort?(sid: number): Promise<string>;
  /** The progress status line and details for the overview. */
  status?(): string;
  json?(): Record<string, unknown>;
  onError?(e: unknown): void;
  stop?(): Promise<void>;
}

export const MAX_INTERVAL_US = 1_000_000;

/** A slot that prepareMany took to `migrating` (or found `finished`), and where it moves. */
export interface PreparedSlot {
  sid: number;
  state: SlotActionState;
  from: number;
  to: number;
}

export class SlotActions {
  /** Pause between migration batches, µs. */
  interval = 0;
  disabled = false;
  readonly settings: MigrationSettings;
  /** The last round error when no migrator reports progress. */
  progress = '';
  private migrator: SlotMigrator | undefined;
  private loop: Loop | undefined;
  /** Slots whose `migrating` mapping this process has pushed (others are pushed again on resume). */
  private readonly confirmed = new Set<number>();

  constructor(private readonly t: Topom) {
    this.settings = settingsFromConfig(t.config);
    this.setInterval(t.config.migration_pause * 1000);
  }

  /** Slot executors running now. */
  get executor(): number {
    return this.migrator?.running ?? 0;
  }

  get pauseMs(): number {
    return this.interval / 1000;
  }

  setInterval(us: number): void {
    this.interval = Math.min(Math.max(0, Math.trunc(us)), MAX_INTERVAL_US);
  }

  setDisabled(disabled: boolean): void {
    if (disabled !== this.disabled)
      this.t.log.warn(`slot migrations ${disabled ? 'paused (disabled)' : 'resumed (enabled)'}`);
    this.disabled = disabled;
  }

  /** `PUT slots/action/rate`: changes any of the live settings; returns them all. */
  setRate(body: unknown): Record<string, number> {
    const c = parseRateChange(body);
    if (c.keys_per_sec !== undefined) this.settings.keysPerSec = c.keys_per_sec;
    if (c.bytes_per_sec !== undefined) this.settings.bytesPerSec = c.bytes_per_sec;
    if (c.batch_keys !== undefined) this.settings.batchKeys = c.batch_keys;
    if (c.pause_ms !== undefined) this.setInterval(c.pause_ms * 1000);
    const now = this.rateJson();
    this.t.log.info(`slot migration settings: ${JSON.stringify(now)}`);
    return now;
  }

  rateJson(): Record<string, number> {
    return {
      keys_per_sec: this.settings.keysPerSec,
      bytes_per_sec: this.settings.bytesPerSec,
      batch_keys: this.settings.batchKeys,
      pause_ms: this.pauseMs,
    };
  }

  /** Installs the executor; the loop runs only with one. */
  setMigrator(m: SlotMigrator): void {
    this.migrator = m;
    if (this.t.online && !this.loop) this.start();
  }

  /** Aborts (or cancels) a slot's action: the migrator stops moving it first. */
  abort(sid: number): Promise<string> {
    return this.migrator?.abort ? this.migrator.abort(sid) : this.reverse(sid);
  }

  json(): Record<string, unknown> {
    return {
      interval: this.interval,
      disabled: this.disabled,
      progress: { status: this.migrator?.status?.() ?? this.progress, ...this.migrator?.json?.() },
      executor: this.executor,
      rate: this.rateJson(),
    };
  }

  private busy(ctx: Context, m: SlotMapping): boolean {
    const gids = [m.group_id, m.action.target_id ?? 0];
    return gids.some((gid) => gid !== 0 && ctx.isGroupPromoting(gid));
  }

  private push(ctx: Context, ms: SlotMapping[]): Promise<void> {
    return this.t.proxies.resyncSlotMappings(ctx, ms);
  }

  /**
   * pending → preparing → prepared (all proxies hold the slots locked, routed to the target) →
   * migrating (unlocked, target with migrate_from = source), all the slots of a step in one push.
   * Resumes from the stored state; a proxy failure while preparing pushes the unlocked mapping
   * back and leaves `preparing`. Slots without an action or with a promoting group are skipped.
   */
  prepareMany(sids: readonly number[]): Promise<PreparedSlot[]> {
    return this.t.run((ctx) =>
      this.stepUp(
        ctx,
        sids.map((sid) => ctx.getSlotMapping(sid)),
      ),
    );
  }

  /** One slot (409 when its group is promoting or it has no action); returns the state reached. */
  prepare(sid: number): Promise<string> {
    return this.t.run(async (ctx) => {
      const m = ctx.getSlotMapping(sid);
      if (this.busy(ctx, m)) throw conflict(`slot-[${sid}] waits: a group of its action is promoting`);
      if (!m.action.state) throw conflict(`slot-[${sid}] action doesn't exist`);
      const [p] = await this.stepUp(ctx, [m]);
      return p?.state ?? ActionNothing;
    });
  }

  private async stepUp(ctx: Context, all: SlotMapping[]): Promise<PreparedSlot[]> {
    const ms = all.filter((m) => m.action.state && !this.busy(ctx, m));
    const inState = (s: SlotActionState) => ms.filter((m) => m.action.state === s);
    const set = (list: SlotMapping[], s: SlotActionState) => list.forEach((m) => (m.action.state = s));
    const pending = inState(ActionPending);
    set(pending, ActionPreparing);
    await this.t.cache.updateSlots(pending);
    const preparing = inState(ActionPreparing);
    if (preparing.length > 0) {
      set(preparing, ActionPrepared);
      try {
        await this.push(ctx, preparing);
      } catch (e) {
        set(preparing, ActionPreparing);
        await this.push(ctx, preparing).catch(() => undefined);
        throw e;
      }
    }
    // Every proxy holds the lock now. `prepared` is stored while `migrating` goes out, so the
    // slots stay locked only for the two pushes: a dashboard restarted from `preparing` locks
    // again, one restarted from `prepared` pushes `migrating` again (and an abort turns a
    // `preparing` slot around, as it may have been served from the target). Both end before this
    // step does; a push error wins, as it names the proxy that failed.
    const storing = this.t.cache.updateSlots(preparing.map((m) => structuredClone(m))).then(
      () => undefined,
      (e: unknown) => e,
    );
    const prepared = inState(ActionPrepared);
    // A migrating slot this process never pushed (dashboard restarted) is pushed again: a
    // dashboard that died half-way through a step may have left proxies locked.
    const resumed = inState(ActionMigrating).filter((m) => !this.confirmed.has(m.id));
    set(prepared, ActionMigrating);
    const pushed = this.push(ctx, [...prepared, ...resumed]).then(
      () => undefined,
      (e: unknown) => e ?? new Error('push failed'),
    );
    const [pushError, storeError] = await Promise.all([pushed, storing]);
    if (pushError !== undefined || storeError !== undefined) throw pushError ?? storeError;
    await this.t.cache.updateSlots(prepared);
    for (const m of ms) if (m.action.state === ActionMigrating) this.confirmed.add(m.id);
    return ms.map((m) => ({
      sid: m.id,
      state: m.action.state ?? ActionNothing,
      from: m.group_id,
      to: m.action.target_id ?? 0,
    }));
  }

  /**
   * migrating → finished (pushed: target only) → `{group_id: target}`, no action, for the slots
   * still moving `from → to` (one reversed meanwhile is left alone). A failed push leaves
   * `finished` for the next call. Returns the slots completed.
   */
  completeMany(list: readonly { sid: number; from: number; to: number }[]): Promise<number[]> {
    return this.t.run(async (ctx) => {
      const ms = list
        .map((x) => ({ x, m: ctx.getSlotMapping(x.sid) }))
        .filter(({ x, m }) => {
          const s = m.action.state;
          return (
            (s === ActionMigrating || s === ActionFinished) &&
            m.group_id === x.from &&
            (m.action.target_id ?? 0) === x.to
          );
        })
        .map(({ m }) => m);
      return this.finish(ctx, ms);
    });
  }

  /** One slot (409 unless migrating or finished). */
  complete(sid: number): Promise<void> {
    return this.t.run(async (ctx) => {
      const m = ctx.getSlotMapping(sid);
      const state = m.action.state ?? ActionNothing;
      if (state !== ActionMigrating && state !== ActionFinished)
        throw conflict(`slot-[${sid}] action isn't migrating (${state || 'none'})`);
      await this.finish(ctx, [m]);
    });
  }

  private async finish(ctx: Context, ms: SlotMapping[]): Promise<number[]> {
    if (ms.length === 0) return [];
    const migrating = ms.filter((m) => m.action.state === ActionMigrating);
    migrating.forEach((m) => (m.action.state = ActionFinished));
    await this.t.cache.updateSlots(migrating);
    await this.push(ctx, ms);
    const done = ms.map((m): SlotMapping => ({ id: m.id, group_id: m.action.target_id ?? 0, action: {} }));
    await this.t.cache.updateSlots(done);
    for (const m of done) {
      ctx.slots[m.id] = m;
      this.confirmed.delete(m.id);
    }
    const ids = done.map((m) => m.id);
    const to = [...new Set(done.map((m) => m.group_id))];
    this.t.log.info(`slot(s) ${ids.join(',')} moved to group(s) ${to.join(',')}`);
    return ids;
  }

  /**
   * Aborts the slot's action so that it ends wholly on one side, with no key lost:
   * - pending: cancelled (`cancelled`);
   * - preparing / prepared / migrating: keys may be on both groups (`prepared` is stored while
   *   `migrating` is pushed, so even a stored `preparing` may have been served from the target:
   *   a slot with nothing there just completes back on its source); the migration is turned around
   *   (`reversed`): every proxy first gets the reversed mapping locked (so none still moves keys
   *   forward), then unlocked: the slot is served by the source, each key moved back before use,
   *   and the migration worker moves the others back, then completes on the source;
   * - finished: 409, every key is on the target already (the slot completes there).
   * The caller makes sure the migration worker no longer moves this slot.
   */
  reverse(sid: number): Promise<string> {
    return this.t.run(async (ctx) => {
      const m = ctx.getSlotMapping(sid);
      const from = m.group_id;
      const to = m.action.target_id ?? 0;
      switch (m.action.state ?? ActionNothing) {
        case ActionNothing:
          throw notFound(`slot-[${sid}] action doesn't exist`);
        case ActionPending:
          m.action = {};
          await this.t.cache.updateSlot(m);
          this.t.log.info(`slot-[${sid}] action cancelled`);
          return 'cancelled';
        case ActionFinished:
          throw conflict(`slot-[${sid}] has finished: all its keys are on group-[${to}], it completes there`);
      }
      if (from === 0 || !ctx.getGroupMaster(from))
        throw conflict(
          `slot-[${sid}] comes from ${from ? `an empty group-[${from}]` : 'no group'}: it can't go back`,
        );
      const back: SlotMapping = {
        id: sid,
        group_id: to,
        action: { index: m.action.index, state: ActionPrepared, target_id: from },
      };
      try {
        await this.push(ctx, [back]);
      } catch (e) {
        await this.push(ctx, [m]).catch(() => undefined);
        throw e;
      }
      await this.t.cache.updateSlot(back);
      back.action.state = ActionMigrating;
      await this.push(ctx, [back]);
      await this.t.cache.updateSlot(back);
      ctx.slots[sid] = back;
      this.confirmed.add(sid);
      this.t.log.warn(
        `slot-[${sid}] migration to group-[${to}] aborted: it goes back to group-[${from}] (keys moved back)`,
      );
      return 'reversed';
    });
  }

  start(): void {
    if (!this.migrator) return;
    this.loop = new Loop(
      () => this.round(),
      1000,
      (e) => {
        this.progress = `[ERROR] ${(e as Error).message}`;
        this.migrator?.onError?.(e);
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
    const sids = migrator.pick
      ? migrator.pick(slots, parallel, this.disabled)
      : pickRound(slots, parallel, this.disabled);
    if (sids.length === 0) return;
    await migrator.round(sids, this);
    this.progress = '';
    return 10;
  }

  async stop(): Promise<void> {
    await this.migrator?.stop?.();
    await this.loop?.stop();
    this.loop = undefined;
  }
}
