/**
 * The scaling bench's CPU caps: a capped process really is held to its share of a core, and
 * its cgroup goes once the process has exited. Needs root and a cpu cgroup controller.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { cpuCap } from '../../bench/cpuCap.js';
import { cpuMs } from '../../bench/proc.js';

/** Why caps cannot be made here, or undefined when they can. */
function cannotCap(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  try {
    cpuCap(0.5).remove();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

const skip = cannotCap() ?? false;

test(
  'a busy process capped at 0.2 of a core uses no more, and its cgroup goes after it',
  { skip },
  async () => {
    const cap = cpuCap(0.2);
    const child = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
    try {
      await once(child, 'spawn');
      cap.add(child.pid!);
      // The process is in the cgroup the cap made (its path ends /proc/PID/cgroup's line).
      const name = cap.dir.slice(cap.dir.lastIndexOf('/'));
      assert.match(readFileSync(`/proc/${child.pid}/cgroup`, 'utf8'), new RegExp(`${name}$`, 'm'));
      // Removing it while the process is in it fails and leaves it.
      assert.equal(cap.remove(), false);
      assert.ok(existsSync(cap.dir));

      const t0 = performance.now();
      const c0 = cpuMs(child.pid!)!;
      // Long against the 10 ms quota period and the 10 ms clock ticks /proc counts in.
      await new Promise((r) => setTimeout(r, 1500));
      const cores = (cpuMs(child.pid!)! - c0) / (performance.now() - t0);
      // Uncapped, the loop would take a whole core (less only if the machine is busy).
      assert.ok(cores <= 0.27, `the capped loop used ${cores.toFixed(2)} cores`);
    } finally {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    // The kernel may take a moment to empty the cgroup after the exit.
    for (let i = 0; i < 50 && !cap.remove(); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(existsSync(cap.dir), false);
  },
);
