/**
 * MONITOR through the proxy: a monitoring client gets a line for every command this proxy
 * process receives (the worker's, with `--ncpu N`), in Redis's format:
 * `+1700000000.123456 [0 127.0.0.1:50001] "set" "k" "v"`. As in Redis, arguments are quoted
 * and escaped, passwords redacted, and admin commands (CONFIG, SLOWLOG…) left out. A monitor
 * is not shown its own commands. Nothing is built while nobody monitors.
 */
import type { RawCommand } from '../resp/RawCommand.js';
import { CmdFlag, type CommandInfo } from './commands/CommandInfo.js';
import { lookupSub } from './commands/Mapper.js';

/** A client that monitors: it is sent each line, in turn with its own replies. */
export interface MonitorClient {
  deliver(frame: Buffer): void;
}

/** The command's source, as the line names it. */
export interface CommandSource {
  readonly db: number;
  readonly remote: string;
}

export class Monitors {
  private readonly clients = new Set<MonitorClient>();
  /** Somebody monitors: checked before every command, so a plain field. */
  active = false;

  add(c: MonitorClient): void {
    this.clients.add(c);
    this.active = true;
  }

  delete(c: MonitorClient): void {
    this.clients.delete(c);
    this.active = this.clients.size > 0;
  }

  /** `info`: the command's entry, if the proxy knows the command. */
  feed(from: CommandSource & MonitorClient, cmd: RawCommand, info: CommandInfo | undefined): void {
    const args = cmd.args();
    // CONFIG GET is an admin command, CONFIG HELP is not: the subcommand decides.
    const entry =
      info?.subcommands !== undefined && args.length > 1 ? (lookupSub(info, args[1]!) ?? info) : info;
    if (entry !== undefined && (entry.flags & CmdFlag.Unmonitored) !== 0) return;
    const shown = redacted(args);
    const micros = Math.round((performance.timeOrigin + performance.now()) * 1000);
    const time = `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, '0')}`;
    const line = Buffer.from(
      `+${time} [${from.db} ${from.remote}] ${shown.map(quote).join(' ')}\r\n`,
      'latin1',
    );
    for (const c of this.clients) if (c !== from) c.deliver(line);
  }
}

const REDACTED = Buffer.from('(redacted)');

/** The arguments with passwords replaced, as Redis shows AUTH, HELLO … AUTH and MIGRATE … AUTH. */
function redacted(args: Buffer[]): Buffer[] {
  const name = args[0]!.toString('latin1').toLowerCase();
  if (name === 'auth') return [args[0]!, ...args.slice(1).map(() => REDACTED)];
  if (name !== 'hello' && name !== 'migrate') return args;
  const out = args.slice();
  for (let i = 1; i < out.length; i++) {
    const opt = out[i]!.toString('latin1').toUpperCase();
    // HELLO … AUTH user pass, MIGRATE … AUTH pass, MIGRATE … AUTH2 user pass.
    const pass = opt === 'AUTH' ? (name === 'hello' ? i + 2 : i + 1) : opt === 'AUTH2' ? i + 2 : -1;
    if (pass > 0 && pass < out.length) out[pass] = REDACTED;
  }
  return out;
}

const ESCAPES: Record<number, string> = {
  0x5c: '\\\\',
  0x22: '\\"',
  10: '\\n',
  13: '\\r',
  9: '\\t',
  7: '\\a',
  8: '\\b',
};

/** An argument as Redis's sdscatrepr writes it: in quotes, with escapes and \xHH for other bytes. */
export function quote(arg: Buffer): string {
  let out = '"';
  for (const c of arg) {
    const e = ESCAPES[c];
    if (e !== undefined) out += e;
    else if (c >= 0x20 && c <= 0x7e) out += String.fromCharCode(c);
    else out += '\\x' + c.toString(16).padStart(2, '0');
  }
  return out + '"';
}
