/**
 * When to replace a dead proxy worker. One that had run a while is replaced at once: its clients
 * reconnect to a worker that is up again in a moment. One that dies soon after it was forked is
 * likely to die again the same way (a bad backend reply, a fault in its start): replacing it at
 * once, again and again, would spend the cores the other workers serve clients with and fill
 * the log. Those wait, longer after each quick death in a row.
 */
export interface RestartPolicy {
  /** A worker that lived this long (ms) died of something else: the next restart is at once. */
  readonly settledMs: number;
  /** The wait after the second quick death in a row; each further one doubles it. */
  readonly firstDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  settledMs: 5_000,
  firstDelayMs: 500,
  maxDelayMs: 16_000,
};

export class RestartBackoff {
  private readonly forkedAt: number[] = [];
  private readonly quickDeaths: number[] = [];

  constructor(private readonly policy: RestartPolicy = DEFAULT_RESTART_POLICY) {}

  /** The worker of `slot` was forked now. */
  forked(slot: number, now = Date.now()): void {
    this.forkedAt[slot] = now;
  }

  /** How long the worker of `slot` lived, and how long to wait before forking its replacement. */
  died(slot: number, now = Date.now()): { livedMs: number; delayMs: number } {
    const livedMs = now - (this.forkedAt[slot] ?? now);
    const p = this.policy;
    if (livedMs >= p.settledMs) {
      this.quickDeaths[slot] = 0;
      return { livedMs, delayMs: 0 };
    }
    const n = (this.quickDeaths[slot] ?? 0) + 1;
    this.quickDeaths[slot] = n;
    const delayMs = n === 1 ? 0 : Math.min(p.maxDelayMs, p.firstDelayMs * 2 ** (n - 2));
    return { livedMs, delayMs };
  }
}
