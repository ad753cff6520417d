/**
 * The dashboard's slot migration executor (SlotMigrator) on stock Redis.
 *
 * - Scheduling: a round takes up to `migration_parallel_slots` actionable slots (past-pending
 *   ones first, then pending ones unless disabled, by index). Unlike Codis, many slots from the
 *   same source or to the same target run together: one SourceWorker per source group serves all
 *   of its slots with one SCAN pass. Slots whose source or target group is promoting are never
 *   taken (and a group with a migration past pending cannot be promoted, TopomGroup.promote).
 *   While a round runs, finished slots make room for new ones (checked every second), so a long
 *   rebalance flows without waiting for the slowest slot of a batch.
 * - Each slot: prepare (batched, pushed to every proxy) → passes until a full pass finds none of
 *   its keys → complete (batched). Big keys move in chunks under a per-key hold on every proxy.
 * - Control: `disabled` pauses running passes between batches (and nothing new starts); abort
 *   takes the slot out of its worker, waits until no batch can touch it, then turns it around
 *   (SlotActions.reverse); the reversed slot is then migrated back like any other.
 * - A proxy that does not answer stalls the step that needs it; the status names the proxy and
 *   how to remove it, the log too.
 */
import { ActionFinished, ActionPending, type SlotMapping } from '../../models/SlotMapping.js';
import { checkSlotId } from '../context.js';
import type { SlotActions, SlotMigrator } from '../SlotAction.js';
import type { Topom } from '../Topom.js';
import { ProxyPushError } from '../TopomProxy.js';
import type { KeyHolder } from './BigKeyMover.js';
import { MigrationProgress, short, shortBytes, shortDuration, type SlotJob } from './Progress.js';
import { RateLimiter, sleep } from './RateLimiter.js';
import type { MoverOptions } from './SlotMover.js';
import { SourceWorker, type WorkerHost } from './SourceWorker.js';

const LOG_AGAIN_MS = 30_000;
const RETRY_MS = 5000;

interface Problem {
  msg: string;
  stall: boolean;
  logged: number;
}

/** Keys of a server from its last INFO sample (`db0:keys=…`), 0 when unknown. */
export function keysFromInfo(info: Record<string, string> | undefined): number {
  let n = 0;
  for (const [k, v] of Object.entries(info ?? {}))
    if (/^db\d+$/.test(k)) n += Number(/keys=(\d+)/.exec(v)?.[1] ?? 0);
  return n;
}

export class Migrator implements SlotMigrator, WorkerHost {
  readonly progress = new MigrationProgress();
  private readonly workers = new Map<number, SourceWorker>();
  private readonly ctl = new AbortController();
  private readonly limiter: RateLimiter;
  private readonly problems = new Map<string, Problem>();
  /** Slots turned around by an abort (shown in the progress). */
  private readonly reversed = new Set<number>();
  private queue: Promise<unknown> = Promise.resolve();
  private wakeUp: (() => void) | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private options: MoverOptions | undefined;
  private admitAfter = 0;

  constructor(
    private readonly t: Topom,
    readonly holder: KeyHolder,
  ) {
    this.limiter = new RateLimiter(() => this.limits());
  }

  get signal(): AbortSignal {
    return this.ctl.signal;
  }

  get running(): number {
    return this.progress.jobs.size;
  }

  private get actions(): SlotActions {
    return this.t.actions;
  }

  private limits() {
    const s = this.actions.settings;
    return { keysPerSec: s.keysPerSec, bytesPerSec: s.bytesPerSec };
  }

  moverOptions(): MoverOptions {
    const c = this.t.config;
    const a = () => this.actions;
    this.options ??= {
      auth: this.t.productAuth,
      get batchKeys() {
        return a().settings.batchKeys;
      },
      batchBytes: c.migration_async_maxbytes,
      pauseMs: () => a().pauseMs,
      limits: () => this.limits(),
      limiter: this.limiter,
      gate: (signal) => this.gate(signal),
      bigKeyElements: c.migration_bigkey_elements,
      bigKeyBytes: c.migration_bigkey_bytes,
      chunkElements: c.migration_async_maxbulks,
      timeoutMs: c.migration_timeout,
    };
    return this.options;
  }

  /** Waits while migrations are paused (disabled). */
  private async gate(signal?: AbortSignal): Promise<void> {
    while (this.actions.disabled && !signal?.aborted) await sleep(100, signal);
  }

  master(gid: number): string {
    return this.t.cache.groupList().find((g) => g.id === gid)?.servers[0]?.server ?? '';
  }

  keysOn(addr: string): number {
    return keysFromInfo(this.t.stats.redisSample(addr)?.stats);
  }

  /** Keys one slot of the group is expected to hold: its master's keys over its slots. */
  private estimate(gid: number, slots: readonly SlotMapping[]): number {
    const owned = slots.filter((m) => m?.group_id === gid).length;
    const addr = gid === 0 ? '' : this.master(gid);
    return owned > 0 && addr ? Math.ceil(this.keysOn(addr) / owned) : 0;
  }

  /** Actionable slots not running yet: past pending first, then pending (unless disabled), by index. */
  pick(slots: readonly SlotMapping[], parallel: number, disabled: boolean): number[] {
    const room = parallel - this.running;
    if (room <= 0) return [];
    const promoting = new Set(
      this.t.cache
        .groupList()
        .filter((g) => g.promoting.state)
        .map((g) => g.id),
    );
    const cands = slots.filter(
      (m) =>
        m?.action.state &&
        !this.progress.jobs.has(m.id) &&
        !promoting.has(m.group_id) &&
        !promoting.has(m.action.target_id ?? 0) &&
        (!disabled || m.action.state !== ActionPending),
    );
    const rank = (m: SlotMapping) => (m.action.state === ActionPending ? 1 : 0);
    cands.sort((a, b) => rank(a) - rank(b) || (a.action.index ?? 0) - (b.action.index ?? 0));
    return cands.slice(0, room).map((m) => m.id);
  }

  /** Starts the slots and runs until no slot is left, taking on new ones as others finish. */
  async round(sids: number[]): Promise<void> {
    this.ticker ??= setInterval(() => this.progress.tick(), 1000).unref();
    try {
      await this.admit(sids);
      while (this.running > 0 && !this.signal.aborted) {
        await new Promise<void>((resolve) => {
          this.wakeUp = resolve;
          setTimeout(resolve, 1000).unref();
        });
        if (Date.now() < this.admitAfter) continue;
        const more = this.pick(
          this.t.cache.slotList(),
          this.t.config.migration_parallel_slots,
          this.actions.disabled,
        );
        // A failed admission (a proxy down) is tried again 5 s later, as a failed round.
        if (more.length > 0) await this.admit(more).catch(() => (this.admitAfter = Date.now() + RETRY_MS));
      }
    } finally {
      if (this.running === 0) {
        clearInterval(this.ticker);
        this.ticker = undefined;
        this.progress.tick();
        if (this.pending().count === 0) this.problems.clear();
      }
    }
  }

  private kick(): void {
    this.wakeUp?.();
  }

  /** Admission and aborts run one at a time. */
  private serial<T>(f: () => Promise<T>): Promise<T> {
    const p = this.queue.then(f);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private admit(sids: number[]): Promise<void> {
    return this.serial(async () => {
      const todo = sids.filter((sid) => !this.progress.jobs.has(sid));
      if (todo.length === 0 || this.signal.aborted) return;
      let prepared;
      try {
        prepared = await this.actions.prepareMany(todo);
        this.succeeded('prepare');
        this.succeeded('round');
      } catch (e) {
        this.failed('prepare', e);
        throw e;
      }
      const slots = this.t.cache.slotList();
      for (const p of prepared) {
        this.progress.start({
          sid: p.sid,
          from: p.from,
          to: p.to,
          reversed: this.reversed.has(p.sid),
          estimate: this.estimate(p.from, slots),
        });
        this.worker(p.from).add(p.sid, p.state === ActionFinished);
      }
    });
  }

  private worker(gid: number): SourceWorker {
    let w = this.workers.get(gid);
    if (!w) this.workers.set(gid, (w = new SourceWorker(gid, this)));
    return w;
  }

  async complete(jobs: SlotJob[]): Promise<number[]> {
    try {
      const done = await this.actions.completeMany(jobs.map((j) => ({ sid: j.sid, from: j.from, to: j.to })));
      this.succeeded('complete');
      return done;
    } catch (e) {
      this.failed('complete', e);
      throw e;
    }
  }

  ended(job: SlotJob, done: boolean): void {
    if (this.progress.jobs.get(job.sid) !== job) return;
    this.progress.drop(job.sid, done);
    if (done) this.reversed.delete(job.sid);
    else this.t.log.warn(`slot-[${job.sid}] changed under its migration; it is taken up again`);
    this.kick();
  }

  /**
   * Aborts a slot's action (SlotActions.reverse): cancelled when pending; otherwise its worker
   * stops moving it (a big key being copied is dropped), and once no batch can touch it, it is
   * turned around. On failure (a proxy does not answer) the migration goes on as it was.
   */
  abort(sid: number): Promise<string> {
    checkSlotId(sid);
    return this.serial(async () => {
      const job = this.progress.jobs.get(sid);
      const w = job ? this.workers.get(job.from) : undefined;
      if (job && w) {
        w.detach(sid);
        await w.quiesce();
      }
      try {
        const r = await this.actions.reverse(sid);
        if (job) this.progress.drop(sid, false);
        if (r === 'reversed') this.reversed.add(sid);
        else this.reversed.delete(sid);
        this.kick();
        return r;
      } catch (e) {
        if (job && w) {
          const m = this.t.cache.slotList()[sid];
          const same = m?.action.state && m.group_id === job.from && (m.action.target_id ?? 0) === job.to;
          if (same) w.add(sid, m.action.state === ActionFinished);
          else this.progress.drop(sid, false);
        }
        throw e;
      }
    });
  }

  failed(area: string, e: unknown): void {
    const stall = e instanceof ProxyPushError;
    let msg = (e as Error).message;
    if (e instanceof ProxyPushError) {
      const dash = this.t.model.admin_addr;
      msg =
        `migration waits for ${e.failed.map((f) => `proxy-[${f.token}] at ${f.admin_addr}`).join(', ')}: ` +
        `${e.what} failed (${e.failed.map((f) => f.cause).join('; ')}). If it is gone for good, remove it: ` +
        e.failed
          .map((f) => `codis-admin --dashboard=${dash} --remove-proxy --addr=${f.admin_addr} --force`)
          .join('; ');
    } else if (area.startsWith('group-')) msg = `${area.replace('-', '-[')}] source: ${msg}`;
    const old = this.problems.get(area);
    const now = Date.now();
    if (!old || old.msg !== msg || now - old.logged > LOG_AGAIN_MS) {
      this.t.log.warn(`slot migration ${stall ? 'stalled' : 'error'}: ${msg}`);
      this.problems.set(area, { msg, stall, logged: now });
    }
    if (area.startsWith('group-'))
      this.progress.source(Number(area.slice(6)), this.master(Number(area.slice(6)))).error = msg;
  }

  succeeded(area: string): void {
    if (this.problems.delete(area) && area.startsWith('group-')) {
      const s = this.progress.sources.get(Number(area.slice(6)));
      if (s) s.error = '';
    }
  }

  /** A round failed: recorded already unless it failed outside admission. */
  onError(e: unknown): void {
    if (!this.problems.has('prepare')) this.failed('round', e);
  }

  /** Slots waiting (not running): how many, an estimate of their keys, and those held by a promotion. */
  private pending(): { count: number; keys: number; promoting: number[] } {
    const slots = this.t.cache.slotList();
    const promoting = new Set(
      this.t.cache
        .groupList()
        .filter((g) => g.promoting.state)
        .map((g) => g.id),
    );
    const per = new Map<number, number>();
    const blocked = new Set<number>();
    let count = 0;
    let keys = 0;
    for (const m of slots) {
      if (!m?.action.state || this.progress.jobs.has(m.id)) continue;
      for (const gid of [m.group_id, m.action.target_id ?? 0]) if (promoting.has(gid)) blocked.add(gid);
      if (m.action.state !== ActionPending) continue;
      count++;
      if (!per.has(m.group_id)) per.set(m.group_id, this.estimate(m.group_id, slots));
      keys += per.get(m.group_id)!;
    }
    return { count, keys, promoting: [...blocked] };
  }

  status(): string {
    const problem = [...this.problems.values()].find((p) => p.stall) ?? [...this.problems.values()][0];
    if (problem) return `${problem.stall ? '[STALLED]' : '[ERROR]'} ${problem.msg}`;
    const pending = this.pending();
    if (this.running === 0 && pending.count === 0) return '';
    const s = this.progress.summary(pending.keys, pending.count);
    const head = this.actions.disabled ? '[PAUSED]' : '[OK]';
    const waits = pending.promoting.map((g) => `; waiting for group-[${g}] to finish promoting`).join('');
    return (
      `${head} migrating ${this.running} slot(s), ${pending.count} pending: ` +
      `${short(s.keys_moved as number)} keys moved, ${short(s.keys_left as number)} left, ` +
      `${short(s.keys_per_sec as number)} keys/s, ${shortBytes(s.bytes_per_sec as number)}/s, ` +
      `ETA ${shortDuration(s.eta_seconds as number | null)}, longest stall ${s.longest_stall_ms} ms${waits}`
    );
  }

  json(): Record<string, unknown> {
    const pending = this.pending();
    const slots = this.t.cache.slotList();
    const problem = [...this.problems.values()].find((p) => p.stall);
    return {
      paused: this.actions.disabled,
      ...(problem ? { stalled: problem.msg } : {}),
      errors: [...this.problems.values()].filter((p) => !p.stall).map((p) => p.msg),
      pending: pending.count,
      ...this.progress.summary(pending.keys, pending.count),
      sources: this.progress.sourcesJson(),
      slots: [...this.progress.jobs.values()]
        .sort((a, b) => a.sid - b.sid)
        .map((j) => this.progress.slotJson(j, slots[j.sid]?.action.state ?? '')),
    };
  }

  /** Stops every worker between batches (a big key being copied is dropped). */
  async stop(): Promise<void> {
    this.ctl.abort();
    this.kick();
    await Promise.all([...this.workers.values()].map((w) => w.done()));
    for (const w of this.workers.values()) w.close();
    clearInterval(this.ticker);
  }
}
