/**
 * Paces migration to keys/s and bytes/s budgets: after each batch the mover asks how long to
 * wait. A virtual clock advances by what each batch costs under the limits; the wait is how far
 * that clock runs ahead of now. Idle time (a pause, a slow pass) is not saved up for a burst
 * later, and one limiter can be shared by every source. 0 means unlimited. Limits can change at
 * any time (dashboard.toml values adjusted live).
 */
export interface RateLimits {
  keysPerSec: number;
  bytesPerSec: number;
}

export class RateLimiter {
  private clock = 0;

  constructor(private readonly limits: () => RateLimits) {}

  /** Records a batch and returns the milliseconds to wait before the next one. */
  account(keys: number, bytes: number): number {
    const { keysPerSec, bytesPerSec } = this.limits();
    let cost = 0;
    if (keysPerSec > 0) cost = Math.max(cost, (keys / keysPerSec) * 1000);
    if (bytesPerSec > 0) cost = Math.max(cost, (bytes / bytesPerSec) * 1000);
    const now = Date.now();
    this.clock = Math.max(this.clock, now) + cost;
    return Math.max(0, Math.ceil(this.clock - now));
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
