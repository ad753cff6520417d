/**
 * The bench's whole-machine CPU figures: /proc/stat read as busy milliseconds, and the report
 * columns built from them (machine µs/req, cores busy).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpuMs, machineBusyMs } from '../../bench/proc.js';
import { markdownTable, summarize, type Runs } from '../../bench/report.js';
import { WORKLOADS, type RunResult } from '../../bench/redisBenchmark.js';

test(
  'machine busy time counts at least the CPU this process burns',
  { skip: process.platform !== 'linux' },
  () => {
    const busy0 = machineBusyMs()!;
    const own0 = cpuMs(process.pid)!;
    // Spin until this process alone has used 300 ms of CPU more (ticks are 10 ms).
    let x = 0;
    while (cpuMs(process.pid)! - own0 < 300) for (let i = 0; i < 1e5; i++) x += i;
    const busy1 = machineBusyMs()!;
    assert.ok(x > 0);
    // The machine was busy at least while this process ran; other processes only add to it.
    assert.ok(busy1 - busy0 >= 250, `machine busy grew by ${busy1 - busy0} ms`);
  },
);

test('the report carries the medians of machine µs/req and cores busy, and "-" where unmeasured', () => {
  const w = WORKLOADS.find((x) => x.id === 'set-p1')!;
  const run = (rps: number, machineUs?: number, busyCores?: number): RunResult => ({
    ok: true,
    rps,
    p50: 0.3,
    p99: 0.7,
    seconds: 1,
    ...(machineUs === undefined ? {} : { machineUs, busyCores }),
  });
  const runs: Runs = new Map([
    [
      w.id,
      new Map([
        ['direct', [run(100, 20, 1.5), run(100, 24, 1.7), run(100, 22, 1.6)]],
        ['peer', [run(80), run(80), run(80)]],
      ]),
    ],
  ]);
  const rows = summarize([w], ['direct', 'peer'], runs);
  assert.equal(rows[0]!.machineUs, 22);
  assert.equal(rows[0]!.busyCores, 1.6);
  const [head, , direct, peer] = markdownTable(rows).split('\n');
  assert.match(head!, /\| machine µs\/req \| cores busy \|/);
  assert.match(direct!, /\| 22\.0 \| 1\.60 \|/);
  assert.match(peer!, /\| - \| - \|/);
});
