/** A background task run again and again: never two rounds at once, stoppable, errors reported. */
export class Loop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  /**
   * `round` returns the delay before the next round in ms (or undefined for `periodMs`); a failed
   * round is reported to `onError` and retried after `errorDelayMs`.
   */
  constructor(
    private readonly round: () => Promise<number | void>,
    private readonly periodMs: number,
    private readonly onError: (e: unknown) => void,
    private readonly errorDelayMs = periodMs,
  ) {}

  start(delayMs = 0): this {
    this.stopped = false;
    this.schedule(delayMs);
    return this;
  }

  /** Runs a round now (if none is running) instead of waiting for the timer. */
  kick(): void {
    if (this.stopped || this.running) return;
    clearTimeout(this.timer);
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => (this.running = undefined));
    }, ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    let next = this.periodMs;
    try {
      const d = await this.round();
      if (typeof d === 'number') next = d;
    } catch (e) {
      this.onError(e);
      next = this.errorDelayMs;
    }
    this.schedule(next);
  }

  /** Stops the timer and waits for a running round. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
