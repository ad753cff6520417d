/** Figures and tables of the migration bench, for stdout and the Migration section of RESULTS.md. */
import { Histogram } from './histogram.js';
import { BIG_FIELD_BYTES, BIG_VALUE_BYTES } from './keys.js';
import type { MigrationOptions, MigrationRun } from './migration.js';
import { bigKeyVerified, verified } from './migration.js';
import { PHASES } from './phase.js';
import type { MachineFacts } from './results.js';
import { SLOWLOG_THRESHOLD_US } from './slowlog.js';

const KEY_BYTES = 16; // key:NNNNNNNNNNNN

const int = (v: number): string => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '-');
const fix = (v: number, d = 2): string =>
  Number.isFinite(v)
    ? v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d })
    : '-';
const secs = (ms: number): string => `${fix(ms / 1000, 1)} s`;
/** A time relative to create-range (the start of the during phase). */
const signed = (ms: number): string => `${ms >= 0 ? '+' : '−'}${secs(Math.abs(ms))}`;

export interface Table {
  head: string[];
  rows: string[][];
  /** Columns from this index on are right-aligned figures... */
  firstFigure: number;
  /** ...except these. */
  textCols?: number[];
}

export function renderTable(t: Table, markdown: boolean): string {
  const left = (c: number): boolean => c < t.firstFigure || (t.textCols ?? []).includes(c);
  if (markdown) {
    const line = (r: string[]): string => `| ${r.join(' | ')} |`;
    const rule = t.head.map((_, c) => (left(c) ? '---' : '---:'));
    return [line(t.head), line(rule), ...t.rows.map(line)].join('\n');
  }
  const all = [t.head, ...t.rows];
  const w = t.head.map((_, c) => Math.max(...all.map((r) => r[c]!.length)));
  const fmt = (r: string[]): string =>
    r
      .map((v, c) => (left(c) ? v.padEnd(w[c]!) : v.padStart(w[c]!)))
      .join('  ')
      .trimEnd();
  return [fmt(t.head), w.map((n) => '-'.repeat(n)).join('  '), ...t.rows.map(fmt)].join('\n');
}

function loadTable(run: MigrationRun): Table {
  const head = ['phase', 'seconds', 'requests', 'ops/s', 'worst 1 s', 'p50 ms', 'p99 ms', 'p99.9 ms'];
  head.push('max ms', 'errors', 'GET misses');
  const rows = PHASES.slice(1).flatMap((name, i) => {
    const p = run.load?.phases[i + 1];
    const [beg, end] = [run.bounds[i], run.bounds[i + 1]];
    // A failed migration skips the after phase: its few milliseconds are no figure.
    if (!p || beg === undefined || end === undefined || p.ops === 0 || end - beg < 1000) return [];
    const h = Histogram.from(p.latency).summary();
    const whole = (run.load?.seconds ?? []).filter((s) => s.t >= beg && s.t + 1000 <= end);
    const worst = whole.length ? Math.min(...whole.map((s) => s.ops)) : NaN;
    const ms = end - beg;
    return [
      [name, fix(ms / 1000, 1), int(p.ops), int(p.ops / (ms / 1000)), int(worst), fix(h.p50, 3)].concat([
        fix(h.p99, 3),
        fix(h.p999, 3),
        fix(h.max, 1),
        int(p.errors),
        int(p.misses),
      ]),
    ];
  });
  return { head, rows, firstFigure: 1 };
}

function slowTable(run: MigrationRun): Table {
  const rows: string[][] = [];
  for (const [server, phases] of Object.entries(run.slowlog))
    phases.forEach((p, i) => {
      const name = PHASES[i + 1]!;
      const names = Object.entries(p.byName)
        .sort((a, b) => b[1].count - a[1].count)
        .slice(0, 4)
        .map(([n, c]) => `${n} ×${int(c.count)} ≤${fix(c.maxMs, 1)}`);
      rows.push([server, name, int(p.count), fix(p.totalMs, 1), fix(p.longestMs, 1), p.longestCommand]);
      rows[rows.length - 1]!.push(names.join(', ') || '-');
    });
  const head = ['server', 'phase', 'commands > 1 ms', 'their total ms', 'longest ms', 'longest command'];
  head.push('most frequent (count, max ms)');
  return { head, rows, firstFigure: 2, textCols: [5, 6] };
}

function stallTable(run: MigrationRun): Table {
  const rows: string[][] = [];
  for (const [server, phases] of Object.entries(run.stall?.targets ?? {})) {
    PHASES.slice(1).forEach((name, i) => {
      const p = phases[i + 1];
      if (!p || p.rtt.count === 0) return;
      const h = Histogram.from(p.rtt).summary();
      const at = Number.isFinite(p.maxAt) ? signed(p.maxAt - run.bounds[1]!) : '-';
      rows.push([
        server,
        name,
        int(h.count),
        fix(h.p50, 3),
        fix(h.p99, 3),
        fix(h.max, 1),
        at,
        int(p.failures),
      ]);
    });
  }
  PHASES.slice(1).forEach((name, i) => {
    const lag = run.stall?.timerLag[i + 1];
    if (!lag || lag.count === 0) return;
    const h = Histogram.from(lag).summary();
    rows.push([
      '(prober timer lag)',
      name,
      int(h.count),
      fix(h.p50, 3),
      fix(h.p99, 3),
      fix(h.max, 1),
      '',
      '',
    ]);
  });
  const head = ['server', 'phase', 'PINGs', 'p50 ms', 'p99 ms', 'max ms', 'max at', 'failed'];
  return { head, rows, firstFigure: 2 };
}

export interface MigrationFigures {
  durationMs: number;
  keysPerSec: number;
  mb: number;
  mbPerSec: number;
  bytesFrom: string;
  peakKeysPerSec: number;
  /** Longest PING wait on the source while migrating. */
  longestPingMs: number;
}

export function figures(run: MigrationRun, o: MigrationOptions): MigrationFigures {
  const durationMs = run.bounds[2]! - run.bounds[1]!;
  const d = run.dashboard;
  let bytes = run.expectedMoved * (KEY_BYTES + o.valueBytes);
  let bytesFrom = `estimate: keys × (${KEY_BYTES}-byte key + ${o.valueBytes}-byte value)`;
  // The big hash's fields and values (what the dashboard counts for it), apart from the small keys.
  const big = run.bigKey ? run.bigKey.fields * (BIG_FIELD_BYTES + BIG_VALUE_BYTES) : 0;
  const smallKeysMoved = (d.keysMoved ?? 0) - (run.bigKey ? 1 : 0);
  if (d.bytesMoved && smallKeysMoved > 0 && d.bytesMoved > big) {
    // The dashboard counts what its MIGRATEs carried; keys the proxies moved on access are not in it.
    const per = (d.bytesMoved - big) / smallKeysMoved;
    bytes = per * run.expectedMoved;
    bytesFrom =
      `dashboard: ${fix((d.bytesMoved - big) / 1e6, 1)} MB in ${int(smallKeysMoved)} keys it moved itself ` +
      `(${int(per)} B/key), scaled to all ${int(run.expectedMoved)} keys`;
  }
  if (big) {
    bytes += big;
    bytesFrom += `; plus the big hash: ${fix(big / 1e6, 1)} MB of fields and values`;
  }
  let peak = 0;
  const pts = run.progress;
  for (let i = 0, j = 0; j < pts.length; j++) {
    while (pts[j]!.t - pts[i]!.t > 1500) i++;
    const dt = pts[j]!.t - pts[i]!.t;
    if (dt >= 900) peak = Math.max(peak, ((pts[j]!.targetKeys - pts[i]!.targetKeys) * 1000) / dt);
  }
  const src = run.stall?.targets.source?.[2];
  return {
    durationMs,
    keysPerSec: run.expectedMoved / (durationMs / 1000),
    mb: bytes / 1e6,
    mbPerSec: bytes / 1e6 / (durationMs / 1000),
    bytesFrom,
    peakKeysPerSec: peak,
    longestPingMs: src ? Histogram.from(src.rtt).summary().max : NaN,
  };
}

/** When a quarter, half, ... of the slots were done, and in how many polled steps they finished. */
function slotsDone(run: MigrationRun, o: MigrationOptions, rel: (t: number | undefined) => string): string {
  const pts = run.progress;
  const at = [0.25, 0.5, 0.75, 1].map((q) => {
    const t = pts.find((p) => p.done >= Math.ceil(q * o.slots))?.t;
    return `${q * 100}% ${rel(t)}`;
  });
  const steps = pts.filter((p, i) => p.done > (i > 0 ? pts[i - 1]!.done : 0)).length;
  return `${at.join(', ')} (finished in ${steps} steps as seen by 250 ms polls)`;
}

function migrationTable(run: MigrationRun, o: MigrationOptions, f: MigrationFigures): Table {
  const rel = (t: number | undefined): string => (t === undefined ? '-' : signed(t - run.bounds[1]!));
  const rows: string[][] = [
    ['slots moved', `${o.slots} (0..${o.slots - 1}), group 1 → group 2, one create-range`],
    ['keys moved', `${int(run.expectedMoved)} of ${int(o.keys)} (${o.valueBytes}-byte values)`],
    [
      'duration',
      run.failure
        ? `did not complete: gave up after ${secs(f.durationMs)}`
        : `${secs(f.durationMs)} from create-range to the last slot without action`,
    ],
    ['first slot left pending', rel(run.firstActive)],
    ['keys arriving on the target', `${rel(run.firstKeyMoved)} .. ${rel(run.lastKeyMoved)}`],
    [
      'speed',
      run.failure ? '-' : `${int(f.keysPerSec)} keys/s, ${fix(f.mbPerSec)} MB/s (${fix(f.mb, 1)} MB)`,
    ],
    ['bytes from', f.bytesFrom],
    ['slots done', slotsDone(run, o, rel)],
    ['peak 1 s rate', `${int(f.peakKeysPerSec)} keys/s (target DBSIZE polled every 250 ms)`],
  ];
  const slow = run.slowlog.source[1];
  if (slow)
    rows.push([
      'longest source stall',
      `${fix(slow.longestMs, 1)} ms: ${slow.longestCommand} (source SLOWLOG while migrating)`,
    ]);
  rows.push([
    'longest source PING wait',
    `${fix(f.longestPingMs, 1)} ms (client side, includes scheduling noise: see the prober timer lag)`,
  ]);
  const d = run.failure ? {} : run.dashboard;
  if (d.longestStallMs !== undefined)
    rows.push([
      'dashboard: longest MIGRATE',
      `${fix(d.longestStallMs, 1)} ms (longest_stall_ms of its progress)`,
    ]);
  if (d.keysMoved !== undefined)
    rows.push([
      'dashboard: keys it moved',
      `${int(d.keysMoved)} (the proxies moved the others on access, before forwarding)`,
    ]);
  return { head: ['migration', ''], rows, firstFigure: 2 };
}

function verifyLines(run: MigrationRun, o: MigrationOptions): string[] {
  const v = run.verify;
  if (!v) return [run.failure ? 'not verified: the migration did not complete' : 'not verified'];
  const ok = verified(v, o, run.expectedMoved, run.bigKey);
  const b = run.bigKey;
  return [
    `${ok ? 'OK' : 'FAILED'}: group 1 holds ${int(v.source.keys)} keys (expected ${int(o.keys - run.expectedMoved)}, ` +
      `${int(v.source.inRange)} of them in slots 0..${o.slots - 1}); group 2 holds ${int(v.target.keys)} ` +
      `(expected ${int(run.expectedMoved + (b ? 1 : 0))}${b ? ' with the big hash' : ''}, ` +
      `${int(v.target.keys - v.target.inRange)} outside the range)`,
    `slot mappings not as expected: ${v.misrouted.length ? v.misrouted.slice(0, 20).join(', ') : 'none'}`,
    `GETs through the proxy after the run: ${fix(v.hitRate * 100, 1)}% hit`,
  ];
}

/** Requests slower than `ms` in a histogram (to its 0.5% bucket precision). */
function countOver(h: Histogram, ms: number): number {
  let n = 0;
  for (let i = 1; i < h.counts.length; i++) if (1.005 ** (i - 1) >= ms * 1000) n += h.counts[i]!;
  return n;
}

/** Issue 4's bound: no request to other keys waits longer than this while a big key moves. */
export const BIGKEY_BOUND_MS = 50;

function bigKeyTable(run: MigrationRun): Table | undefined {
  const b = run.bigKey;
  if (!b) return undefined;
  const rel = (t: number | undefined): string => (t === undefined ? '-' : signed(t - run.bounds[1]!));
  const moveMs = b.startedAt !== undefined && b.goneAt !== undefined ? b.goneAt - b.startedAt : NaN;
  const during = run.load?.phases[2];
  const h = during ? Histogram.from(during.latency) : undefined;
  const s = h?.summary();
  // Whole seconds of the load that overlap the move (a second is counted by when its requests ended).
  const window =
    b.startedAfter !== undefined && b.goneAt !== undefined
      ? (run.load?.seconds ?? []).filter((x) => x.t + 1000 > b.startedAfter! && x.t <= b.goneAt!)
      : [];
  const windowMax = window.length ? Math.max(...window.map((x) => x.maxMs)) : NaN;
  const windowOps = window.reduce((a, x) => a + x.ops, 0);
  const src = run.slowlog.source[1];
  const dst = run.slowlog.target[1];
  const before = run.load?.phases[1] && Histogram.from(run.load.phases[1].latency);
  const over = h ? countOver(h, BIGKEY_BOUND_MS) : NaN;
  const rows: string[][] = [
    [
      'hash',
      `\`${b.key}\` (slot ${b.slot}): ${int(b.fields)} fields (${BIG_FIELD_BYTES}-byte fields, ` +
        `${BIG_VALUE_BYTES}-byte values), written straight into group 1 in ${secs(b.loadMs)} (HSET of 1,000 fields, 20 per round trip)`,
    ],
    [
      'time to move it',
      Number.isFinite(moveMs)
        ? `${secs(moveMs)}: first fields on the target at ${rel(b.startedAt)} (the move began after ${rel(b.startedAfter)}), ` +
          `gone from the source at ${rel(b.goneAt)}; HLEN polled every ${b.pollMs} ms`
        : `not seen to complete (first fields on the target ${rel(b.startedAt)}, gone from the source ${rel(b.goneAt)})`,
    ],
    ['copy rate', Number.isFinite(moveMs) ? `${int(b.fields / (moveMs / 1000))} fields/s` : '-'],
    [
      'other clients, whole migration',
      s
        ? `p99.9 ${fix(s.p999, 3)} ms, max ${fix(s.max, 1)} ms over ${int(s.count)} requests; ` +
          `${int(over)} over ${BIGKEY_BOUND_MS} ms` +
          (before
            ? ` (before the migration: p99.9 ${fix(before.summary().p999, 3)} ms, max ${fix(before.summary().max, 1)} ms, ` +
              `${int(countOver(before, BIGKEY_BOUND_MS))} over ${BIGKEY_BOUND_MS} ms)`
            : '')
        : '-',
    ],
    [
      'other clients, while the hash moved',
      window.length
        ? `max ${fix(windowMax, 1)} ms over ${int(windowOps)} requests in the ${window.length} whole seconds overlapping the move ` +
          `(${int(windowOps / window.length)} ops/s)`
        : '-',
    ],
    [
      'longest source stall',
      src ? `${fix(src.longestMs, 1)} ms: ${src.longestCommand} (source SLOWLOG while migrating)` : '-',
    ],
    [
      'longest target stall',
      dst ? `${fix(dst.longestMs, 1)} ms: ${dst.longestCommand} (target SLOWLOG while migrating)` : '-',
    ],
    [
      `issue 4 bound (${BIGKEY_BOUND_MS} ms)`,
      !s
        ? '-'
        : s.max <= BIGKEY_BOUND_MS
          ? `met: no request to other keys waited more than ${BIGKEY_BOUND_MS} ms (max ${fix(s.max, 1)} ms)`
          : `NOT MET: ${int(over)} request(s) to other keys waited more than ${BIGKEY_BOUND_MS} ms, the longest ` +
            `${fix(s.max, 1)} ms (see the SLOWLOG table for what ran on the servers)`,
    ],
    [
      'verification',
      b.targetFields === undefined
        ? 'not checked'
        : `${bigKeyVerified(b) ? 'OK' : 'FAILED'}: target HLEN ${int(b.targetFields)} (expected ${int(b.fields)}), ` +
          `source ${b.sourceExists ? 'still has it' : 'has none'}, temporary key on the target: ${b.tmpExists ? 'left over' : 'none'}`,
    ],
  ];
  return { head: ['big key', ''], rows, firstFigure: 2 };
}

export interface MigrationText {
  ok: boolean;
  text: string;
  markdown: string;
}

export function migrationReport(
  run: MigrationRun,
  o: MigrationOptions,
  facts: MachineFacts,
  command: string,
): MigrationText {
  const f = figures(run, o);
  const ok =
    !run.failure && run.verify !== undefined && verified(run.verify, o, run.expectedMoved, run.bigKey);
  const errs = run.load?.errorSamples ?? [];
  const notes = [
    (o.loadRate > 0
      ? `${o.clients} clients paced to offer ${int(o.loadRate)} requests/s together (one request in flight each; ` +
        'latency from sending to the reply)'
      : `${o.clients} closed-loop clients (one request in flight each, no pacing)`) +
      ` in a worker thread, GET/SET 50/50 ` +
      `over all ${int(o.keys)} keys through one codis-proxy (${run.proxyProcs}); requests count in the phase ` +
      'they started in; "worst 1 s" is the lowest throughput of a whole second inside the phase.',
    'Stall prober: its own connection per redis-server, PING every 10 ms from another worker thread; a PING ' +
      'waits behind any command blocking the server (MIGRATE, a big DEL). Its timer lag row bounds the noise ' +
      'of a shared machine: a max PING wait near the timer lag is noise, not a stall.',
    `Keys were written straight into group 1 (MSET, ${o.valueBytes}-byte values) while it owned every slot.`,
    ...(run.bigKey
      ? [
          `The big hash was written straight into group 1 too; the load never touches it (its clients use key:N only), ` +
            'so every latency above is of requests to other keys. While it moves, the dashboard copies it in chunks of ' +
            '`migration_async_maxbulks` fields to a temporary key on the target (polled with HLEN), RENAMEs it and UNLINKs the source copy.',
        ]
      : []),
    'Every process (2 redis-servers, dashboard, proxy workers, the bench) shares the same cores; figures are ' +
      'from one run on a shared machine.',
    `Dashboard settings: ${run.settings.join(', ') || 'unknown'}.`,
    ...(run.load?.reconnects ? [`load clients reconnected ${run.load.reconnects} time(s)`] : []),
    ...(errs.length ? [`client errors: ${errs.join('; ')}`] : []),
  ];
  const big = bigKeyTable(run);
  const tables = [
    loadTable(run),
    migrationTable(run, o, f),
    ...(big ? [big] : []),
    slowTable(run),
    stallTable(run),
  ];
  const titles = [
    'Client load through the proxy',
    'Migration',
    ...(big ? ['Big key'] : []),
    `Slow commands on the servers (SLOWLOG, over ${SLOWLOG_THRESHOLD_US / 1000} ms)`,
    'Source and target responsiveness (direct PING every 10 ms)',
  ];
  const text = [
    ...(run.failure ? [`MIGRATION FAILED: ${run.failure}`, ''] : []),
    ...tables.flatMap((t, i) => [titles[i]!, renderTable(t, false), '']),
    'verification:',
    ...verifyLines(run, o).map((l) => `  ${l}`),
    '',
    `load average (1 min): ${facts.load} (shared machine)`,
    '',
  ].join('\n');
  const markdown = [
    '## Migration',
    '',
    `Generated by \`bench/migration.ts\` (\`npm run bench -- migration --write\`); do not edit by hand.`,
    '',
    `| | |\n| --- | --- |\n| date | ${facts.date} |\n| machine | ${facts.cpu}, ${facts.cores} cores, ` +
      `load average (1 min) ${facts.load} |\n| versions | node ${facts.node}; ${facts.redis}; codis-ts ${facts.git} |`,
    '',
    '```',
    command,
    '```',
    '',
    ...(run.failure ? [`**MIGRATION FAILED**: ${run.failure}`, ''] : []),
    ...tables.flatMap((t, i) => [`### ${titles[i]}`, '', renderTable(t, true), '']),
    '### Verification',
    '',
    ...verifyLines(run, o).map((l) => `- ${l}`),
    '',
    '### Notes',
    '',
    ...notes.map((n) => `- ${n}`),
    '',
  ].join('\n');
  return {
    ok,
    text: text + (notes.length ? `\nnotes:\n${notes.map((n) => `  - ${n}`).join('\n')}\n` : ''),
    markdown,
  };
}
