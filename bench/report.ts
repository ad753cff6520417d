/** Medians over rounds, the stdout table, bench/RESULTS.md and the hand-written bench/results.svg. */
import { median } from './proc.js';
import type { RunFail, RunOk, RunResult, Workload } from './redisBenchmark.js';

export interface Row {
  workload: Workload;
  target: string;
  /** The target the ratios are taken against (direct redis, or one proxy process when scaling). */
  base: string;
  ok: number;
  rounds: number;
  rps: number;
  /** Median over rounds of this round's rps / the base target's rps in the same round. */
  ratio: number;
  /** The lowest and highest of those per-round ratios: how far one round can be trusted. */
  ratioMin: number;
  ratioMax: number;
  p50: number;
  p99: number;
  /** Median CPU µs per request of the target's own process (NaN when not measured). */
  cpuUs: number;
  /** Median cores the target's own process kept busy during a run (NaN when not measured). */
  cores: number;
  /** Median part of cpuUs the kernel spent (its system calls, loopback TCP included): 0..1, NaN when not measured. */
  systemShare: number;
  /** Median CPU µs per request of the whole machine, and cores it kept busy (NaN when not measured). */
  machineUs: number;
  busyCores: number;
  /** Median read/write system calls per request: the target's own process, and both redis-servers. */
  calls: number;
  serverCalls: number;
  failures: RunFail[];
}

/** runs[workload id][target][round]; undefined = skipped (after an earlier hang). */
export type Runs = Map<string, Map<string, (RunResult | undefined)[]>>;

/** The figures a run may carry beside its rps and latency. */
type Measure = 'cpuUs' | 'cores' | 'systemShare' | 'machineUs' | 'busyCores' | 'calls' | 'serverCalls';

/** The median of a measure over the runs that have it (NaN when none has). */
function measured(ok: readonly RunOk[], k: Measure): number {
  return median(ok.flatMap((r) => (r[k] === undefined ? [] : [r[k]])));
}

export function summarize(
  workloads: readonly Workload[],
  targets: readonly string[],
  runs: Runs,
  base = 'direct',
): Row[] {
  const rows: Row[] = [];
  for (const w of workloads) {
    const byTarget = runs.get(w.id);
    const baseRuns = byTarget?.get(base) ?? [];
    for (const target of targets) {
      const rs = byTarget?.get(target) ?? [];
      const ok = rs.flatMap((r) => (r?.ok ? [r] : []));
      const ratios = rs.flatMap((r, i) => {
        const d = baseRuns[i];
        return r?.ok && d?.ok ? [r.rps / d.rps] : [];
      });
      rows.push({
        workload: w,
        target,
        base,
        ok: ok.length,
        rounds: rs.length,
        rps: median(ok.map((r) => r.rps)),
        ratio: median(ratios),
        ratioMin: ratios.length ? Math.min(...ratios) : NaN,
        ratioMax: ratios.length ? Math.max(...ratios) : NaN,
        p50: median(ok.map((r) => r.p50)),
        p99: median(ok.map((r) => r.p99)),
        cpuUs: measured(ok, 'cpuUs'),
        cores: measured(ok, 'cores'),
        systemShare: measured(ok, 'systemShare'),
        machineUs: measured(ok, 'machineUs'),
        busyCores: measured(ok, 'busyCores'),
        calls: measured(ok, 'calls'),
        serverCalls: measured(ok, 'serverCalls'),
        failures: rs.flatMap((r) => (r && !r.ok ? [r] : [])),
      });
    }
  }
  return rows;
}

const num = (v: number, digits = 0): string =>
  Number.isFinite(v)
    ? v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : 'FAIL';

const head = (base: string): string[] => [
  'workload',
  'target',
  'rps (median)',
  `x ${base}`,
  'rounds range',
  'p50 ms',
  'p99 ms',
  'CPU µs/req',
  'in kernel',
  'machine µs/req',
  'cores busy',
  'r/w calls/req',
  'servers r/w calls/req',
  'ok runs',
];

const orDash = (v: number, digits: number): string => (Number.isFinite(v) ? num(v, digits) : '-');

function cells(r: Row, first: boolean): string[] {
  return [
    first ? r.workload.label : '',
    r.target,
    num(r.rps),
    r.target === r.base && Number.isFinite(r.rps) ? '1.00' : num(r.ratio, 2),
    r.target === r.base || !Number.isFinite(r.ratioMin) ? '-' : `${num(r.ratioMin, 2)}–${num(r.ratioMax, 2)}`,
    num(r.p50, 3),
    num(r.p99, 3),
    orDash(r.cpuUs, 1),
    Number.isFinite(r.systemShare) ? `${num(r.systemShare * 100)}%` : '-',
    orDash(r.machineUs, 1),
    orDash(r.busyCores, 2),
    orDash(r.calls, 2),
    orDash(r.serverCalls, 2),
    `${r.ok}/${r.rounds}`,
  ];
}

function grouped(rows: readonly Row[]): string[][] {
  return rows.map((r, i) => cells(r, i === 0 || rows[i - 1]!.workload.id !== r.workload.id));
}

/** A fixed-width table: text columns left-aligned, figures right-aligned. */
export function textTable(rows: readonly Row[]): string {
  const cols = head(rows[0]?.base ?? 'direct');
  const body = grouped(rows);
  const all = [cols, ...body];
  const widths = cols.map((_, c) => Math.max(...all.map((r) => r[c]!.length)));
  const fmt = (r: string[]): string =>
    r.map((v, c) => (c < 2 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('  ');
  return [fmt(cols), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(fmt)].join('\n');
}

export function markdownTable(rows: readonly Row[]): string {
  const cols = head(rows[0]?.base ?? 'direct');
  const line = (r: string[]): string => `| ${r.join(' | ')} |`;
  return [
    line(cols),
    `|${cols.map((_, c) => (c < 2 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...grouped(rows).map(line),
  ].join('\n');
}

/** A titled list for the text output: a blank line, the title, then the items; nothing when empty. */
export function listBlock(title: string, items: readonly string[]): string[] {
  return items.length ? ['', title, ...items.map((x) => `  - ${x}`)] : [];
}

/** Every failed run, with the command that reproduces it. */
export function failureLines(rows: readonly Row[]): string[] {
  return rows.flatMap((r) =>
    r.failures.map((f) => `${r.workload.id} on ${r.target}: ${f.error}\n    command: ${f.command}`),
  );
}

const MIN_WIDTH = 560;
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1'];

/** Grouped bars of target/base throughput per workload; the dashed line at 1.0 is the base (direct redis). */
export function svgChart(rows: readonly Row[], title: string): string {
  const workloads = [...new Map(rows.map((r) => [r.workload.id, r.workload])).values()];
  const base = rows[0]?.base ?? 'direct';
  const baseLabel = base === 'direct' ? 'direct redis' : base;
  const targets = [...new Set(rows.map((r) => r.target))].filter((t) => t !== base);
  const ratio = (w: string, t: string): number =>
    rows.find((r) => r.workload.id === w && r.target === t)?.ratio ?? NaN;
  const max = Math.max(1, ...rows.map((r) => (Number.isFinite(r.ratio) ? r.ratio : 0)));
  const step = max <= 1.5 ? 0.25 : 0.5;
  const top = Math.ceil((max * 1.08) / step) * step;
  // The right margin holds the base line's label, clear of the last group's bars.
  const [left, right, upper, plotH] = [56, 84, 64, 260];
  const barW = targets.length <= 2 ? 36 : 22;
  // Wide enough for the title and the footnote even with few workloads.
  const groupW = Math.max(96, targets.length * barW + 28, (MIN_WIDTH - left - right) / workloads.length);
  const width = left + right + workloads.length * groupW;
  const height = upper + plotH + 56;
  const y = (v: number): number => upper + plotH - (v / top) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  for (let v = 0; v <= top + 1e-9; v += step) {
    out.push(
      `<line x1="${left}" x2="${width - right}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e5e5"/>`,
      `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(2)}</text>`,
    );
  }
  out.push(
    `<text transform="translate(14 ${upper + plotH / 2}) rotate(-90)" text-anchor="middle">throughput / ${esc(baseLabel)}</text>`,
  );
  workloads.forEach((w, gi) => {
    const gx = left + gi * groupW + (groupW - targets.length * barW) / 2;
    targets.forEach((t, ti) => {
      const v = ratio(w.id, t);
      const x = gx + ti * barW;
      if (Number.isFinite(v)) {
        out.push(
          `<rect x="${x + 2}" y="${y(v)}" width="${barW - 4}" height="${y(0) - y(v)}" fill="${COLORS[ti % COLORS.length]}"><title>${esc(`${w.label} ${t}: ${v.toFixed(2)}`)}</title></rect>`,
          `<text x="${x + barW / 2}" y="${y(v) - 4}" text-anchor="middle" font-size="9">${v.toFixed(2)}</text>`,
        );
      } else {
        out.push(
          `<text x="${x + barW / 2}" y="${y(0) - 4}" text-anchor="middle" font-size="9" fill="#c00">FAIL</text>`,
        );
      }
    });
    out.push(
      `<text x="${left + gi * groupW + groupW / 2}" y="${upper + plotH + 18}" text-anchor="middle">${esc(w.label)}</text>`,
    );
  });
  out.push(
    `<line x1="${left}" x2="${width - right}" y1="${y(1)}" y2="${y(1)}" stroke="#333" stroke-dasharray="5 3"/>`,
    `<text x="${width - right + 6}" y="${y(1) + 4}">${esc(base)} = 1.00</text>`,
    `<line x1="${left}" x2="${left}" y1="${upper}" y2="${y(0)}" stroke="#333"/>`,
    `<line x1="${left}" x2="${width - right}" y1="${y(0)}" y2="${y(0)}" stroke="#333"/>`,
  );
  targets.forEach((t, ti) => {
    const x = left + ti * 120;
    out.push(
      `<rect x="${x}" y="34" width="12" height="12" fill="${COLORS[ti % COLORS.length]}"/>`,
      `<text x="${x + 16}" y="44">${esc(t)}</text>`,
    );
  });
  out.push(
    `<text x="${left}" y="${height - 12}" fill="#666">Median over rounds of per-round throughput ratio (higher is better).</text>`,
    '</svg>',
  );
  return out.join('\n') + '\n';
}
