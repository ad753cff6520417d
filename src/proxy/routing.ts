/**
 * Which slot a command goes to, from its command table entry and its keys: the checks a
 * session makes before handing a request to the router.
 */
import { Handling, KeyKind, type CommandInfo } from './commands/CommandInfo.js';
import { checkArity, collectKeys } from './commands/Mapper.js';
import { slotOfRange } from './hash.js';

export const CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot";

const keyScratch: number[] = [];

/** Forwarded as is to the slot of its one key, with nothing to check but its arity. */
export function isOneKeyForward(info: CommandInfo, argc: number): boolean {
  return (
    info.handling === Handling.Forward &&
    info.keyKind === KeyKind.Single &&
    info.subcommands === undefined &&
    info.argCheck === undefined &&
    info.firstKey < argc &&
    checkArity(info, argc)
  );
}

/** Split by key over backends (MGET, MSET, DEL…), with nothing to check but its arity. */
export function isSplitForward(info: CommandInfo, argc: number): boolean {
  return (
    info.handling === Handling.Coalesce &&
    info.subcommands === undefined &&
    info.argCheck === undefined &&
    checkArity(info, argc) &&
    (info.name !== 'MSET' || argc % 2 === 1)
  );
}

export function keySlot(key: Buffer): number {
  return slotOfRange(key, 0, key.length);
}

/** The slot of a forwarded command's keys (0 without keys); -1 when they span slots. */
export function slotOfKeys(info: CommandInfo, args: readonly Buffer[]): number {
  if (info.keyKind === KeyKind.Single) return keySlot(args[info.firstKey]!);
  if (info.keyKind === KeyKind.None) return 0;
  const n = collectKeys(info, args, keyScratch);
  // Malformed key arguments (a bad numkeys…): any backend answers with Redis's own error.
  if (n <= 0) return 0;
  const slot = keySlot(args[keyScratch[0]!]!);
  for (let i = 1; i < n; i++) if (keySlot(args[keyScratch[i]!]!) !== slot) return -1;
  return slot;
}

/** Redis's own text: arguments listed until the list reaches 128 characters. */
export function unknownCommand(args: readonly Buffer[]): string {
  let list = '';
  for (let i = 1; i < args.length && list.length < 128; i++) {
    list += `'${args[i]!.toString().slice(0, 128 - list.length)}' `;
  }
  return `ERR unknown command '${args[0]!.toString().slice(0, 128)}', with args beginning with: ${list}`;
}
