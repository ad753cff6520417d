/** What the daemons' command lines (codis-proxy, codis-dashboard) share: flag parsing, exits, the pid file. */
import type { Command, OptionValues } from 'commander';
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';

/** Prints `<program>: msg` on stderr and exits with `code` (default 1; 2 for bad flags or config). */
export type Fatal = (msg: string, code?: number) => never;

/** The `fatal` of one program; declare it `const fatal: Fatal = …` so the compiler sees that it never returns. */
export function fatalFor(program: string): Fatal {
  return (msg, code = 1) => {
    process.stderr.write(`${program}: ${msg}\n`);
    process.exit(code);
  };
}

/**
 * Ends `program` with the flags every daemon has (--default-config, --version), then parses `argv`:
 * --help and --version exit 0, a usage error prints the help and exits 2.
 */
export function parseDaemonFlags<F extends OptionValues>(
  program: Command,
  argv: string[],
  version: string,
): F {
  program
    .option('--default-config', 'print the default config and exit')
    .version(version, '--version')
    .showHelpAfterError()
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
  program.parse(argv);
  return program.opts<F>();
}

/**
 * Writes the --pidfile, if one was given. It is written before the ports open, so whoever sees
 * the process answer also finds its pidfile; a pidfile naming another live process is left
 * alone (a second instance started by mistake must not take the first one's away), and the
 * error says so.
 */
export function writePidfile(file: string | undefined): void {
  if (!file) return;
  let old = NaN;
  try {
    old = Number(readFileSync(file, 'utf8').trim());
  } catch {
    /* no pidfile yet */
  }
  if (Number.isInteger(old) && old > 0 && old !== process.pid && isAlive(old)) {
    throw new Error(`pidfile ${file} names process ${old}, which is running`);
  }
  writeFileSync(file, `${process.pid}\n`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the --pidfile, if one was given; a file already gone is fine. */
export function removePidfile(file: string | undefined): void {
  if (!file) return;
  try {
    unlinkSync(file);
  } catch {
    /* already gone, or never written */
  }
}
