/**
 * Which slot a command goes to, from its command table entry and its keys: the checks a
 * session makes before handing a request to the router.
 */
import { Handling, KeyKind, type CommandInfo } from './commands/CommandInfo.js';
import { checkArity, collectKeys, lookupSub, refusalMessage, unknownSubcommand } from './commands/Mapper.js';
import { slotOfRange } from './hash.js';
import { ROUTE_MULTI } from './Request.js';
import type { RawCommand } from '../resp/RawCommand.js';

export const CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot";

const keyScratch: number[] = [];

/** `fastRoute` of a command that needs the general path (argument views, checks). */
export const NOT_FAST = -3;

/**
 * Where the common commands go, decided from offsets alone (no argument views): one key (GET,
 * SET, HGET…) to its slot, forwarded as received; keys split over backends (MGET, MSET,
 * DEL…) to ROUTE_MULTI. Anything else, including wrong arity, is NOT_FAST.
 */
export function fastRoute(info: CommandInfo, cmd: RawCommand): number {
  if (
    info.subcommands !== undefined ||
    info.argCheck !== undefined ||
    info.blocks !== undefined ||
    !checkArity(info, cmd.argc)
  ) {
    return NOT_FAST;
  }
  if (info.handling === Handling.Forward && info.keyKind === KeyKind.Single && info.firstKey < cmd.argc) {
    return slotOfRange(cmd.data, cmd.argStart(info.firstKey), cmd.argEnd(info.firstKey));
  }
  if (info.handling === Handling.Coalesce && (info.name !== 'MSET' || cmd.argc % 2 === 1)) return ROUTE_MULTI;
  return NOT_FAST;
}

export function keySlot(key: Buffer): number {
  return slotOfRange(key, 0, key.length);
}

/** The slot of a forwarded command's keys (0 without keys); -1 when they span slots. */
export function slotOfKeys(info: CommandInfo, args: readonly Buffer[]): number {
  if (info.keyKind === KeyKind.Single) return keySlot(args[info.firstKey]!);
  // PUBLISH goes to the group of its channel's slot (subscribers listen on every group), and
  // SPUBLISH to the one group where its sharded channel's subscribers are.
  if (info.keyKind === KeyKind.None) return info.name.endsWith('PUBLISH') ? keySlot(args[1]!) : 0;
  const n = collectKeys(info, args, keyScratch);
  // Malformed key arguments (a bad numkeys…): any backend answers with Redis's own error.
  if (n <= 0) return 0;
  const slot = keySlot(args[keyScratch[0]!]!);
  for (let i = 1; i < n; i++) if (keySlot(args[keyScratch[i]!]!) !== slot) return -1;
  return slot;
}

export function wrongArity(name: string): string {
  return `ERR wrong number of arguments for '${name.toLowerCase()}' command`;
}

/**
 * The checks every command gets before it runs or is queued, in Redis's order: refused
 * commands, arity, the subcommand of a container (CLIENT's are the proxy's own), argument
 * rules. Returns the command (the subcommand, when one is named), or the client's error.
 */
export function checkCommand(info: CommandInfo, args: readonly Buffer[]): CommandInfo | string | Buffer {
  // Arity first, as Redis checks it before anything a command might not be allowed for.
  if (!checkArity(info, args.length)) return wrongArity(info.name);
  if (info.handling === Handling.NotAllow) return refusalMessage(info);
  if (info.name === 'MSET' && args.length % 2 === 0) return wrongArity('mset');
  if (info.subcommands !== undefined && info.handling !== Handling.Local) {
    const sub = args.length > 1 ? lookupSub(info, args[1]!) : undefined;
    if (sub === undefined) return unknownSubcommand(info.name, args[1]);
    if (!checkArity(sub, args.length)) return wrongArity(sub.name);
    if (sub.handling === Handling.NotAllow) return refusalMessage(sub);
    info = sub;
  }
  const why = info.argCheck?.(args);
  return why === undefined ? info : refusalMessage(info, why);
}

/** Whether checkCommand's answer is an error for the client (a text, or a reply made already). */
export function isRefusal(checked: CommandInfo | string | Buffer): checked is string | Buffer {
  return typeof checked === 'string' || checked instanceof Buffer;
}

/** Redis's own text: arguments listed until the list reaches 128 characters. */
export function unknownCommand(args: readonly Buffer[]): string {
  let list = '';
  for (let i = 1; i < args.length && list.length < 128; i++) {
    list += `'${args[i]!.toString().slice(0, 128 - list.length)}' `;
  }
  return `ERR unknown command '${args[0]!.toString().slice(0, 128)}', with args beginning with: ${list}`;
}
