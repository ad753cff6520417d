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
import type { Request } from './Request.js';
import { checkCommand, isRefusal } from './routing.js';
import { runsAtOnce, type Transaction } from './Transaction.js';

export type PauseMode = 'all' | 'write';

/** What Redis may replicate without the write flag: held by a WRITE pause too. */
const MAY_REPLICATE = new Set(['PUBLISH', 'SPUBLISH', 'PFCOUNT', 'EVAL', 'EVALSHA', 'FCALL', 'SCRIPT|FLUSH']);

/**
 * The command may write, as a WRITE pause sees it: an EVAL whose script says `no-writes` in its
 * shebang (`#!lua flags=no-writes`) does not; an EVALSHA or FCALL may, since the proxy does
 * not know the script's flags.
 */
export function mayWrite(info: CommandInfo, args: readonly Buffer[]): boolean {
  if (info.name === 'EVAL' && args.length > 1 && noWrites(args[1]!)) return false;
  return (info.flags & CmdFlag.Write) !== 0 || MAY_REPLICATE.has(info.name);
}

function noWrites(script: Buffer): boolean {
  if (script[0] !== 0x23 || script[1] !== 0x21) return false; // #!
  const end = script.indexOf(10);
  const shebang = script.toString('latin1', 2, end < 0 ? script.length : end);
  const flags = /(?:^|\s)flags=(\S*)/.exec(shebang)?.[1] ?? '';
  return flags.split(',').includes('no-writes');
}

const MAX_TIMER_MS = 2 ** 31 - 1;

export class PauseGate {
  private mode: PauseMode | null = null;
  private until = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly waiting = new Set<HeldCommands>();

  /** A pause is on: commands must be looked at (`holds`) before they run. */
  get active(): boolean {
    return this.mode !== null;
  }

  /** CLIENT PAUSE (`pause`), or UNPAUSE with a null mode. */
  set(mode: PauseMode | null, ms: number): void {
    if (mode === null) this.unpause();
    else this.pause(mode, ms);
  }

  /**
   * Pauses for `ms` from now. A pause on already may only grow, as in Redis: the later end of
   * the two, and ALL over WRITE.
   */
  private pause(mode: PauseMode, ms: number): void {
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

  private unpause(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.mode = null;
    this.until = 0;
    const resumed = [...this.waiting];
    this.waiting.clear();
    for (const p of resumed) p.resume();
  }

  /**
   * The pause covers the command, as Redis decides: one queued in MULTI (`tx`) is queued, and
   * one that Redis would refuse (arity, unknown) is answered at once.
   */
  holds(req: Request, info: CommandInfo, tx: Transaction | null): boolean {
    if (this.mode === null || (tx !== null && !runsAtOnce(info))) return false;
    const checked = checkCommand(info, req.args);
    if (isRefusal(checked)) return false;
    if (this.mode === 'all') return true;
    return mayWrite(checked, req.args) || (checked.name === 'EXEC' && tx?.writes === true);
  }

  /** `p` waits for the pause to end (resume is called once). */
  wait(p: HeldCommands): void {
    this.waiting.add(p);
  }

  /** `p` is gone (its client left while it waited). */
  forget(p: HeldCommands): void {
    this.waiting.delete(p);
  }

  close(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.waiting.clear();
  }
}

/** One client's commands held by a pause: the first the pause covered, and all it sent after. */
export class HeldCommands {
  private held: [Request, CommandInfo][] | null = null;

  /** `run` handles a command again once the pause is over. */
  constructor(
    private readonly gate: PauseGate,
    private readonly run: (req: Request, info: CommandInfo) => void,
  ) {}

  get holding(): boolean {
    return this.held !== null;
  }

  hold(req: Request, info: CommandInfo): void {
    if (this.held === null) {
      this.held = [];
      this.gate.wait(this);
    }
    this.held.push([req, info]);
  }

  resume(): void {
    const held = this.held;
    this.held = null;
    for (let i = 0; held !== null && i < held.length; i++) {
      // Paused again by a command it held (its own CLIENT PAUSE): the rest waits for that.
      if (this.held !== null) {
        (this.held as [Request, CommandInfo][]).push(...held.slice(i));
        return;
      }
      this.run(held[i]![0], held[i]![1]);
    }
  }

  /** The client is gone: nothing it sent runs. */
  drop(): void {
    this.held = null;
    this.gate.forget(this);
  }
}
