/**
 * Caps a process's CPU at a share of one core with a cgroup of its own: the scaling mode's way
 * to give each proxy worker "a core" on a machine that has fewer cores than workers. It takes
 * root and the kernel's cpu controller, through cgroup v2 (cpu.max) or v1 (cfs quota).
 */
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The quota's period. A short one spreads a capped worker's time evenly: with the kernel's
 * 100 ms, a worker at 0.2 cores would run 20 ms and then stall its clients for 80.
 */
export const CAP_PERIOD_US = 10_000;

interface Hierarchy {
  version: 1 | 2;
  /** Where this process's own cgroup is: new cgroups go under it. */
  dir: string;
}

/** The cgroup hierarchy that has the cpu controller, or why there is none. */
function findHierarchy(): Hierarchy | string {
  let mounts: string[];
  let own: string[];
  try {
    mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n');
    own = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  } catch {
    return 'no /proc/self/mounts or /proc/self/cgroup (not Linux?)';
  }
  // "ID:controllers:path": v1 lines list their controllers, the v2 line has none ("0::/path").
  const pathIn = (match: (controllers: string[]) => boolean): string | undefined => {
    for (const line of own) {
      const m = /^\d+:([^:]*):(.*)$/.exec(line);
      if (m && match(m[1]!.split(','))) return m[2]!;
    }
    return undefined;
  };
  for (const line of mounts) {
    const [, mountDir, type, options] = line.split(' ');
    if (type === 'cgroup' && options?.split(',').includes('cpu')) {
      const path = pathIn((c) => c.includes('cpu'));
      if (path !== undefined) return { version: 1, dir: join(mountDir!, path) };
    }
  }
  for (const line of mounts) {
    const [, mountDir, type] = line.split(' ');
    if (type !== 'cgroup2') continue;
    const path = pathIn((c) => c.length === 1 && c[0] === '');
    if (path === undefined) continue;
    const dir = join(mountDir!, path);
    try {
      if (readFileSync(join(dir, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('cpu'))
        return { version: 2, dir };
    } catch {
      // not readable: try the next mount
    }
  }
  return 'the kernel offers no cpu cgroup controller here';
}

/** One capped cgroup. */
export interface CpuCap {
  readonly dir: string;
  add(pid: number): void;
  /** Removes the cgroup: false while a process is still in it. */
  remove(): boolean;
}

const made = new Set<string>();
let seq = 0;

/**
 * A new cgroup capped at `share` of a core, or throws naming what is missing (root, the
 * controller). The bench removes it when it ends (`removeCaps`).
 */
export function cpuCap(share: number): CpuCap {
  const h = findHierarchy();
  if (typeof h === 'string') throw new Error(`cannot cap CPU: ${h}`);
  const dir = join(h.dir, `codis-bench-${process.pid}-${++seq}`);
  const quota = String(Math.max(1000, Math.round(share * CAP_PERIOD_US)));
  try {
    if (h.version === 2) {
      // The parent hands the cpu controller down. The root cgroup may, whatever it holds; another
      // that holds processes (this one, say) may not, and the error below then says so. Untested
      // here: this machine's cpu controller is on cgroup v1.
      writeFileSync(join(h.dir, 'cgroup.subtree_control'), '+cpu');
      mkdirSync(dir);
      made.add(dir);
      writeFileSync(join(dir, 'cpu.max'), `${quota} ${CAP_PERIOD_US}`);
    } else {
      mkdirSync(dir);
      made.add(dir);
      writeFileSync(join(dir, 'cpu.cfs_period_us'), String(CAP_PERIOD_US));
      writeFileSync(join(dir, 'cpu.cfs_quota_us'), quota);
    }
  } catch (e) {
    throw new Error(
      `cannot cap CPU with a cgroup under ${h.dir} (cgroup v${h.version}; root is needed): ${(e as Error).message}`,
      { cause: e },
    );
  }
  return {
    dir,
    add(pid: number): void {
      // Writing the process id moves all of its threads: V8's and libuv's too.
      writeFileSync(join(dir, 'cgroup.procs'), String(pid));
    },
    remove(): boolean {
      return removeDir(dir);
    },
  };
}

function removeDir(dir: string): boolean {
  try {
    rmdirSync(dir);
  } catch (e) {
    // EBUSY: a process in it is still exiting (the bench's exit tries again)
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return false;
  }
  made.delete(dir);
  return true;
}

/** Removes every cgroup this process made whose processes are gone (best effort, synchronous). */
export function removeCaps(): void {
  for (const dir of [...made]) removeDir(dir);
}

/** The processes in the cap's cgroup (none once it is removed). */
export function capMembers(cap: CpuCap): number[] {
  try {
    return readFileSync(join(cap.dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
