/**
 * Dashboard-mode slot commands (reference §8.3, §4.7, §4.8): `--slots-status`, `--slots-assign`
 * (printed, then applied with `--confirm`), `--slot-action …` and `--rebalance [--confirm]`.
 *
 * Extras for online migration: `--slots-status` adds, to each slot with an action, its state,
 * target and progress (keys moved, keys left, found by the last pass, bytes, rate, ETA);
 * `--slot-action --abort --sid=N` aborts a migration safely (the slot goes back to its source);
 * `--wait` (after `--create…` or `--rebalance --confirm`) waits until no slot action is left,
 * printing `migrated 123/512 slots, 45% keys, 12.3k keys/s, ETA 40s` (rewritten in place on a
 * terminal, one line every few seconds otherwise).
 */
import { MaxSlotNum } from '../models/Slot.js';
import { UsageError, type ArgReader } from './args.js';
import { type DashboardClient, type SlotMappingBody, type SlotsProgress } from './client.js';
import { jsonText, progressLine, rebalanceLines, shortSeconds, type Io } from './output.js';

/** Poll period while waiting; without a terminal, a line at most every LINE_MS. */
const POLL_MS = 1000;
const LINE_MS = 5000;
/** Consecutive failed polls (e.g. the dashboard restarting) tolerated while waiting. */
const MAX_FAILED_POLL_MS = 60_000;

/** `--beg..--end` (inclusive) as SlotMappings to `gid` (0 = offline), checked before any call. */
export function slotRange(beg: number, end: number, gid: number): SlotMappingBody[] {
  if (beg < 0 || end >= MaxSlotNum || beg > end)
    throw new UsageError(`invalid slot range [${beg},${end}]: need 0 <= beg <= end <= ${MaxSlotNum - 1}`);
  return Array.from({ length: end - beg + 1 }, (_, i) => ({ id: beg + i, group_id: gid, action: {} }));
}

export async function slotsMain(a: ArgReader, c: DashboardClient, io: Io): Promise<void> {
  if (a.has('--slots-assign')) {
    const offline = a.has('--offline');
    const slots = slotRange(a.int('--beg'), a.int('--end'), offline ? 0 : a.int('--gid'));
    await c.login();
    if (!a.has('--confirm')) {
      io.out(jsonText(slots));
      return;
    }
    await (offline ? c.slotsAssignOffline(slots) : c.slotsAssign(slots));
  } else if (a.has('--slots-status')) {
    await c.login();
    io.out(jsonText(withProgress(await c.slots(), await c.progress().catch(() => undefined))));
  } else if (a.has('--rebalance')) {
    await c.login();
    const plan = await c.rebalance(a.has('--confirm'));
    io.out(rebalanceLines(plan ?? {}));
    if (a.has('--wait')) await waitActions(c, io);
  } else {
    await slotAction(a, c, io);
    if (a.has('--wait')) await waitActions(c, io);
  }
}

/** Proxy-format slots; those with an action also get its state, target and progress. */
export function withProgress(slots: unknown[], p: SlotsProgress | undefined): unknown[] {
  if (!p?.actions) return slots;
  const actions = new Map(p.actions.map((x) => [x.id, x]));
  const live = new Map((p.progress?.slots ?? []).map((x) => [x.id, x]));
  return slots.map((s) => {
    const id = (s as { id?: number }).id ?? -1;
    const act = actions.get(id);
    if (!act) return s;
    const l = live.get(id);
    const extra: Record<string, unknown> = { action: act.state, migrate_to_group_id: act.to };
    if (l) {
      for (const k of [
        'keys_moved',
        'keys_left',
        'found_last_pass',
        'bytes',
        'keys_per_sec',
        'bytes_per_sec',
      ])
        extra[k] = l[k];
      extra.eta = shortSeconds(l.eta_seconds as number | null);
      if (l.reversed) extra.reversed = true;
    }
    return { ...(s as Record<string, unknown>), ...extra };
  });
}

async function slotAction(a: ArgReader, c: DashboardClient, io: Io): Promise<void> {
  let run: () => Promise<unknown>;
  if (a.has('--create')) {
    const [sid, gid] = [a.int('--sid'), a.int('--gid')];
    run = () => c.createSlotAction(sid, gid);
  } else if (a.has('--remove')) {
    const sid = a.int('--sid');
    run = () => c.removeSlotAction(sid);
  } else if (a.has('--abort')) {
    const sid = a.int('--sid');
    run = async () => {
      const r = await c.abortSlotAction(sid);
      const what: Record<string, string> = {
        cancelled: 'was pending: cancelled',
        reversed: 'is migrating back to its source group (keys moved back)',
      };
      io.out(`slot-[${sid}] ${what[String(r)] ?? String(r)}\n`);
    };
  } else if (a.has('--create-some')) {
    const [src, dst, num] = [a.int('--gid-from'), a.int('--gid-to'), a.int('--num-slots')];
    run = () => c.createSlotActionSome(src, dst, num);
  } else if (a.has('--create-range')) {
    const [beg, end, gid] = [a.int('--beg'), a.int('--end'), a.int('--gid')];
    run = () => c.createSlotActionRange(beg, end, gid);
  } else if (a.has('--interval')) {
    const us = a.int('--interval');
    run = () => c.setSlotActionInterval(us);
  } else {
    const disabled = a.int('--disabled') !== 0;
    run = () => c.setSlotActionDisabled(disabled);
  }
  await c.login();
  await run();
}

/** Polls the progress until no slot has an action, printing a progress line. */
export async function waitActions(c: DashboardClient, io: Io, pollMs = POLL_MS): Promise<void> {
  let waiting: Set<number> | undefined;
  let base: number | undefined;
  let lastLine = 0;
  let failingSince = 0;
  const started = Date.now();
  for (;;) {
    let p: SlotsProgress;
    try {
      p = await c.progress();
      failingSince = 0;
    } catch (e) {
      failingSince ||= Date.now();
      if (Date.now() - failingSince > MAX_FAILED_POLL_MS) throw e;
      await new Promise((r) => setTimeout(r, pollMs));
      continue;
    }
    const now = new Set((p.actions ?? []).map((x) => x.id));
    waiting ??= new Set(now);
    for (const id of now) waiting.add(id);
    const moved = p.progress?.keys_moved ?? 0;
    if (base === undefined || moved < base) base = moved; // a restarted dashboard counts from 0
    const finished = now.size === 0;
    const line = progressLine({
      done: waiting.size - now.size,
      total: waiting.size,
      moved: moved - base,
      left: finished ? 0 : (p.progress?.keys_left ?? 0),
      keysPerSec: p.progress?.keys_per_sec ?? 0,
      eta: p.progress?.eta_seconds ?? null,
      paused: p.disabled,
      problem: /^\[(STALLED|ERROR)\]/.test(p.progress?.status ?? '') ? p.progress!.status : undefined,
    });
    const tick = Date.now();
    if (io.tty) {
      io.out(`\r${line}\x1b[K`);
    } else if (finished || tick - lastLine >= LINE_MS) {
      io.out(`${line}\n`);
      lastLine = tick;
    }
    if (finished) {
      const took = shortSeconds((Date.now() - started) / 1000);
      io.out(`${io.tty ? '\n' : ''}done in ${took}\n`);
      return;
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
