/**
 * The proxy's own COMMAND replies, byte-identical to Redis 7.0's for the commands the
 * proxy accepts (Forward, Local, Coalesce): COMMAND, COUNT, INFO, DOCS, LIST, GETKEYS,
 * GETKEYSANDFLAGS and HELP. Entries are copied from the raw RESP that gen-commands.js stored,
 * so nothing is re-encoded; containers list only their accepted subcommands. Order: Redis
 * replies in hash-table order (random per process); we reply sorted by name.
 */
import {
  array,
  arrayHeader,
  bulk,
  EMPTY_ARRAY,
  error,
  integer,
  NIL,
  simple,
  type Proto,
} from '../../resp/encode.js';
import { CommandShape, commandResp3 } from './CommandResp3.js';
import { Handling, type CommandInfo } from './CommandInfo.js';
import { allCommands, checkArity, keysForGetKeys, lookup, lookupSub, unknownSubcommand } from './Mapper.js';
import { PROXY_COMMANDS } from './policy.js';
import { COMMAND_HELP_REPLY } from './table.generated.js';

const accepted = (c: CommandInfo) => c.handling !== Handling.NotAllow;
const raw = (s: string) => Buffer.from(s, 'utf8');
const EMPTY_SUBS = Buffer.from('*0\r\n');

interface Prepared {
  readonly info: CommandInfo;
  /** Lower-case full name, as Redis prints it. */
  readonly fullname: string;
  /** The COMMAND INFO entry (10 fields, accepted subcommands nested). */
  readonly infoEntry: Buffer;
  /** `name` bulk followed by the COMMAND DOCS map. */
  readonly docsPair: Buffer;
  readonly acl: readonly string[];
  readonly subs: readonly Prepared[];
}

/** Proxy-only commands (SLOTSINFO…) have no Redis metadata: describe them in Redis's shape. */
function synthesized(c: CommandInfo): { info: Buffer; docs: Buffer; docFields: number; acl: string[] } {
  const p = PROXY_COMMANDS.find((x) => x.name.toUpperCase() === c.name);
  const name = c.name.toLowerCase();
  const flags = p?.flags ?? [];
  const acl = flags.includes('readonly') ? ['@read', '@slow'] : ['@slow'];
  const info = Buffer.concat([
    bulk(name),
    integer(c.arity),
    array(flags.map(simple)),
    integer(0),
    integer(0),
    integer(0),
    array(acl.map(simple)),
    EMPTY_ARRAY,
    EMPTY_ARRAY,
  ]);
  const summary = p?.summary || name;
  const docs = Buffer.concat(['summary', summary, 'since', '3.0.0', 'group', 'server'].map((s) => bulk(s)));
  return { info, docs, docFields: 3, acl };
}

function prepare(c: CommandInfo): Prepared {
  const spec = c.spec;
  const subs = c.subcommands ? [...c.subcommands.values()].filter(accepted).map(prepare) : [];
  subs.sort((a, b) => (a.fullname < b.fullname ? -1 : 1));
  const base = spec
    ? { info: raw(spec.info), docs: raw(spec.docs), docFields: spec.docFields, acl: spec.acl }
    : synthesized(c);
  const fullname = spec ? spec.name : c.name.toLowerCase();
  const hasSubs = c.subcommands !== undefined;
  const infoEntry = Buffer.concat([
    arrayHeader(10),
    base.info,
    hasSubs ? array(subs.map((s) => s.infoEntry)) : EMPTY_SUBS,
  ]);
  const docParts = [arrayHeader(2 * (base.docFields + (hasSubs ? 1 : 0))), base.docs];
  // A container's `subcommands` map is a flat array of name/doc pairs (RESP2), after the rest.
  if (hasSubs)
    docParts.push(bulk('subcommands'), arrayHeader(2 * subs.length), ...subs.map((s) => s.docsPair));
  const docsPair = Buffer.concat([bulk(fullname), ...docParts]);
  return { info: c, fullname, infoEntry, docsPair, acl: base.acl, subs };
}

// Everything is prepared once at load: the table never changes while the proxy runs.
const top: Prepared[] = allCommands()
  .filter((c) => c.parent === undefined && c.name !== 'UNKNOWN' && accepted(c))
  .filter((c) => !c.subcommands || [...c.subcommands.values()].some(accepted))
  .map(prepare)
  .sort((a, b) => (a.fullname < b.fullname ? -1 : 1));

const byName = new Map<string, Prepared>();
for (const p of top) {
  byName.set(p.fullname, p);
  for (const s of p.subs) byName.set(s.fullname, s);
}

const ALL_INFO = Buffer.concat([arrayHeader(top.length), ...top.map((p) => p.infoEntry)]);
const ALL_DOCS = Buffer.concat([arrayHeader(2 * top.length), ...top.map((p) => p.docsPair)]);
const COUNT = integer(top.length);
const HELP = raw(COMMAND_HELP_REPLY);
const SYNTAX = error('ERR syntax error');

/** Number of top-level commands the proxy accepts (what COMMAND COUNT answers). */
export function acceptedCommandCount(): number {
  return top.length;
}

/** Redis matches names case-insensitively and splits `container|sub` (one level only). */
function find(name: Buffer): Prepared | undefined {
  return byName.get(name.toString('latin1').toLowerCase());
}

/** RESP3 forms of the two big replies, made on first use. */
let allInfo3: Buffer | null = null;
let allDocs3: Buffer | null = null;

/** The reply to a COMMAND request; `args[0]` is COMMAND itself. */
export function commandReply(args: readonly Buffer[], proto: Proto = 2): Buffer {
  const reply = resp2Reply(args);
  if (proto === 2) return reply;
  if (reply === ALL_INFO) return (allInfo3 ??= commandResp3(ALL_INFO, CommandShape.Info));
  if (reply === ALL_DOCS) return (allDocs3 ??= commandResp3(ALL_DOCS, CommandShape.Docs));
  const shape = RESP3_SHAPES.get(args[1]!.toString('latin1').toLowerCase()) ?? CommandShape.Other;
  return commandResp3(reply, shape);
}

/** The subcommands whose RESP3 reply differs in more than its nulls. */
const RESP3_SHAPES = new Map([
  ['info', CommandShape.Info],
  ['docs', CommandShape.Docs],
  ['getkeysandflags', CommandShape.KeysAndFlags],
]);

function resp2Reply(args: readonly Buffer[]): Buffer {
  if (args.length === 1) return ALL_INFO;
  const container = lookup(args[0]!);
  const sub = container && lookupSub(container, args[1]!);
  if (!sub) return unknownSubcommand('COMMAND', args[1]);
  if (!checkArity(sub, args.length)) {
    return error(`ERR wrong number of arguments for '${sub.name.toLowerCase()}' command`);
  }
  switch (sub.name) {
    case 'COMMAND|COUNT':
      return COUNT;
    case 'COMMAND|HELP':
      return HELP;
    case 'COMMAND|INFO':
      if (args.length === 2) return ALL_INFO;
      return Buffer.concat([
        arrayHeader(args.length - 2),
        ...args.slice(2).map((n) => find(n)?.infoEntry ?? NIL),
      ]);
    case 'COMMAND|DOCS': {
      if (args.length === 2) return ALL_DOCS;
      const found = args.slice(2).flatMap((n) => find(n)?.docsPair ?? []);
      return Buffer.concat([arrayHeader(2 * found.length), ...found]);
    }
    case 'COMMAND|LIST':
      return list(args);
    case 'COMMAND|GETKEYS':
      return getKeys(args.slice(2), false);
    case 'COMMAND|GETKEYSANDFLAGS':
      return getKeys(args.slice(2), true);
  }
  return unknownSubcommand('COMMAND', args[1]);
}

/** COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]. */
function list(args: readonly Buffer[]): Buffer {
  let match: (p: Prepared) => boolean = () => true;
  for (let i = 2; i < args.length; i++) {
    const more = args.length - 1 - i;
    if (more !== 2 || args[i]!.toString('latin1').toLowerCase() !== 'filterby') return SYNTAX;
    const type = args[i + 1]!.toString('latin1').toLowerCase();
    const arg = args[i + 2]!;
    if (type === 'module')
      match = () => false; // the proxy loads no modules
    else if (type === 'aclcat') {
      const cat = '@' + arg.toString('latin1').toLowerCase();
      match = (p) => p.acl.some((a) => a.toLowerCase() === cat);
    } else if (type === 'pattern') match = (p) => globMatch(arg, Buffer.from(p.fullname));
    else return SYNTAX;
    i += 2;
  }
  const names: Buffer[] = [];
  const visit = (p: Prepared) => {
    if (match(p)) names.push(bulk(p.fullname));
    p.subs.forEach(visit);
  };
  top.forEach(visit);
  return array(names);
}

/** COMMAND GETKEYS / GETKEYSANDFLAGS <full command>, with Redis's error texts and order. */
function getKeys(line: readonly Buffer[], withFlags: boolean): Buffer {
  let info = lookup(line[0]!);
  if (info && info.subcommands && line.length > 1) info = lookupSub(info, line[1]!);
  if (!info || !accepted(info) || (info.parent && !accepted(info.parent))) {
    return error('ERR Invalid command specified');
  }
  const spec = info.spec;
  if (!spec || !spec.keySpecs.some((k) => !k.flags.includes('not_key'))) {
    return error('ERR The command has no key arguments');
  }
  if (!checkArity(info, line.length)) return error('ERR Invalid number of arguments specified for command');
  const pos: number[] = [];
  const flags: (readonly string[])[] = [];
  const n = keysForGetKeys(info, line, pos, flags);
  if (n === 0) {
    return spec.flags.includes('no_mandatory_keys')
      ? EMPTY_ARRAY
      : error('ERR Invalid arguments specified for command');
  }
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const key = bulk(line[pos[i]!]!);
    out.push(withFlags ? array([key, array(flags[i]!.map(simple))]) : key);
  }
  return array(out);
}

/** Redis's stringmatchlen (util.c) with nocase=1, ported as is: `*`, `?`, `[^a-z]`, `\` escapes. */
function globMatch(p: Buffer, s: Buffer): boolean {
  return matchFrom(p, 0, s, 0, { skipLonger: false });
}

const low = (c: number | undefined): number | undefined =>
  c !== undefined && c >= 65 && c <= 90 ? c + 32 : c;

function matchFrom(p: Buffer, pi: number, s: Buffer, si: number, st: { skipLonger: boolean }): boolean {
  let plen = p.length - pi;
  let slen = s.length - si;
  while (plen > 0 && slen > 0) {
    const c = p[pi];
    if (c === 42 /* * */) {
      while (plen > 0 && p[pi + 1] === 42) {
        pi++;
        plen--;
      }
      if (plen === 1) return true;
      while (slen > 0) {
        if (matchFrom(p, pi + 1, s, si, st)) return true;
        if (st.skipLonger) return false;
        si++;
        slen--;
      }
      // No match for the rest from anywhere: earlier stars cannot help either.
      st.skipLonger = true;
      return false;
    } else if (c === 63 /* ? */) {
      si++;
      slen--;
    } else if (c === 91 /* [ */) {
      pi++;
      plen--;
      const not = p[pi] === 94; /* ^ */
      if (not) {
        pi++;
        plen--;
      }
      let match = false;
      for (;;) {
        if (p[pi] === 92 && plen >= 2) {
          pi++;
          plen--;
          if (p[pi] === s[si]) match = true;
        } else if (p[pi] === 93 /* ] */) {
          break;
        } else if (plen === 0) {
          pi--;
          plen++;
          break;
        } else if (plen >= 3 && p[pi + 1] === 45 /* - */) {
          let start = p[pi]!;
          let end = p[pi + 2]!;
          if (start > end) [start, end] = [end, start];
          const x = low(s[si])!;
          pi += 2;
          plen -= 2;
          if (x >= low(start)! && x <= low(end)!) match = true;
        } else if (low(p[pi]) === low(s[si])) {
          match = true;
        }
        pi++;
        plen--;
      }
      if (not) match = !match;
      if (!match) return false;
      si++;
      slen--;
    } else {
      if (c === 92 /* \ */ && plen >= 2) {
        pi++;
        plen--;
      }
      if (low(p[pi]) !== low(s[si])) return false;
      si++;
      slen--;
    }
    pi++;
    plen--;
    if (slen === 0) {
      while (p[pi] === 42) {
        pi++;
        plen--;
      }
      break;
    }
  }
  return plen === 0 && slen === 0;
}
