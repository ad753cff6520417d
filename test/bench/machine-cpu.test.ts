/**
 * The bench's per-request figures beside rps: whole-machine CPU from /proc/stat, read/write
 * calls from /proc/PID/io, and the report columns built from them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, writeSync } from 'node:fs';
import { cpuMs, cpuTimes, ioCalls, machineBusyMs } from '../../bench/proc.js';
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

test('read/write calls count each write this process makes', { skip: process.platform !== 'linux' }, () => {
  const fd = openSync('/dev/null', 'w');
  try {
    const calls0 = ioCalls(process.pid)!;
    for (let i = 0; i < 200; i++) writeSync(fd, 'x');
    const calls1 = ioCalls(process.pid)!;
    // Reading /proc/PID/io is itself a read or two.
    assert.ok(calls1 - calls0 >= 200 && calls1 - calls0 <= 210, `${calls1 - calls0} calls`);
  } finally {
    closeSync(fd);
  }
});

test("system time is the kernel part of a process's CPU time", { skip: process.platform !== 'linux' }, () => {
  // Spends about 300 ms of CPU in `work`; returns the system part of it.
  const kernelShare = (work: () => void): number => {
    const t0 = cpuTimes(process.pid)!;
    while (cpuMs(process.pid)! - (t0.user + t0.system) < 300) work();
    const t1 = cpuTimes(process.pid)!;
    return (t1.system - t0.system) / (t1.user + t1.system - t0.user - t0.system);
  };
  let x = 0;
  const computing = kernelShare(() => {
    for (let i = 0; i < 1e5; i++) x += i;
  });
  const fd = openSync('/dev/null', 'w');
  const buf = Buffer.alloc(1 << 20);
  let writing: number;
  try {
    writing = kernelShare(() => {
      for (let i = 0; i < 50; i++) writeSync(fd, buf);
    });
  } finally {
    closeSync(fd);
  }
  assert.ok(x > 0);
  // Reading /proc is a system call too, so neither share is 0 or 1 exactly.
  assert.ok(computing < 0.5, `pure computing spent ${(computing * 100).toFixed(0)}% in the kernel`);
  assert.ok(
    writing > computing,
    `writing ${(writing * 100).toFixed(0)}%, computing ${(computing * 100).toFixed(0)}%`,
  );
});

test('the report carries the medians of machine µs/req, cores busy and r/w calls, and "-" where unmeasured', () => {
  const w = WORKLOADS.find((x) => x.id === 'set-p1')!;
  const run = (rps: number, machineUs?: number, busyCores?: number, calls?: number): RunResult => ({
    ok: true,
    rps,
    p50: 0.3,
    p99: 0.7,
    seconds: 1,
    ...(machineUs === undefined
      ? {}
      : { machineUs, busyCores, cpuUs: machineUs / 2, systemShare: calls! / 4 }),
    ...(calls === undefined ? {} : { calls, serverCalls: calls / 4 }),
  });
  const runs: Runs = new Map([
    [
      w.id,
      new Map([
        ['direct', [run(100, 20, 1.5, 2.4), run(100, 24, 1.7, 2), run(100, 22, 1.6, 2.2)]],
        ['peer', [run(80), run(80), run(80)]],
      ]),
    ],
  ]);
  const rows = summarize([w], ['direct', 'peer'], runs);
  assert.equal(rows[0]!.machineUs, 22);
  assert.equal(rows[0]!.busyCores, 1.6);
  assert.equal(rows[0]!.calls, 2.2);
  assert.equal(rows[0]!.serverCalls, 0.55);
  assert.equal(rows[0]!.systemShare, 0.55);
  const [head, , direct, peer] = markdownTable(rows).split('\n');
  assert.match(
    head!,
    /\| CPU µs\/req \| in kernel \| machine µs\/req \| cores busy \| r\/w calls\/req \| servers r\/w calls\/req \|/,
  );
  assert.match(direct!, /\| 11\.0 \| 55% \| 22\.0 \| 1\.60 \| 2\.20 \| 0\.55 \|/);
  assert.match(peer!, /\| - \| - \| - \| - \| - \| - \|/);
});
