/**
 * A small typed config-schema helper for the Codis TOML files: defaults, validation, the documented
 * default file (`--default-config`) and the JSON form shown in overviews.
 */
import { readFileSync } from 'node:fs';
import { parse, TomlError } from 'smol-toml';
import { formatDuration, formatSize, parseDuration, parseSize, UnitError } from './units.js';

export type Kind = 'string' | 'int' | 'bool' | 'size' | 'duration' | 'enum';

export interface KeySpec<V> {
  kind: Kind;
  /** Parsed form: bytes for sizes, milliseconds for durations. */
  default: V;
  /** Comment written above the key; a key without doc is grouped with the one before it. */
  doc?: string;
  /** Omitted from the JSON form and from error messages. */
  secret?: boolean;
  /** Inclusive bounds for int (count), size (bytes) and duration (ms). */
  min?: number;
  max?: number;
  /** Accepted values of an enum, matched case-insensitively; the listed spelling is kept. */
  values?: readonly string[];
  /** Extra rule: returns the problem (e.g. `must not be empty`) or undefined when fine. Method syntax
   * keeps specs of different value types assignable to KeySpec<unknown>. */
  validate?(v: V): string | undefined;
}

export type SchemaKeys<T> = { [K in keyof T]: KeySpec<T[K]> };

export interface Schema<T> {
  /** Banner at the top of the rendered file, e.g. `Codis-Proxy`. */
  title?: string;
  keys: SchemaKeys<T>;
  /** Rules across keys, run after every key is valid. */
  check?: (values: T) => { key: keyof T & string; problem: string } | undefined;
}

/** A config problem; the message is always one line naming the key when there is one. */
export class ConfigError extends Error {
  constructor(
    message: string,
    readonly key?: string,
  ) {
    super(message.replace(/\s*[\r\n]+\s*/g, ' '));
    this.name = 'ConfigError';
  }
}

interface Opts<V> {
  min?: number;
  max?: number;
  secret?: boolean;
  validate?: (v: V) => string | undefined;
}

/** Key spec builders; sizes and durations take their defaults in Codis text form. */
export const key = {
  string: (def: string, doc?: string, o: Opts<string> = {}): KeySpec<string> => ({
    kind: 'string',
    default: def,
    doc,
    ...o,
  }),
  int: (def: number, doc?: string, o: Opts<number> = {}): KeySpec<number> => ({
    kind: 'int',
    default: def,
    doc,
    ...o,
  }),
  bool: (def: boolean, doc?: string): KeySpec<boolean> => ({ kind: 'bool', default: def, doc }),
  size: (def: string | number, doc?: string, o: Opts<number> = {}): KeySpec<number> => ({
    kind: 'size',
    default: parseSize(def),
    doc,
    ...o,
  }),
  duration: (def: string | number, doc?: string, o: Opts<number> = {}): KeySpec<number> => ({
    kind: 'duration',
    default: parseDuration(def),
    doc,
    ...o,
  }),
  enum: <V extends string>(values: readonly V[], def: V, doc?: string, o: Opts<V> = {}): KeySpec<V> => ({
    kind: 'enum',
    default: def,
    values,
    doc,
    ...o,
  }),
};

function keysOf<T>(schema: Schema<T>): (keyof T & string)[] {
  return Object.keys(schema.keys) as (keyof T & string)[];
}

/** A fresh object holding every default. */
export function defaults<T>(schema: Schema<T>): T {
  const out: Record<string, unknown> = {};
  for (const k of keysOf(schema)) out[k] = schema.keys[k].default;
  return out as T;
}

/** How a raw value is shown in an error: TOML-like, never a secret. */
function show(raw: unknown): string {
  if (typeof raw === 'string') return JSON.stringify(raw);
  if (typeof raw === 'bigint') return raw.toString();
  if (raw instanceof Date) return raw.toISOString();
  if (raw !== null && typeof raw === 'object') return JSON.stringify(raw) ?? String(raw);
  return String(raw);
}

function fail(name: string, spec: KeySpec<unknown>, raw: unknown, problem: string): never {
  const value = spec.secret ? '' : ` = ${show(raw)}`;
  throw new ConfigError(`invalid ${name}${value}: ${problem}`, name);
}

function bound(spec: KeySpec<unknown>, n: number): string {
  if (spec.kind === 'duration') return formatDuration(n);
  if (spec.kind === 'size') return formatSize(n);
  return String(n);
}

/** Checks bounds and the extra rule of an already-typed value. */
function checkRules<V>(name: string, spec: KeySpec<V>, value: V, raw: unknown): V {
  if (typeof value === 'number') {
    if (spec.min !== undefined && value < spec.min)
      fail(name, spec, raw, `must be >= ${bound(spec, spec.min)}`);
    if (spec.max !== undefined && value > spec.max)
      fail(name, spec, raw, `must be <= ${bound(spec, spec.max)}`);
  }
  const problem = spec.validate?.(value);
  if (problem !== undefined) fail(name, spec, raw, problem);
  return value;
}

/** Converts a raw TOML (or command-line) value to the key's type and validates it. Throws ConfigError. */
export function coerce<V>(name: string, spec: KeySpec<V>, raw: unknown): V {
  let value: unknown;
  switch (spec.kind) {
    case 'string':
      if (typeof raw !== 'string') fail(name, spec, raw, 'not a string');
      value = raw;
      break;
    case 'bool':
      if (typeof raw !== 'boolean') fail(name, spec, raw, 'not a boolean');
      value = raw;
      break;
    case 'int':
      if (typeof raw === 'bigint') fail(name, spec, raw, 'out of range');
      if (typeof raw !== 'number' || !Number.isInteger(raw)) fail(name, spec, raw, 'not an integer');
      value = raw;
      break;
    case 'size':
    case 'duration':
      if (typeof raw !== 'string' && typeof raw !== 'number') fail(name, spec, raw, `not a ${spec.kind}`);
      try {
        value = spec.kind === 'size' ? parseSize(raw) : parseDuration(raw);
      } catch (e) {
        fail(name, spec, raw, e instanceof UnitError ? e.problem : String(e));
      }
      break;
    case 'enum': {
      const values = spec.values ?? [];
      const found =
        typeof raw === 'string' ? values.find((v) => v.toLowerCase() === raw.toLowerCase()) : undefined;
      if (found === undefined) fail(name, spec, raw, oneOf(values));
      value = found;
      break;
    }
  }
  return checkRules(name, spec, value as V, raw);
}

function oneOf(values: readonly string[]): string {
  return `must be one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
}

function runCheck<T>(schema: Schema<T>, values: T): void {
  const bad = schema.check?.(values);
  if (!bad) return;
  fail(bad.key, schema.keys[bad.key] as KeySpec<unknown>, showable(schema, bad.key, values), bad.problem);
}

/** A parsed value in its text form (sizes and durations as `"30s"`) for error messages. */
function showable<T>(schema: Schema<T>, name: keyof T & string, values: T): unknown {
  const spec = schema.keys[name] as KeySpec<unknown>;
  const v = values[name];
  if (typeof v === 'number' && spec.kind === 'size') return formatSize(v);
  if (typeof v === 'number' && spec.kind === 'duration') return formatDuration(v);
  return v;
}

/**
 * Validates a whole values object (e.g. after command-line overrides). Missing keys, wrong types
 * and broken rules throw ConfigError.
 */
export function validate<T>(schema: Schema<T>, values: T): void {
  for (const name of keysOf(schema)) {
    const spec = schema.keys[name] as KeySpec<unknown>;
    const v: unknown = values[name];
    const expected =
      spec.kind === 'bool' ? 'boolean' : spec.kind === 'string' || spec.kind === 'enum' ? 'string' : 'number';
    if (typeof v !== expected) fail(name, spec, v, `not a ${expected}`);
    if (
      typeof v === 'number' &&
      (!Number.isFinite(v) || (spec.kind !== 'duration' && !Number.isInteger(v)))
    ) {
      fail(name, spec, v, 'not a finite integer');
    }
    if (spec.kind === 'enum' && !(spec.values ?? []).includes(v as string))
      fail(name, spec, v, oneOf(spec.values ?? []));
    checkRules(name, spec, v, showable(schema, name, values));
  }
  runCheck(schema, values);
}

export interface LoadResult<T> {
  values: T;
  /** One line each, e.g. `unknown key "foo" ignored`. */
  warnings: string[];
}

export interface LoadOptions<T> {
  /** Prefixed to messages, usually the file name. */
  source?: string;
  /** Values to merge over; the defaults when absent. */
  base?: T;
}

/** Parses TOML text and merges it over the defaults (or `base`), then validates. Throws ConfigError. */
export function loadToml<T>(text: string, schema: Schema<T>, opts: LoadOptions<T> = {}): LoadResult<T> {
  const where = opts.source ? `${opts.source}: ` : '';
  let doc: Record<string, unknown>;
  try {
    doc = parse(text);
  } catch (e) {
    if (e instanceof TomlError) {
      const reason = e.message.split('\n')[0]!.replace(/^Invalid TOML document:\s*/, '');
      throw new ConfigError(`${where}invalid TOML at line ${e.line}, column ${e.column}: ${reason}`);
    }
    throw new ConfigError(`${where}invalid TOML: ${String(e)}`);
  }
  const values = { ...(opts.base ?? defaults(schema)) } as T;
  const out = values as Record<string, unknown>;
  const warnings: string[] = [];
  for (const [name, raw] of Object.entries(doc)) {
    if (!Object.hasOwn(schema.keys as object, name)) {
      warnings.push(`${where}unknown key ${JSON.stringify(name)} ignored`);
      continue;
    }
    try {
      out[name] = coerce(name, schema.keys[name as keyof T] as KeySpec<unknown>, raw);
    } catch (e) {
      if (e instanceof ConfigError && where) throw new ConfigError(where + e.message, e.key);
      throw e;
    }
  }
  try {
    runCheck(schema, values);
  } catch (e) {
    if (e instanceof ConfigError && where) throw new ConfigError(where + e.message, e.key);
    throw e;
  }
  return { values, warnings };
}

/**
 * Reads the TOML file at `path` over the defaults and validates; without a path, the defaults. Unknown keys
 * are ignored and passed to `warn` (default: a process warning on stderr). Throws ConfigError.
 */
export function loadConfigFile<T>(
  path: string | undefined,
  schema: Schema<T>,
  warn?: (msg: string) => void,
): T {
  if (path === undefined) return defaults(schema);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config ${path}: ${(e as Error).message}`);
  }
  const { values, warnings } = loadToml(text, schema, { source: path });
  for (const w of warnings) {
    if (warn) warn(w);
    else process.emitWarning(w, 'ConfigWarning');
  }
  return values;
}

/** A TOML basic string (JSON escapes are valid TOML escapes; DEL must be escaped too). */
function tomlString(s: string): string {
  return JSON.stringify(s).replace(/\x7f/g, '\\u007f');
}

function renderValue(spec: KeySpec<unknown>, v: unknown): string {
  switch (spec.kind) {
    case 'size':
      return tomlString(formatSize(v as number));
    case 'duration':
      return tomlString(formatDuration(v as number));
    case 'string':
    case 'enum':
      return tomlString(String(v));
    default:
      return String(v);
  }
}

function banner(title: string): string {
  const width = 50;
  const inner = width - 2;
  const left = Math.floor((inner - title.length) / 2);
  const line = '#'.repeat(width);
  const blank = '#' + ' '.repeat(inner) + '#';
  const mid = '#' + ' '.repeat(left) + title + ' '.repeat(Math.max(0, inner - left - title.length)) + '#';
  return [line, blank, mid, blank, line].join('\n') + '\n';
}

/** The documented TOML file for `values`: banner, then every key with its comment. */
export function renderToml<T>(schema: Schema<T>, values: T): string {
  let out = schema.title ? '\n' + banner(schema.title) : '';
  for (const name of keysOf(schema)) {
    const spec = schema.keys[name] as KeySpec<unknown>;
    if (spec.doc !== undefined) {
      out +=
        '\n' +
        spec.doc
          .split('\n')
          .map((l) => (l === '' ? '#' : `# ${l}`))
          .join('\n') +
        '\n';
    }
    out += `${name} = ${renderValue(spec, values[name])}\n`;
  }
  return out;
}

/**
 * The Codis JSON form: same key names, sizes and durations as strings (`"1gb"`, `"30s"`), and without
 * the `hidden` keys (by default the ones marked secret).
 */
export function toJson<T>(
  schema: Schema<T>,
  values: T,
  hidden?: Iterable<keyof T & string>,
): Record<string, unknown> {
  const skip = new Set<string>(hidden ?? keysOf(schema).filter((k) => schema.keys[k].secret));
  const out: Record<string, unknown> = {};
  for (const name of keysOf(schema)) {
    if (skip.has(name)) continue;
    const spec = schema.keys[name] as KeySpec<unknown>;
    const v = values[name];
    if (spec.kind === 'size') out[name] = formatSize(v as number);
    else if (spec.kind === 'duration') out[name] = formatDuration(v as number);
    else out[name] = v;
  }
  return out;
}
