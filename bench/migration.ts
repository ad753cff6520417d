/**
 * `npm run bench -- migration`: a steady GET/SET load through a codis-proxy before, during and
 * after the dashboard migrates `slots` slots (0..slots-1) holding about half of `keys` keys from
 * group 1 to group 2; a side prober PINGs both redis-servers every 10 ms to catch source stalls;
 * at the end every key must be on the group its slot says, none lost.
 */
import { Worker } from 'node:worker_threads';
import {
  assignAllTo,
  createGroups,
  startDashboard,
  waitProxyOnline,
  type Dashboard,
  type DashboardStats,
} from './dashboard.js';
import {
  bigKeyName,
  dbsize,
  keysInSlots,
  preloadDirect,
  preloadHash,
  proxyHitRate,
  scanPlacement,
  type Placement,
} from './keys.js';
import type { LoadReport } from './loadWorker.js';
import { PhaseClock, STOP, wallMs } from './phase.js';
import { sleep } from './proc.js';
import { RespConn } from './resp.js';
import { startProxy, startRedis, type Managed, type ProxyProc } from './servers.js';
import { startSlowlog, takeSlowlog, type SlowPhase } from './slowlog.js';
import type { StallReport } from './stallWorker.js';

export interface MigrationOptions {
  keys: number;
  slots: number;
  valueBytes: number;
  clients: number;
  /** Requests per second the load offers (0: closed loop, as fast as replies come). */
  loadRate: number;
  phaseSecs: number;
  /** Extra dashboard.toml lines (`key = value`). */
  dashboardConf: string[];
  /** Fields of one big hash written into the migrated range before the phases (0: none). */
  bigkeyFields: number;
  /** Give up when no slot has left `pending` this long after queueing (no executor). */
  pendingTimeoutMs: number;
  /** Give up when nothing moved (slot states, target keys) for this long. */
  stuckTimeoutMs: number;
}

/** One poll of the migration's progress. */
export interface ProgressPoint {
  t: number;
  done: number;
  active: number;
  pending: number;
  targetKeys: number;
}

export interface MigrationRun {
  /** Wall times (ms since the epoch) of the phase boundaries: before, during, after, end. */
  bounds: number[];
  /** Set when the migration did not complete: why (the run is then a failure). */
  failure?: string;
  expectedMoved: number;
  /** First poll where a slot of the range had left `pending`. */
  firstActive?: number;
  /** First and last poll where the target's key count grew. */
  firstKeyMoved?: number;
  lastKeyMoved?: number;
  progress: ProgressPoint[];
  /**
   * The dashboard's own counters (`slot_action.progress` of the stats API: keys_moved, bytes_moved,
   * longest_stall_ms), highest value seen while polling; empty when it exposes none.
   */
  dashboard: DashboardCounters;
  load?: LoadReport;
  stall?: StallReport;
  verify?: Verification;
  proxyProcs: string;
  /** SLOWLOG of each server (source, target) per measured phase (before, during, after). */
  slowlog: { source: SlowPhase[]; target: SlowPhase[] };
  /** The dashboard's migration settings (from GET /topom `config`), as `key = value`. */
  settings: string[];
  bigKey?: BigKeyRun;
}

/** The `--bigkey-fields` hash: where it was and when it moved (polled directly on both servers). */
export interface BigKeyRun {
  key: string;
  slot: number;
  fields: number;
  /** Time to write it into group 1. */
  loadMs: number;
  pollMs: number;
  /** First poll that saw fields of it on the target (the mover's temporary key, or the key itself). */
  startedAt?: number;
  /** The poll before that one: the move started between the two. */
  startedAfter?: number;
  /** First poll where the source no longer had it. */
  goneAt?: number;
  /** Fields seen on the target at the last poll (temporary key or key). */
  copied: number;
  /** At the end: fields on the target, whether the source still has it, leftover temporary key. */
  targetFields?: number;
  sourceExists?: number;
  tmpExists?: number;
}

/** The temporary key BigKeyMover copies into on the target (src/topom/migration/BigKeyMover.ts). */
const bigTmp = (key: string): string => `__codis_migrating__:${key}`;

/** Polls HLEN of the big hash (and of its temporary copy) on both servers until it left the source. */
function watchBigKey(b: BigKeyRun, source: number, target: number): { stop: () => Promise<void> } {
  let stopped = false;
  const done = (async () => {
    const [src, dst] = await Promise.all([
      RespConn.open('127.0.0.1', source),
      RespConn.open('127.0.0.1', target),
    ]);
    let prev = wallMs();
    try {
      while (!stopped && b.goneAt === undefined) {
        const t = wallMs();
        try {
          const [[tmpLen, keyLen], [srcLen]] = await Promise.all([
            dst.pipeline([
              ['HLEN', bigTmp(b.key)],
              ['HLEN', b.key],
            ]),
            src.pipeline([['HLEN', b.key]]),
          ]);
          const copied = Math.max(Number(tmpLen) || 0, Number(keyLen) || 0);
          b.copied = copied;
          if (copied > 0 && b.startedAt === undefined) [b.startedAt, b.startedAfter] = [t, prev];
          if (srcLen === 0) b.goneAt = t;
        } catch (e) {
          log(`  big key poll failed: ${(e as Error).message}`);
        }
        prev = t;
        await sleep(b.pollMs);
      }
    } finally {
      src.close();
      dst.close();
    }
  })();
  done.catch((e: unknown) => log(`bench: big key watcher: ${(e as Error).message}`));
  return {
    stop: async () => {
      stopped = true;
      await done.catch(() => undefined);
    },
  };
}

export interface Verification {
  source: Placement;
  target: Placement;
  /** Slots of the range not mapped to group 2, and slots past it not on group 1. */
  misrouted: number[];
  hitRate: number;
}

/** The big hash is complete on the target, gone from the source, no temporary key left. */
export function bigKeyVerified(b: BigKeyRun | undefined): boolean {
  return !b || (b.targetFields === b.fields && b.sourceExists === 0 && b.tmpExists === 0);
}

const SOURCE = 1;
const TARGET = 2;
const PRODUCT = 'codis-bench-migration';
const log = (s: string): void => void process.stderr.write(s + '\n');

interface Running<T> {
  done: Promise<T>;
  worker: Worker;
}

function startWorker<T>(file: string, data: object): Running<T> {
  const worker = new Worker(new URL(file, import.meta.url), { workerData: data });
  const done = new Promise<T>((resolve, reject) => {
    worker.once('message', (m: T) => resolve(m));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`${file} exited (${code}) without a report`)));
  });
  done.catch(() => undefined); // awaited later; a failure must not be unhandled meanwhile
  return { done, worker };
}

async function collect<T>(r: Running<T> | undefined, what: string): Promise<T | undefined> {
  if (!r) return undefined;
  const timeout = sleep(30_000).then(() => {
    throw new Error(`${what} did not report within 30 s of the stop`);
  });
  try {
    return await Promise.race([r.done, timeout]);
  } catch (e) {
    log(`bench: ${(e as Error).message}`);
    return undefined;
  } finally {
    await r.worker.terminate();
  }
}

export interface DashboardCounters {
  keysMoved?: number;
  bytesMoved?: number;
  longestStallMs?: number;
}

/** Folds the numeric counters of `slot_action.progress` into `c` (keeping the highest). */
function noteCounters(c: DashboardCounters, slotAction: Record<string, unknown> | undefined): void {
  const p = (slotAction?.progress ?? {}) as Record<string, unknown>;
  const fold = (k: keyof DashboardCounters, v: unknown): void => {
    if (typeof v === 'number' && Number.isFinite(v)) c[k] = Math.max(c[k] ?? 0, v);
  };
  fold('keysMoved', p.keys_moved);
  fold('bytesMoved', p.bytes_moved);
  fold('longestStallMs', p.longest_stall_ms);
}

/** The executor's one-line status (`slot_action.progress.status`), '' when none. */
function statusOf(st: DashboardStats): string {
  const status = (st.slot_action?.progress as { status?: unknown } | undefined)?.status;
  return typeof status === 'string' ? status : '';
}

function inRange(st: DashboardStats, slots: number) {
  const range = st.slots.filter((s) => s.id < slots);
  const done = range.filter((s) => !s.action.state && s.group_id === TARGET).length;
  const pending = range.filter((s) => s.action.state === 'pending').length;
  return { range, done, pending, active: range.length - done - pending };
}

/** Polls until every slot of the range is on the target with no action, or gives up. */
async function watchMigration(
  d: Dashboard,
  target: RespConn,
  o: MigrationOptions,
  run: MigrationRun,
  queued: number,
): Promise<void> {
  let lastChange = queued;
  let lastKey = '';
  let lastLog = 0;
  let prevKeys = 0;
  for (;;) {
    await sleep(250);
    let st: DashboardStats;
    let targetKeys: number;
    try {
      [st, targetKeys] = await Promise.all([d.stats(), dbsize(target)]);
    } catch (e) {
      // A slow answer is no reason to stop; a dashboard gone for good ends as "stuck".
      log(`  migration: poll failed: ${(e as Error).message}`);
      if (wallMs() - lastChange > o.stuckTimeoutMs) throw e;
      continue;
    }
    const now = wallMs();
    const status = statusOf(st);
    const { range, done, pending, active } = inRange(st, o.slots);
    run.progress.push({ t: now, done, active, pending, targetKeys });
    noteCounters(run.dashboard, st.slot_action);
    if (pending < range.length && run.firstActive === undefined) run.firstActive = now;
    if (targetKeys > prevKeys) {
      run.firstKeyMoved ??= now;
      run.lastKeyMoved = now;
    }
    prevKeys = targetKeys;
    const key =
      `${done}/${pending}/${active}/${targetKeys}/${run.bigKey?.copied ?? ''}/` +
      `${range.map((s) => s.action.state ?? '').join()}`;
    if (key !== lastKey) [lastKey, lastChange] = [key, now];
    if (now - lastLog >= 2000 || done === o.slots) {
      lastLog = now;
      log(
        `  migration +${((now - queued) / 1000).toFixed(1)} s: ${done}/${o.slots} slots done, ` +
          `${active} active, ${pending} pending; target keys ${targetKeys.toLocaleString('en-US')}/` +
          `${run.expectedMoved.toLocaleString('en-US')}` +
          `${run.bigKey ? `; big hash ${run.bigKey.goneAt ? 'moved' : `${run.bigKey.copied.toLocaleString('en-US')} fields on the target`}` : ''}` +
          `${status ? `; dashboard: ${status}` : ''}`,
      );
    }
    if (done === o.slots) return;
    if (run.firstActive === undefined && now - queued > o.pendingTimeoutMs) {
      const why = status.startsWith('[ERROR]') ? 'failing' : 'missing';
      run.failure =
        `migration executor ${why}: all ${o.slots} slot actions still pending ` +
        `${((now - queued) / 1000).toFixed(0)} s after create-range (slot_action: ` +
        `${JSON.stringify(st.slot_action)})`;
      return;
    }
    if (now - lastChange > o.stuckTimeoutMs) {
      run.failure =
        `migration stuck: nothing changed for ${(o.stuckTimeoutMs / 1000).toFixed(0)} s ` +
        `(${done}/${o.slots} done, ${active} active, ${pending} pending, target keys ${targetKeys}; ` +
        `slot_action: ${JSON.stringify(st.slot_action)})`;
      return;
    }
  }
}

async function verify(
  d: Dashboard,
  source: Managed,
  target: Managed,
  proxy: ProxyProc,
  o: MigrationOptions,
): Promise<Verification> {
  const st = await d.stats();
  const misrouted = st.slots
    .filter((s) => s.action.state || s.group_id !== (s.id < o.slots ? TARGET : SOURCE))
    .map((s) => s.id);
  const [src, dst, hitRate] = await Promise.all([
    scanPlacement(source.port, o.slots),
    scanPlacement(target.port, o.slots),
    proxyHitRate(proxy.port, o.keys, o.valueBytes),
  ]);
  return { source: src, target: dst, misrouted, hitRate };
}

/** True when every key is where its slot says, and none is missing. */
export function verified(
  v: Verification,
  o: MigrationOptions,
  expectedMoved: number,
  bigKey?: BigKeyRun,
): boolean {
  return (
    bigKeyVerified(bigKey) &&
    v.misrouted.length === 0 &&
    v.source.inRange === 0 &&
    v.target.inRange === v.target.keys &&
    v.target.keys === expectedMoved + (bigKey ? 1 : 0) &&
    v.source.keys === o.keys - expectedMoved &&
    v.hitRate === 1
  );
}

async function migrationSettings(d: Dashboard): Promise<string[]> {
  try {
    const { config } = await d.call<{ config?: Record<string, unknown> }>('GET', '/topom');
    return Object.entries(config ?? {})
      .filter(([k]) => /migrat|slot|big_?key|rate|batch/i.test(k))
      .map(([k, v]) => `${k} = ${JSON.stringify(v)}`);
  } catch (e) {
    return [`(GET /topom failed: ${(e as Error).message})`];
  }
}

export async function runMigration(o: MigrationOptions): Promise<MigrationRun> {
  const servers: Managed[] = [];
  let dashboard: Dashboard | undefined;
  let proxy: ProxyProc | undefined;
  let load: Running<LoadReport> | undefined;
  let stall: Running<StallReport> | undefined;
  const conns: RespConn[] = [];
  const clock = new PhaseClock();
  const run: MigrationRun = {
    bounds: [],
    expectedMoved: 0,
    progress: [],
    dashboard: {},
    proxyProcs: 'proxy_max_procs = 0: one process on a 2-core machine, cores − 1 workers elsewhere',
    settings: [],
    slowlog: { source: [], target: [] },
  };
  try {
    log('starting 2 redis-servers, codis-dashboard (filesystem coordinator) and codis-proxy');
    servers.push(await startRedis(), await startRedis());
    const [source, target] = servers as [Managed, Managed];
    dashboard = await startDashboard(PRODUCT, o.dashboardConf);
    await createGroups(
      dashboard,
      servers.map((s) => s.addr),
    );
    proxy = await startProxy([], { dashboard: dashboard.addr, product: PRODUCT });
    await waitProxyOnline(dashboard, proxy.admin);
    await assignAllTo(dashboard, SOURCE);

    const t0 = performance.now();
    log(`loading ${o.keys.toLocaleString('en-US')} keys (${o.valueBytes}-byte values) into group ${SOURCE}`);
    await preloadDirect(source.port, o.keys, o.valueBytes);
    const srcConn = await RespConn.open('127.0.0.1', source.port);
    const dstConn = await RespConn.open('127.0.0.1', target.port);
    conns.push(srcConn, dstConn);
    /** Starts `phase`: workers switch at once; the servers' slow logs are read for the phase that ended. */
    const boundary = async (phase: number): Promise<void> => {
      clock.set(phase);
      run.bounds.push(wallMs());
      if (phase === 1) {
        await Promise.all([srcConn, dstConn].map(startSlowlog));
        return;
      }
      const [a, b] = await Promise.all([srcConn, dstConn].map(takeSlowlog));
      run.slowlog.source.push(a!);
      run.slowlog.target.push(b!);
    };
    const loaded = await dbsize(srcConn);
    if (loaded !== o.keys) throw new Error(`group ${SOURCE} holds ${loaded} keys after loading ${o.keys}`);
    run.expectedMoved = keysInSlots(o.keys, o.slots);
    const hits = await proxyHitRate(proxy.port, o.keys, o.valueBytes);
    if (hits !== 1)
      throw new Error(`only ${(hits * 100).toFixed(1)}% of GETs through the proxy hit after loading`);
    log(
      `loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s; slots 0..${o.slots - 1} hold ` +
        `${run.expectedMoved.toLocaleString('en-US')} keys`,
    );
    if (o.bigkeyFields > 0) {
      const { key, slot } = bigKeyName(o.slots);
      const t1 = performance.now();
      log(
        `writing hash ${key} (slot ${slot}) with ${o.bigkeyFields.toLocaleString('en-US')} fields into group ${SOURCE}`,
      );
      await preloadHash(source.port, key, o.bigkeyFields);
      run.bigKey = {
        key,
        slot,
        fields: o.bigkeyFields,
        loadMs: performance.now() - t1,
        pollMs: 50,
        copied: 0,
      };
      log(`  written in ${(run.bigKey.loadMs / 1000).toFixed(1)} s`);
    }

    stall = startWorker<StallReport>('./stallWorker.js', {
      targets: [
        { name: 'source', host: '127.0.0.1', port: source.port },
        { name: 'target', host: '127.0.0.1', port: target.port },
      ],
      intervalMs: 10,
      timeoutMs: 60_000,
      phase: clock.buffer,
    });
    load = startWorker<LoadReport>('./loadWorker.js', {
      host: '127.0.0.1',
      port: proxy.port,
      clients: o.clients,
      keys: o.keys,
      valueBytes: o.valueBytes,
      rate: o.loadRate,
      timeoutMs: 30_000,
      phase: clock.buffer,
    });
    const pacing = o.loadRate > 0 ? `paced to ${o.loadRate} requests/s in all` : 'closed loop';
    log(
      `${o.clients} clients GET/SET 50/50 through the proxy (${pacing}): 2 s warm-up, then ${o.phaseSecs} s before`,
    );
    await sleep(2000);
    await boundary(1);
    await sleep(o.phaseSecs * 1000);

    await boundary(2);
    log(`queueing create-range 0..${o.slots - 1} -> group ${TARGET}`);
    const bigWatch = run.bigKey && watchBigKey(run.bigKey, source.port, target.port);
    await dashboard.call('PUT', `/api/topom/slots/action/create-range/:xauth/0/${o.slots - 1}/${TARGET}`);
    try {
      await watchMigration(dashboard, dstConn, o, run, run.bounds[1]!);
    } finally {
      await bigWatch?.stop();
    }
    await boundary(3);
    if (run.failure) {
      log(`bench: ${run.failure}`);
    } else {
      const secs = (run.bounds[2]! - run.bounds[1]!) / 1000;
      log(`migration done in ${secs.toFixed(1)} s; ${o.phaseSecs} s after`);
      await sleep(o.phaseSecs * 1000);
    }
    await boundary(STOP);
    run.settings = await migrationSettings(dashboard);
    [run.load, run.stall] = await Promise.all([collect(load, 'load worker'), collect(stall, 'stall prober')]);
    const slow = run.load?.slow ?? [];
    if (slow.length > 0) {
      const at = (t: number) =>
        `${t >= run.bounds[1]! ? '+' : '−'}${(Math.abs(t - run.bounds[1]!) / 1000).toFixed(2)} s`;
      log(
        `requests over 50 ms (first ${slow.length}; time from the start of the migration, slot of the key):`,
      );
      for (const r of slow.slice(0, 40)) log(`  ${at(r.t)}  ${r.ms.toFixed(1)} ms  slot ${r.slot}`);
    }
    if (!run.failure) {
      log('verifying: slot mappings, a full SCAN of both groups, GETs through the proxy');
      run.verify = await verify(dashboard, source, target, proxy, o);
    }
    if (run.bigKey) {
      const b = run.bigKey;
      const [[n, tmp], [ex]] = await Promise.all([
        dstConn.pipeline([
          ['HLEN', b.key],
          ['EXISTS', bigTmp(b.key)],
        ]),
        srcConn.pipeline([['EXISTS', b.key]]),
      ]);
      [b.targetFields, b.tmpExists, b.sourceExists] = [Number(n), Number(tmp), Number(ex)];
      log(
        `big hash: ${b.targetFields.toLocaleString('en-US')} fields on the target (expected ` +
          `${b.fields.toLocaleString('en-US')}), on the source: ${b.sourceExists ? 'STILL THERE' : 'gone'}`,
      );
    }
    return run;
  } finally {
    clock.set(STOP);
    await Promise.all([load?.worker.terminate(), stall?.worker.terminate()]);
    for (const c of conns) c.close();
    await proxy?.stop();
    await dashboard?.stop();
    await Promise.all(servers.map((s) => s.stop()));
  }
}
