/**
 * Codis config units: byte sizes ("128kb", powers of 1024) and Go-style durations ("1h30m").
 * Durations are carried as milliseconds (a number, fractions allowed for us/ns).
 */

/** Thrown for unparsable input; `problem` is the short reason used in config error messages. */
export class UnitError extends Error {
  constructor(
    readonly problem: string,
    input: unknown,
  ) {
    super(`${JSON.stringify(typeof input === 'string' ? input : String(input))}: ${problem}`);
    this.name = 'UnitError';
  }
}

const KB = 1024;
const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: KB,
  kb: KB,
  m: KB ** 2,
  mb: KB ** 2,
  g: KB ** 3,
  gb: KB ** 3,
  t: KB ** 4,
  tb: KB ** 4,
  p: KB ** 5,
  pb: KB ** 5,
};
/** Largest first, so that formatting picks the most compact exact unit. */
const SIZE_FORMAT: [string, number][] = [
  ['pb', KB ** 5],
  ['tb', KB ** 4],
  ['gb', KB ** 3],
  ['mb', KB ** 2],
  ['kb', KB],
];

const NUMBER = String.raw`[-+]?(?:\d+(?:\.\d*)?|\.\d+)`;
const SIZE_RE = new RegExp(`^(${NUMBER})\\s*([a-z]*)$`);

/** Parses a size to bytes. A bare number is bytes; fractions are truncated to whole bytes (as Codis). */
export function parseSize(input: string | number): number {
  if (typeof input === 'number') return checkBytes(input, input);
  const m = SIZE_RE.exec(input.trim().toLowerCase());
  const unit = m ? SIZE_UNITS[m[2]!] : undefined;
  if (!m || unit === undefined) throw new UnitError('not a size', input);
  return checkBytes(Number(m[1]) * unit, input);
}

function checkBytes(n: number, input: unknown): number {
  if (!Number.isFinite(n)) throw new UnitError('not a size', input);
  const bytes = Math.trunc(n);
  if (!Number.isSafeInteger(bytes)) throw new UnitError('size out of range', input);
  return bytes === 0 ? 0 : bytes; // no -0
}

/** `"1gb"`, `"128kb"`, `"0"`; a size that is not a whole number of kb is written as bare bytes. */
export function formatSize(bytes: number): string {
  const n = Math.trunc(bytes);
  if (n === 0) return '0';
  for (const [name, unit] of SIZE_FORMAT) {
    if (n % unit === 0) return `${n / unit}${name}`;
  }
  return String(n);
}

const NS_PER_MS = 1e6;
/** Go's time.ParseDuration units, in nanoseconds. */
const DURATION_UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};
const DURATION_FORMAT: [string, number][] = [
  ['h', 3600e9],
  ['m', 60e9],
  ['s', 1e9],
  ['ms', 1e6],
  ['us', 1e3],
];
const COMPONENT_RE = /(\d+(?:\.\d*)?|\.\d+)([a-zµμ]+)/y;
const BARE_SECONDS_RE = new RegExp(`^${NUMBER}$`);

/**
 * Parses a duration to milliseconds: Go syntax (`"300ms"`, `"1h30m"`, `"-5s"`) or a bare number of
 * seconds (`"1.5"`, or a TOML number), as Codis's timesize does.
 */
export function parseDuration(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) throw new UnitError('not a duration', input);
    return nsToMs(input * 1e9, input);
  }
  const s = input.trim();
  if (BARE_SECONDS_RE.test(s)) return nsToMs(Number(s) * 1e9, input);
  let i = 0;
  let sign = 1;
  if (s[0] === '-' || s[0] === '+') {
    sign = s[0] === '-' ? -1 : 1;
    i = 1;
  }
  if (i === s.length) throw new UnitError('not a duration', input);
  let ns = 0;
  while (i < s.length) {
    COMPONENT_RE.lastIndex = i;
    const m = COMPONENT_RE.exec(s);
    const unit = m ? DURATION_UNITS[m[2]!] : undefined;
    if (!m || unit === undefined) throw new UnitError('not a duration', input);
    ns += Number(m[1]) * unit;
    i = COMPONENT_RE.lastIndex;
  }
  return nsToMs(sign * ns, input);
}

function nsToMs(ns: number, input: unknown): number {
  const whole = Math.trunc(ns); // Go keeps whole nanoseconds
  if (!Number.isSafeInteger(whole)) throw new UnitError('duration out of range', input);
  const ms = whole / NS_PER_MS;
  return ms === 0 ? 0 : ms;
}

/** `"30s"`, `"5m"`, `"90m"`, `"250ms"`, `"0"`: the largest single unit that is exact. */
export function formatDuration(ms: number): string {
  const ns = Math.round(ms * NS_PER_MS);
  if (ns === 0) return '0';
  for (const [name, unit] of DURATION_FORMAT) {
    if (ns % unit === 0) return `${ns / unit}${name}`;
  }
  return `${ns}ns`;
}
