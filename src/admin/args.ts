/**
 * A small docopt for codis-admin: reads the usage patterns (usage.ts), splits the command line
 * into options and words, and accepts it only when one usage line matches it completely, as
 * docopt does: options in any order, `--opt=VAL`, `--opt VAL`, `-x VAL`, `-xVAL`, unique prefixes
 * of long options, and no option given twice.
 */
import { shortAliases, usagePatterns } from './usage.js';

/** Bad arguments: main prints the usage and this message, and exits 2. */
export class UsageError extends Error {}

/** The matched command line: option name (`--gid`, `-v`) → value (true for flags), plus the command word. */
export interface Args {
  readonly opts: ReadonlyMap<string, string | true>;
  /** `config`, `model`, `stats`, `slots`, `group` or `proxy` when given. */
  readonly command?: string;
  /** Index of the usage line that matched. */
  readonly line: number;
}

type Node =
  | { t: 'opt'; name: string }
  | { t: 'cmd'; word: string }
  | { t: 'seq'; kids: Node[] }
  | { t: 'optional'; kids: Node[] }
  | { t: 'either'; alts: Node[] };

interface Grammar {
  patterns: Node[];
  /** Every option and whether it takes a value. */
  options: Map<string, boolean>;
  aliases: Map<string, string>;
}

let cached: Grammar | undefined;

function grammar(): Grammar {
  if (cached) return cached;
  const options = new Map<string, boolean>();
  const patterns = usagePatterns().map((line) => parsePattern(line, options));
  cached = { patterns, options, aliases: shortAliases() };
  return cached;
}

/** Parses one usage line (after the program name) into a pattern tree. */
function parsePattern(line: string, options: Map<string, boolean>): Node {
  const tokens = line
    .replace(/([()[\]|])/g, ' $1 ')
    .split(/\s+/)
    .filter(Boolean)
    .slice(1);
  let i = 0;
  const expr = (): Node => {
    const alts: Node[] = [seq()];
    while (tokens[i] === '|') {
      i++;
      alts.push(seq());
    }
    return alts.length === 1 ? alts[0]! : { t: 'either', alts };
  };
  const seq = (): Node => {
    const kids: Node[] = [];
    for (
      let tok = tokens[i];
      tok !== undefined && tok !== '|' && tok !== ')' && tok !== ']';
      tok = tokens[i]
    ) {
      i++;
      if (tok === '(' || tok === '[') {
        const inner = expr();
        const close = tokens[i++];
        if (close !== (tok === '(' ? ')' : ']')) throw new Error(`usage: unbalanced ${tok} in ${line}`);
        kids.push(tok === '(' ? inner : { t: 'optional', kids: [inner] });
      } else if (tok.startsWith('-')) {
        const eq = tok.indexOf('=');
        const name = eq < 0 ? tok : tok.slice(0, eq);
        options.set(name, options.get(name) === true || eq >= 0);
        kids.push({ t: 'opt', name });
      } else {
        kids.push({ t: 'cmd', word: tok });
      }
    }
    return kids.length === 1 ? kids[0]! : { t: 'seq', kids };
  };
  const node = expr();
  if (i !== tokens.length) throw new Error(`usage: cannot parse ${line}`);
  return node;
}

interface State {
  left: ReadonlySet<string>;
  pos: number;
}

/** Every way the node can consume options and words from the state (docopt matching). */
function match(node: Node, s: State, words: readonly string[]): State[] {
  switch (node.t) {
    case 'opt': {
      if (!s.left.has(node.name)) return [];
      const left = new Set(s.left);
      left.delete(node.name);
      return [{ left, pos: s.pos }];
    }
    case 'cmd':
      return words[s.pos] === node.word ? [{ left: s.left, pos: s.pos + 1 }] : [];
    case 'seq':
      return node.kids.reduce<State[]>((states, kid) => states.flatMap((x) => match(kid, x, words)), [s]);
    case 'optional':
      return node.kids.reduce<State[]>(
        (states, kid) => states.flatMap((x) => [x, ...match(kid, x, words)]),
        [s],
      );
    case 'either':
      return node.alts.flatMap((alt) => match(alt, s, words));
  }
}

/** Finds the long option `name` or the one it uniquely abbreviates. */
function resolveLong(name: string, g: Grammar): string {
  if (g.options.has(name)) return name;
  const similar = [...g.options.keys()].filter((o) => o.startsWith('--') && o.startsWith(name));
  if (similar.length === 1) return similar[0]!;
  if (similar.length > 1) throw new UsageError(`${name} is not a unique prefix: ${similar.join(', ')}?`);
  throw new UsageError(`unknown option ${name}`);
}

/** Result of parseArgs: the arguments, or a request for help. */
export type Parsed = { help: true } | ({ help: false } & Args);

/** Parses the arguments after the program name; throws UsageError unless one usage line matches. */
export function parseArgs(argv: readonly string[]): Parsed {
  const g = grammar();
  const opts = new Map<string, string | true>();
  const words: string[] = [];
  const set = (name: string, value: string | true) => {
    if (opts.has(name)) throw new UsageError(`option ${name} is given more than once`);
    opts.set(name, value);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') return { help: true };
    if (arg === '--') {
      words.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = resolveLong(eq < 0 ? arg : arg.slice(0, eq), g);
      if (g.options.get(name)) {
        const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
        if (value === undefined) throw new UsageError(`option ${name} requires an argument`);
        set(name, value);
      } else {
        if (eq >= 0) throw new UsageError(`option ${name} must not have an argument`);
        set(name, true);
      }
    } else if (arg.startsWith('-') && arg.length > 1) {
      for (let k = 1; k < arg.length; k++) {
        const short = `-${arg[k]}`;
        const name = g.aliases.get(arg[k]!) ?? short;
        if (!g.options.has(name)) throw new UsageError(`unknown option ${short}`);
        if (g.options.get(name)) {
          const value = k + 1 < arg.length ? arg.slice(k + 1) : argv[++i];
          if (value === undefined) throw new UsageError(`option ${short} requires an argument`);
          set(name, value);
          break;
        }
        set(name, true);
      }
    } else {
      words.push(arg);
    }
  }
  const start: State = { left: new Set(opts.keys()), pos: 0 };
  for (const [line, p] of g.patterns.entries()) {
    if (match(p, start, words).some((s) => s.left.size === 0 && s.pos === words.length)) {
      return { help: false, opts, command: words[0], line };
    }
  }
  if (argv.length === 0) throw new UsageError('no arguments');
  throw new UsageError(`these arguments match no usage line: ${argv.join(' ')}`);
}

/** Typed access to the matched arguments. */
export class ArgReader {
  constructor(readonly args: Args) {}

  has(name: string): boolean {
    return this.args.opts.has(name);
  }

  /** The value of an option that takes one, or undefined. */
  str(name: string): string | undefined {
    const v = this.args.opts.get(name);
    return typeof v === 'string' ? v : undefined;
  }

  /** A required string option (the usage line guarantees it). */
  must(name: string): string {
    const v = this.str(name);
    if (v === undefined) throw new UsageError(`missing option ${name}`);
    if (v.trim() === '') throw new UsageError(`option ${name} needs a value`);
    return v;
  }

  /** A required integer option; anything but a plain decimal integer is a usage error. */
  int(name: string): number {
    const v = this.must(name);
    if (!/^[-+]?\d+$/.test(v.trim()) || !Number.isSafeInteger(Number(v))) {
      throw new UsageError(`option ${name} = ${v}: not an integer`);
    }
    return Number(v);
  }
}
