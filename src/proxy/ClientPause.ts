/**
 * CLIENT PAUSE and UNPAUSE for the proxy's clients, as Redis pauses its own: while paused, a
 * client's command that the pause covers (every command with ALL; with WRITE, the writes and
 * what Redis may replicate: PUBLISH, PFCOUNT, scripts, an EXEC of writes) waits, and so does
 * everything that client sends after it, until the timeout or UNPAUSE. Other commands run, and
 * the waiting clients count in INFO's blocked_clients. An operator can thus hold the writes of
 * every client of the product's proxies while a failover or a maintenance step runs; the servers
 * themselves are not paused.
 *
 * With `--ncpu N` every worker pauses (the primary tells them all: ProxyWorker.ts).
 */
import { CmdFlag, type CommandInfo } from './commands/CommandInfo.js';

export type PauseMode = 'all' | 'write';

/** What Redis may replicate without the write flag: held by a WRITE pause too. */
const MAY_REPLICATE = new Set([
  'PUBLISH',
  'SPUBLISH',
  'PFCOUNT',
  'EVAL',
  'EVALSHA',
  'FCALL',
  'SCRIPT|LOAD',
  'SCRIPT|FLUSH',
]);

const MAX_TIMER_MS = 2 ** 31 - 1;

/** A client whose commands wait for the pause to end. */
export interface Paused {
  resume(): void;
}

export class PauseGate {
  private mode: PauseMode | null = null;
  private until = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly waiting = new Set<Paused>();

  /** A pause is on: commands must be looked at (`holds`) before they run. */
  get active(): boolean {
    return this.mode !== null;
  }

  /**
   * Pauses for `ms` from now. A pause on already may only grow, as in Redis: the later end of
   * the two, and ALL over WRITE.
   */
  pause(mode: PauseMode, ms: number): void {
    const until = Date.now() + ms;
    this.mode = this.mode === 'all' || mode === 'all' ? 'all' : 'write';
    if (until <= this.until && this.timer !== null) return;
    this.until = until;
    this.arm();
  }

  /** Timers fire at most 2^31 - 1 ms ahead: a longer pause re-arms until its end. */
  private arm(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    const left = this.until - Date.now();
    this.timer = setTimeout(
      () => (Date.now() >= this.until ? this.unpause() : this.arm()),
      Math.min(left, MAX_TIMER_MS),
    );
  }

  unpause(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.mode = null;
    this.until = 0;
    const resumed = [...this.waiting];
    this.waiting.clear();
    for (const p of resumed) p.resume();
  }

  /** The pause covers this command; `txWrites`: it is an EXEC whose transaction writes. */
  holds(info: CommandInfo, txWrites: boolean): boolean {
    if (this.mode === null) return false;
    if (this.mode === 'all') return true;
    return (
      (info.flags & CmdFlag.Write) !== 0 || MAY_REPLICATE.has(info.name) || (info.name === 'EXEC' && txWrites)
    );
  }

  /** `p` waits for the pause to end (resume is called once). */
  wait(p: Paused): void {
    this.waiting.add(p);
  }

  /** `p` is gone (its client left while it waited). */
  forget(p: Paused): void {
    this.waiting.delete(p);
  }

  close(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.waiting.clear();
  }
}
