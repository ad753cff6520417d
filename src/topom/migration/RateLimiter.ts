/**
 * Paces migration to keys/s and bytes/s budgets: after each batch the mover asks how long to
 * wait so that the average since the start stays under both limits. 0 means unlimited.
 * Limits can change at any time (dashboard.toml values adjusted live).
 */
export interface RateLimits {
  keysPerSec: number;
  bytesPerSec: number;
}

export class RateLimiter {
  private keys = 0;
  private bytes = 0;
  private readonly started = Date.now();

  constructor(private readonly limits: () => RateLimits) {}

  /** Records a batch and returns the milliseconds to wait before the next one. */
  account(keys: number, bytes: number): number {
    this.keys += keys;
    this.bytes += bytes;
    const { keysPerSec, bytesPerSec } = this.limits();
    const elapsed = Date.now() - this.started;
    let due = 0;
    if (keysPerSec > 0) due = Math.max(due, (this.keys / keysPerSec) * 1000);
    if (bytesPerSec > 0) due = Math.max(due, (this.bytes / bytesPerSec) * 1000);
    return Math.max(0, Math.ceil(due - elapsed));
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
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
