/**
 * `codis-admin`: the Codis 3.2 admin tool (reference §8.3). The command line must match one line of
 * the usage (usage.ts); the options choose the mode: `--proxy` (a proxy's admin API), `--dashboard`
 * (the dashboard's API) or the coordinator (the store itself).
 *
 * Exit status: 0 on success; 2 with the usage for bad arguments; 1 with one line
 * (`codis-admin: call rpc … failed: [Remote Error] <cause>`) when a call or the store fails.
 */
import { ArgReader, parseArgs, UsageError } from './args.js';
import { AdminError } from './client.js';
import { dashboardMain } from './dashboardCmd.js';
import { processIo, type Io } from './output.js';
import { proxyMain } from './proxyCmd.js';
import { USAGE } from './usage.js';

/** An error's message followed by its causes' (the store wraps coordinator errors), once each. */
function describeChain(err: Error): string {
  let text = err.message;
  for (let c = err.cause; c instanceof Error && !(err instanceof AdminError); c = c.cause) {
    if (!text.includes(c.message)) text += `: ${c.message}`;
  }
  return text;
}

/** Runs codis-admin with the arguments after the program name and returns the exit status. */
export async function run(args: readonly string[], io: Io = processIo()): Promise<number> {
  let reader: ArgReader;
  try {
    const parsed = parseArgs(args);
    if (parsed.help) {
      io.out(USAGE);
      return 0;
    }
    reader = new ArgReader(parsed);
    io.verbose = reader.has('-v');
    if (reader.has('--proxy')) await proxyMain(reader, io);
    else if (reader.has('--dashboard')) await dashboardMain(reader, io);
    else {
      // Loaded on demand: the etcd and ZooKeeper clients take a while to import.
      const { coordinatorMain } = await import('./coordinatorCmd.js');
      await coordinatorMain(reader, io);
    }
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`${USAGE}\ncodis-admin: ${e.message}\n`);
      return 2;
    }
    const err = e instanceof Error ? e : new Error(String(e));
    io.err(`codis-admin: ${describeChain(err)}\n`);
    if (io.verbose && !(err instanceof AdminError) && err.stack) io.err(`${err.stack}\n`);
    return 1;
  }
}

/** The bin entry: `argv` is process.argv; exits with run()'s status once stdout is flushed. */
export async function main(argv: string[]): Promise<void> {
  const code = await run(argv.slice(2), processIo());
  // Coordinator clients and HTTP keep-alive sockets must not hold the process open.
  process.stdout.write('', () => process.exit(code));
}
