/** Process CPU and memory, sampled once a second for stats (Codis `rusage`). */
export interface RusageJson {
  now: string;
  cpu: number;
  mem: number;
  raw: {
    utime: number;
    stime: number;
    cutime: number;
    cstime: number;
    num_threads: number;
    vm_size: number;
    vm_rss: number;
  };
}

export class Rusage {
  cpu = 0;
  mem = process.memoryUsage.rss();
  /** The largest `mem` sampled (INFO's used_memory_peak). */
  memPeak = this.mem;
  private at = new Date();
  private last = process.cpuUsage();
  private lastTime = process.hrtime.bigint();
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.timer = setInterval(() => this.sample(), 1000);
    this.timer.unref();
  }

  private sample(): void {
    const now = process.hrtime.bigint();
    const usage = process.cpuUsage();
    const spentUs = usage.user - this.last.user + (usage.system - this.last.system);
    const elapsedUs = Number(now - this.lastTime) / 1000;
    this.cpu = elapsedUs > 0 ? spentUs / elapsedUs : 0;
    this.last = usage;
    this.lastTime = now;
    this.mem = process.memoryUsage.rss();
    this.memPeak = Math.max(this.memPeak, this.mem);
    this.at = new Date();
  }

  toJson(): RusageJson {
    const u = process.resourceUsage();
    return {
      now: this.at.toISOString(),
      cpu: this.cpu,
      mem: this.mem,
      raw: {
        utime: u.userCPUTime * 1000,
        stime: u.systemCPUTime * 1000,
        cutime: 0,
        cstime: 0,
        num_threads: 1,
        vm_size: process.memoryUsage().heapTotal,
        vm_rss: this.mem,
      },
    };
  }

  close(): void {
    clearInterval(this.timer);
  }
}
