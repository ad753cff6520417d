/**
 * COMMAND replies in Redis 7's RESP3 shapes. The table keeps Redis's RESP2 bytes; a RESP3
 * client gets the same tree with its containers re-typed as Redis types them: flags, ACL
 * categories, tips, key specs and subcommands as sets, key specs and docs as maps, and `_`
 * for a missing entry. Only headers change: every string is copied as it is.
 */
import { NULL3 } from '../../resp/encode.js';

interface Node {
  /** `*`, `$`, `+`, `:`, `-` (RESP2: all the table and the COMMAND replies use). */
  readonly type: number;
  /** The whole encoding of a scalar; the header line of an array. */
  readonly raw: Buffer;
  /** An array's elements; null for a scalar or a null array. */
  readonly items: Node[] | null;
}

/** How a container is re-typed; its elements get shapes of their own. */
type Shape = (n: Node) => Buffer;

function parse(buf: Buffer, at: { pos: number }): Node {
  const start = at.pos;
  const eol = buf.indexOf(13, start);
  const type = buf[start]!;
  const len = Number(buf.toString('latin1', start + 1, eol));
  at.pos = eol + 2;
  if (type === 0x24 /* $ */ && len >= 0) at.pos += len + 2;
  if (type !== 0x2a /* * */ || len < 0) return { type, raw: buf.subarray(start, at.pos), items: null };
  const items: Node[] = [];
  for (let i = 0; i < len; i++) items.push(parse(buf, at));
  return { type, raw: buf.subarray(start, at.pos), items };
}

/** Scalars as they are; a null bulk or array becomes RESP3's null. */
const plain: Shape = (n) => {
  if (n.items !== null) return container('*', n.items.length, n.items.map(plain));
  return isNull(n) ? NULL3 : n.raw;
};

function isNull(n: Node): boolean {
  return (n.type === 0x24 || n.type === 0x2a) && n.raw[1] === 0x2d;
}

function container(type: '*' | '~' | '%', count: number, parts: Buffer[]): Buffer {
  return Buffer.concat([Buffer.from(`${type}${count}\r\n`), ...parts]);
}

const arrayOf =
  (each: Shape): Shape =>
  (n) =>
    n.items === null ? plain(n) : container('*', n.items.length, n.items.map(each));

const setOf =
  (each: Shape): Shape =>
  (n) =>
    n.items === null ? plain(n) : container('~', n.items.length, n.items.map(each));

/** A flat RESP2 list of name/value pairs as a map; `fields` shapes the values by name. */
const mapOf =
  (fields: Readonly<Record<string, Shape>>, other: Shape = plain): Shape =>
  (n) => {
    if (n.items === null) return plain(n);
    const parts: Buffer[] = [];
    for (let i = 0; i + 1 < n.items.length; i += 2) {
      const key = n.items[i]!;
      parts.push(key.raw, (fields[keyName(key)] ?? other)(n.items[i + 1]!));
    }
    return container('%', n.items.length / 2, parts);
  };

function keyName(n: Node): string {
  const s = n.raw.toString('latin1');
  return s.slice(s.indexOf('\n') + 1, -2);
}

const keySpec = mapOf({
  flags: setOf(plain),
  begin_search: mapOf({ spec: mapOf({}) }),
  find_keys: mapOf({ spec: mapOf({}) }),
});

/** One COMMAND INFO entry: name, arity, flags, first/last/step, ACL, tips, key specs, subcommands. */
const infoEntry: Shape = (n) => {
  if (n.items === null || n.items.length !== 10) return plain(n);
  const it = n.items;
  const set = setOf(plain);
  return container('*', 10, [
    it[0]!.raw,
    it[1]!.raw,
    set(it[2]!),
    it[3]!.raw,
    it[4]!.raw,
    it[5]!.raw,
    set(it[6]!),
    set(it[7]!),
    setOf(keySpec)(it[8]!),
    setOf(infoEntry)(it[9]!),
  ]);
};

const argument: Shape = (n) => mapOf({ flags: setOf(plain), arguments: arrayOf(argument) })(n);
const docs: Shape = (n) =>
  mapOf({
    doc_flags: setOf(plain),
    history: setOf(plain),
    arguments: arrayOf(argument),
    subcommands: docsByName,
  })(n);
/** COMMAND DOCS: command names to their docs. */
const docsByName: Shape = (n) => mapOf({}, docs)(n);

/** GETKEYSANDFLAGS: [key, flags] pairs. */
const keysAndFlags = arrayOf(arrayOf((n) => (n.items === null ? plain(n) : setOf(plain)(n))));

/** Which COMMAND reply is being re-typed. */
export const enum CommandShape {
  /** COMMAND, COMMAND INFO: entries, `_` for unknown names. */
  Info,
  Docs,
  KeysAndFlags,
  /** Everything else (COUNT, LIST, GETKEYS, HELP, errors): only nulls change. */
  Other,
}

const SHAPES: Record<CommandShape, Shape> = {
  [CommandShape.Info]: arrayOf(infoEntry),
  [CommandShape.Docs]: docsByName,
  [CommandShape.KeysAndFlags]: keysAndFlags,
  [CommandShape.Other]: plain,
};

/** `reply` (a complete RESP2 COMMAND reply) in RESP3. */
export function commandResp3(reply: Buffer, shape: CommandShape): Buffer {
  if (reply[0] === 0x2d /* - */) return reply;
  return SHAPES[shape](parse(reply, { pos: 0 }));
}
