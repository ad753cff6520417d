/**
 * The command table the proxy consults for every request: the generated Redis 7 metadata
 * (table.generated.ts) joined with our support decisions (policy.ts), plus key extraction
 * from Redis's key specs. `lookup`, `lookupSub`, `collectKeys` and `checkArity` are on the hot
 * path and do not allocate.
 */
import { errorWithArg } from '../../resp/encode.js';
import { CmdFlag, Handling, KeyKind, type CommandInfo } from './CommandInfo.js';
import { equalsUpper, NameIndex } from './NameIndex.js';
import { decisionFor, PROXY_COMMANDS, type Decision } from './policy.js';
import { REDIS_COMMANDS, type RedisCommandSpec, type RedisKeySpec } from './table.generated.js';

/** Codis's limit: longer (or empty) names are refused before any lookup. */
export const MAX_NAME_LENGTH = 64;

/** A key spec prepared for matching: keyword as upper-case bytes, numbers unpacked. */
interface KeySpec {
  /** 0 = index, 1 = keyword, 2 = unknown. */
  readonly bs: 0 | 1 | 2;
  readonly index: number;
  readonly keyword: Buffer;
  readonly startfrom: number;
  /** 0 = range [a=lastkey, b=keystep, c=limit], 1 = keynum [a=keynumidx, b=firstkey, c=keystep], 2 = unknown. */
  readonly fk: 0 | 1 | 2;
  readonly a: number;
  readonly b: number;
  readonly c: number;
  readonly notKey: boolean;
  readonly incomplete: boolean;
  readonly flags: readonly string[];
}

/** Keys that key specs cannot describe (Redis's getkeys_proc): fills out, returns count. */
type KeyProc = (args: readonly Buffer[], out: number[], flagsOut?: (readonly string[])[]) => number;

/**
 * Our CommandInfo. A class with every field set in the constructor, so that all entries share
 * one hidden class and the hot path's property reads stay monomorphic.
 */
class Entry implements CommandInfo {
  readonly name: string;
  readonly arity: number;
  flags: number;
  readonly handling: Handling;
  keyKind: KeyKind;
  firstKey: number;
  readonly id: number;
  readonly reason: string | undefined;
  subcommands: Map<string, Entry> | undefined = undefined;
  readonly parent: Entry | undefined;
  readonly argCheck: ((args: readonly Buffer[]) => string | undefined) | undefined;
  readonly blocks: ((args: readonly Buffer[]) => boolean) | undefined;
  readonly spec: RedisCommandSpec | undefined;
  /** Upper-case name bytes as compared by lookup (the last part for subcommands). */
  readonly upper: Buffer;
  readonly specs: readonly KeySpec[];
  readonly proc: KeyProc | undefined;
  /** Subcommand index by hash (containers only). */
  subIndex: NameIndex<Entry> | undefined = undefined;

  constructor(name: string, arity: number, spec: RedisCommandSpec | undefined, d: Decision, parent?: Entry) {
    const lower = name.toLowerCase();
    const upper = name.toUpperCase();
    this.name = upper;
    this.arity = arity;
    this.flags = flagsOf(spec, d);
    this.handling = d.handling;
    this.specs = spec ? spec.keySpecs.map(compileSpec) : [];
    const layout = keyLayout(this.specs, lower);
    this.keyKind = layout.keyKind;
    this.firstKey = layout.firstKey;
    this.id = all.length;
    this.reason = d.reason;
    this.parent = parent;
    this.argCheck = d.argCheck;
    this.blocks = d.blocks;
    this.spec = spec;
    this.upper = Buffer.from(upper.slice(upper.indexOf('|') + 1));
    this.proc = PROCS.get(lower);
    all.push(this);
  }
}

// ------------------------------------------------------------------ building the table

function compileSpec(s: RedisKeySpec): KeySpec {
  const lower = s.flags.map((f) => f.toLowerCase());
  const bs = s.bs[0] === 'index' ? 0 : s.bs[0] === 'keyword' ? 1 : 2;
  const fk = s.fk[0] === 'range' ? 0 : s.fk[0] === 'keynum' ? 1 : 2;
  return {
    bs,
    index: s.bs[0] === 'index' ? s.bs[1] : 0,
    keyword: Buffer.from(s.bs[0] === 'keyword' ? s.bs[1].toUpperCase() : ''),
    startfrom: s.bs[0] === 'keyword' ? s.bs[2] : 0,
    fk,
    a: s.fk[0] === 'unknown' ? 0 : s.fk[1],
    b: s.fk[0] === 'unknown' ? 0 : s.fk[2],
    c: s.fk[0] === 'unknown' ? 0 : s.fk[3],
    notKey: lower.includes('not_key'),
    incomplete: lower.includes('incomplete'),
    flags: s.flags,
  };
}

const RO_ACCESS = ['RO', 'access'];
const OW_UPDATE = ['OW', 'update'];
const RW_ACCESS_UPDATE = ['RW', 'access', 'update'];
const LIMIT = Buffer.from('LIMIT');
const GET = Buffer.from('GET');
const BY = Buffer.from('BY');
const STORE = Buffer.from('STORE');

/**
 * SORT key [BY p] [LIMIT o c] [GET p …] [ASC|DESC] [ALPHA] [STORE dst]: Redis's sortGetKeys.
 * STORE can appear anywhere, so no key spec describes it; the last STORE wins, as in SORT.
 */
const sortKeys: KeyProc = (args, out, flagsOut) => {
  if (args.length < 2) return -1;
  out[0] = 1;
  if (flagsOut) flagsOut[0] = RO_ACCESS;
  let store = 0;
  for (let i = 2; i < args.length; i++) {
    const a = args[i]!;
    if (a.length === 5 && equalsUpper(LIMIT, a)) i += 2;
    else if ((a.length === 3 && equalsUpper(GET, a)) || (a.length === 2 && equalsUpper(BY, a))) i += 1;
    else if (a.length === 5 && equalsUpper(STORE, a) && i + 1 < args.length) store = i + 1;
  }
  if (store === 0) return 1;
  out[1] = store;
  if (flagsOut) flagsOut[1] = OW_UPDATE;
  return 2;
};

/** Commands whose keys Redis finds with a getkeys_proc instead of key specs. */
const PROCS = new Map<string, KeyProc>([['sort', sortKeys]]);

function keyLayout(specs: readonly KeySpec[], name: string): { keyKind: KeyKind; firstKey: number } {
  // SORT_RO's BY/GET spec is "unknown" but its only key is always argument 1 (sortROGetKeys).
  if (name === 'sort_ro') return { keyKind: KeyKind.Single, firstKey: 1 };
  if (PROCS.has(name)) return { keyKind: KeyKind.Multi, firstKey: 1 };
  const keys = specs.filter((s) => !s.notKey);
  if (keys.length === 0) return { keyKind: KeyKind.None, firstKey: 0 };
  const s = keys[0]!;
  const firstKey = s.bs !== 0 ? 0 : s.fk === 1 ? s.index + s.a + s.b : s.index;
  const single = keys.length === 1 && s.bs === 0 && s.fk === 0 && s.a === 0 && !s.incomplete;
  return { keyKind: single ? KeyKind.Single : KeyKind.Multi, firstKey };
}

function flagsOf(spec: RedisCommandSpec | undefined, d: Decision): number {
  let f = 0;
  if (d.write || spec?.flags.includes('write')) f |= CmdFlag.Write;
  if (d.masterOnly) f |= CmdFlag.MasterOnly;
  if (d.handling === Handling.NotAllow) f |= CmdFlag.NotAllow;
  // Redis feeds MONITOR with `skip_monitor` commands (EVAL, EXEC) by other means, so they show.
  if (spec?.flags.includes('admin')) f |= CmdFlag.Unmonitored;
  return f;
}

/** A policy hole (new Redis command not reviewed yet) is refused rather than guessed. */
const UNREVIEWED: Decision = {
  handling: Handling.NotAllow,
  reason: 'this command has not been reviewed for use through the proxy',
};

const all: Entry[] = [];
const topIndex = new NameIndex<Entry>(1024);

function build(spec: RedisCommandSpec, parent: Entry | undefined): Entry {
  const entry = new Entry(spec.name, spec.arity, spec, decisionFor(spec.name) ?? UNREVIEWED, parent);
  if (spec.subcommands.length > 0) {
    entry.subcommands = new Map();
    entry.subIndex = new NameIndex<Entry>(64);
    for (const s of spec.subcommands) {
      const sub = build(s, entry);
      entry.subcommands.set(sub.upper.toString(), sub);
      entry.subIndex.add(sub);
    }
    summarizeContainer(entry, [...entry.subcommands.values()]);
  }
  return entry;
}

/**
 * A container's own flags and key layout summarize its accepted subcommands, so that code
 * which forgets to resolve the subcommand still routes safely: Write/MasterOnly if any sub has
 * it, and Single only when every sub with keys has its one key at the same index.
 */
function summarizeContainer(c: Entry, subs: Entry[]): void {
  const ok = subs.filter((s) => s.handling !== Handling.NotAllow);
  for (const s of ok) c.flags |= s.flags & (CmdFlag.Write | CmdFlag.MasterOnly);
  const keyed = ok.filter((s) => s.keyKind !== KeyKind.None);
  if (keyed.length === 0) return;
  const same = keyed.every((s) => s.keyKind === KeyKind.Single && s.firstKey === keyed[0]!.firstKey);
  c.keyKind = same ? KeyKind.Single : KeyKind.Multi;
  c.firstKey = keyed[0]!.firstKey;
}

for (const spec of REDIS_COMMANDS) topIndex.add(build(spec, undefined));
for (const p of PROXY_COMMANDS) topIndex.add(new Entry(p.name, p.arity, undefined, p.decision));

/** Unknown commands, when `proxy_forward_unknown_commands` is on: MayWrite, routed by argument 1. */
export const UNKNOWN: CommandInfo = (() => {
  const e = new Entry('UNKNOWN', -1, undefined, { handling: Handling.Forward });
  e.flags = CmdFlag.MayWrite;
  e.keyKind = KeyKind.Single;
  e.firstKey = 1;
  return e;
})();

// ------------------------------------------------------------------ public API

/** Case-insensitive lookup of a command name (argument 0). Empty or > 64 bytes → undefined. */
export function lookup(name: Buffer): CommandInfo | undefined {
  return lookupRange(name, 0, name.length);
}

/** `lookup` of the name at data[from, to), without a view of it. */
export function lookupRange(data: Buffer, from: number, to: number): CommandInfo | undefined {
  if (to <= from || to - from > MAX_NAME_LENGTH) return undefined;
  return topIndex.find(data, from, to);
}

/**
 * The subcommand of a command the proxy answers whole (CLIENT, COMMAND), as stats and CLIENT
 * LIST name it (`client|id`); any other command as it is.
 */
export function namedInfo(info: CommandInfo, args: readonly Buffer[]): CommandInfo {
  if (info.handling !== Handling.Local || info.subcommands === undefined || args.length < 2) return info;
  return lookupSub(info, args[1]!) ?? info;
}

/** The subcommand `arg` of a container command (CLIENT, OBJECT, XINFO, MEMORY…). */
export function lookupSub(info: CommandInfo, arg: Buffer): CommandInfo | undefined {
  const index = (info as Entry).subIndex;
  if (index === undefined || arg.length === 0 || arg.length > MAX_NAME_LENGTH) return undefined;
  return index.find(arg, 0, arg.length);
}

/** Redis arity rule: N → exactly N arguments, -N → at least N (the name included). */
export function checkArity(info: CommandInfo, argc: number): boolean {
  return info.arity >= 0 ? argc === info.arity : argc >= -info.arity;
}

/**
 * Fills `out` with the argument index of every key and returns how many, or -1 when the
 * arguments are malformed (numkeys too large or not a number, unknown subcommand…). Containers
 * resolve their subcommand from args[1]. `numkeys` 0 is valid and yields no key from that spec
 * (EVAL script 0). Grows `out` only when it is shorter than the key count.
 */
export function collectKeys(info: CommandInfo, args: readonly Buffer[], out: number[]): number {
  let e = info as Entry;
  if (e.subIndex !== undefined) {
    if (args.length < 2) return -1;
    const sub = e.subIndex.find(args[1]!, 0, args[1]!.length);
    if (sub === undefined) return -1;
    e = sub;
  }
  if (e.keyKind === KeyKind.None) return 0;
  if (e.keyKind === KeyKind.Single) {
    if (args.length <= e.firstKey) return 0;
    out[0] = e.firstKey;
    return 1;
  }
  if (e.proc !== undefined) return e.proc(args, out);
  return specKeys(e.specs, args, out, false, undefined);
}

/**
 * Key indices as Redis's COMMAND GETKEYS finds them (getKeysFromCommandWithSpecs): strict
 * (numkeys 0, unknown or incomplete specs are errors → 0 keys), with each key's flags. `info`
 * must be resolved to the subcommand already. Not for the hot path.
 */
export function keysForGetKeys(
  info: CommandInfo,
  args: readonly Buffer[],
  out: number[],
  flagsOut: (readonly string[])[],
): number {
  const e = info as Entry;
  const name = e.spec?.name;
  if (name === 'sort_ro' && args.length >= 2) {
    out[0] = 1;
    flagsOut[0] = RO_ACCESS;
    return 1;
  }
  if (e.proc !== undefined) return Math.max(0, e.proc(args, out, flagsOut));
  const n = Math.max(0, specKeys(e.specs, args, out, true, flagsOut));
  // SET and BITFIELD declare variable flags: Redis computes them from the arguments.
  if (n === 1 && name === 'set') flagsOut[0] = hasWord(args, 3, GET) ? RW_ACCESS_UPDATE : OW_UPDATE;
  if (n === 1 && name === 'bitfield') flagsOut[0] = bitfieldReadOnly(args) ? RO_ACCESS : RW_ACCESS_UPDATE;
  return n;
}

function hasWord(args: readonly Buffer[], from: number, word: Buffer): boolean {
  for (let i = from; i < args.length; i++) if (equalsUpper(word, args[i]!)) return true;
  return false;
}

/** Redis's bitfieldGetKeys: read-only unless a SET/INCRBY (or a syntax error) shows up. */
function bitfieldReadOnly(args: readonly Buffer[]): boolean {
  for (let i = 2; i < args.length; i++) {
    const rem = args.length - i - 1;
    const a = args[i]!.toString('latin1').toLowerCase();
    if (a === 'get' && rem >= 2) i += 2;
    else if (a === 'overflow' && rem >= 1) i += 1;
    else return false;
  }
  return true;
}

/** Every CommandInfo (subcommands and UNKNOWN included) in id order: allCommands()[i].id === i. */
export function allCommands(): readonly CommandInfo[] {
  return all;
}

/** Number of CommandInfo objects, i.e. the size of a per-command stats array. */
export function commandCount(): number {
  return all.length;
}

/** Redis's error reply for a subcommand it does not have: `-ERR unknown subcommand 'X'. Try CLIENT HELP.` */
export function unknownSubcommand(container: string, arg: Buffer | undefined): Buffer {
  return errorWithArg("ERR unknown subcommand '", arg ?? NO_ARG, `'. Try ${container} HELP.`);
}

const NO_ARG = Buffer.alloc(0);

/** The error text for a refused command, e.g. `ERR handle request, command 'BLPOP' is not allowed (…)`. */
export function refusalMessage(info: CommandInfo, reason: string | undefined = info.reason): string {
  const name = info.name.replace('|', ' ');
  return `ERR handle request, command '${name}' is not allowed` + (reason ? ` (${reason})` : '');
}

// ------------------------------------------------------------------ key specs

/** Redis's string2ll restricted to numkeys: digits only, no sign, no leading zero; else -1. */
function parseCount(b: Buffer): number {
  if (b.length === 0 || b.length > 9 || (b[0] === 48 && b.length > 1)) return -1;
  let n = 0;
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c < 48 || c > 57) return -1;
    n = n * 10 + (c - 48);
  }
  return n;
}

/** Redis's getKeysUsingKeySpecs; `strict` makes it fail where Redis's does (see keysForGetKeys). */
function specKeys(
  specs: readonly KeySpec[],
  args: readonly Buffer[],
  out: number[],
  strict: boolean,
  flagsOut: (readonly string[])[] | undefined,
): number {
  const argc = args.length;
  let n = 0;
  for (let j = 0; j < specs.length; j++) {
    const s = specs[j]!;
    if (s.notKey) continue;
    let first = 0;
    if (s.bs === 0) {
      first = s.index;
    } else if (s.bs === 1) {
      const start = s.startfrom > 0 ? s.startfrom : argc + s.startfrom;
      const end = s.startfrom > 0 ? argc - 1 : 1;
      for (let i = start; i !== end; i = start <= end ? i + 1 : i - 1) {
        if (i >= argc || i < 1) break;
        if (equalsUpper(s.keyword, args[i]!)) {
          first = i + 1;
          break;
        }
      }
      if (first === 0) continue; // keyword absent: this spec has no key
    } else {
      if (strict) return -1;
      continue;
    }
    let last: number;
    let step: number;
    if (s.fk === 0) {
      step = s.b;
      if (s.a >= 0) last = first + s.a;
      else if (s.c === 0) last = argc + s.a;
      else last = first + (Math.floor((argc - first) / s.c) + s.a);
    } else if (s.fk === 1) {
      step = s.c;
      if (first + s.a >= argc) return -1;
      const numkeys = parseCount(args[first + s.a]!);
      if (numkeys < 0) return -1;
      if (numkeys === 0 && !strict) continue;
      first += s.b;
      last = first + numkeys - 1;
    } else {
      if (strict) return -1;
      continue;
    }
    if (last >= argc || last < first || first >= argc) return -1;
    for (let i = first; i <= last; i += step) {
      if (flagsOut !== undefined) flagsOut[n] = s.flags;
      out[n++] = i;
    }
    if (s.incomplete && strict) return -1;
  }
  return n;
}
