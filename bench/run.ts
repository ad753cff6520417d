/**
 * codis-ts benchmark harness: `npm run bench -- [mode] [options]`.
 * Modes are entries of MODES: `throughput` (the default), `migration` and `scaling`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeCaps } from './cpuCap.js';
import { runMigration } from './migration.js';
import { migrationReport } from './migrationReport.js';
import { fail, parseOptions, type BenchOptions } from './options.js';
import { installCleanupHooks, isStopping } from './proc.js';
import { failureLines, listBlock, markdownTable, svgChart, textTable } from './report.js';
import { load1, machineFacts, otherSections, resultsMarkdown, withSection } from './results.js';
import { runScaling, scalingMarkdown, scalingText } from './scaling.js';
import { ROOT } from './servers.js';
import type { GcTotals } from './memory.js';
import { runThroughput, type ThroughputResult } from './throughput.js';

const RESULTS = join(ROOT, 'bench/RESULTS.md');
const readResults = (): string => (existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : '');

function memoryLines(r: ThroughputResult): string[] {
  const idle =
    typeof r.idle === 'string'
      ? `idle connections: ${r.idle}`
      : `RSS growth at ${r.idle.conns} idle connections: ${r.idle.perThousandMB.toFixed(2)} MB per 1,000 ` +
        `(VmRSS ${r.idle.beforeMB.toFixed(1)} -> ${r.idle.afterMB.toFixed(1)} MB` +
        (r.idle.statsPerThousandMB === undefined
          ? ')'
          : `; admin rusage.mem says ${r.idle.statsPerThousandMB.toFixed(2)} MB per 1,000)`);
  return [
    `proxy peak RSS during the run: ${r.peakRssMB.toFixed(1)} MB (VmHWM; admin rusage.mem max ${r.peakStatsRssMB.toFixed(1)} MB)`,
    ...r.peers.map((p) =>
      Number.isFinite(p.peakRssMB)
        ? `${p.name} peak RSS during the run: ${p.peakRssMB.toFixed(1)} MB (VmHWM)`
        : `${p.name} peak RSS: not read (it had exited)`,
    ),
    gcLine(r.gc),
    idle,
  ];
}

function gcLine(g: GcTotals): string {
  if (g.ops === 0) return 'proxy garbage collection: not read';
  const per100k = (n: number): string => ((n * 100_000) / g.ops).toFixed(1);
  return (
    `proxy garbage collection over the run: ${per100k(g.num)} collections per 100,000 commands ` +
    `(${g.num} for ${g.ops.toLocaleString('en-US')}, ${g.major} of them full), ${g.pauseMs} ms of pauses ` +
    `in all (admin runtime.gc; preload included)`
  );
}

async function throughputMode(opts: BenchOptions): Promise<number> {
  const started = new Date();
  const loadAtStart = load1();
  const r = await runThroughput(opts);
  const failures = failureLines(r.rows);
  const out = [
    '',
    textTable(r.rows),
    '',
    ...memoryLines(r),
    `load average (1 min): ${loadAtStart} at start, ${load1()} at end (shared machine)`,
    ...listBlock('notes:', r.notes),
    ...listBlock(`FAILED RUNS (${failures.length}):`, failures),
    '',
  ];
  process.stdout.write(out.join('\n'));
  if (opts.write) {
    const facts = await machineFacts(started, loadAtStart);
    const md = resultsMarkdown({
      facts,
      opts,
      table: markdownTable(r.rows),
      memory: memoryLines(r),
      failures,
      notes: r.notes,
    });
    // The sections other modes wrote (Migration, Scaling) stay.
    const kept = otherSections(readResults());
    writeFileSync(RESULTS, kept ? `${md.trimEnd()}\n\n${kept}\n` : md);
    writeFileSync(
      join(ROOT, 'bench/results.svg'),
      svgChart(r.rows, `codis-proxy throughput vs direct redis (${facts.date})`),
    );
    process.stdout.write('wrote bench/RESULTS.md and bench/results.svg\n');
  }
  return 0;
}

/** Exit code: 0 when the migration completed and every key is where its slot says; 1 otherwise. */
async function migrationMode(opts: BenchOptions): Promise<number> {
  const started = new Date();
  const loadAtStart = load1();
  const run = await runMigration(opts.migration);
  const facts = await machineFacts(started, loadAtStart);
  const r = migrationReport(run, opts.migration, facts, opts.command);
  process.stdout.write('\n' + r.text);
  if (opts.write) {
    const doc = readResults() || '# codis-ts benchmark results\n';
    writeFileSync(RESULTS, withSection(doc, 'migration', r.markdown));
    process.stdout.write('wrote the Migration section of bench/RESULTS.md\n');
  }
  return r.ok ? 0 : 1;
}

/** Exit code: 0 when every run of every target succeeded. */
async function scalingMode(opts: BenchOptions): Promise<number> {
  const started = new Date();
  const loadAtStart = load1();
  const r = await runScaling({ ...opts, share: opts.coreShare });
  const failures = failureLines(r.rows);
  process.stdout.write(
    ['', scalingText(r), ...listBlock(`FAILED RUNS (${failures.length}):`, failures), ''].join('\n'),
  );
  if (opts.write) {
    const facts = await machineFacts(started, loadAtStart);
    const doc = readResults() || '# codis-ts benchmark results\n';
    writeFileSync(RESULTS, withSection(doc, 'scaling', scalingMarkdown(r, opts.command, facts)));
    writeFileSync(
      join(ROOT, 'bench/scaling.svg'),
      svgChart(r.rows, `codis-proxy throughput by worker processes (${facts.date})`),
    );
    process.stdout.write('wrote the Scaling section of bench/RESULTS.md and bench/scaling.svg\n');
  }
  return failures.length ? 1 : 0;
}

/** The extension point: a new mode is one more entry here (and in MODE_FLAGS, options.ts). */
const MODES: Record<string, (opts: BenchOptions) => Promise<number>> = {
  throughput: throughputMode,
  migration: migrationMode,
  scaling: scalingMode,
};

async function main(): Promise<void> {
  const { mode, opts } = parseOptions(process.argv.slice(2));
  const run = MODES[mode];
  if (!run) fail(`unknown mode ${JSON.stringify(mode)}`);
  installCleanupHooks();
  // After the children are killed: a cgroup goes once the processes in it have exited.
  process.on('exit', removeCaps);
  process.exitCode = await run(opts);
}

main().catch((e: unknown) => {
  if (isStopping()) return; // the signal handler exits once children are reaped
  process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
