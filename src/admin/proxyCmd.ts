/**
 * Proxy mode: `codis-admin --proxy=ADDR [--auth=AUTH] …` (reference §8.3). Without an action it
 * prints the overview (`GET /proxy`) or one part of it; every action first checks the xauth built
 * from the proxy's model and `--auth`, and prints nothing on success.
 */
import { readFile } from 'node:fs/promises';
import { parseSlotsJson } from '../models/Slot.js';
import { UsageError, type ArgReader } from './args.js';
import { AdminError, ProxyClient } from './client.js';
import { jsonText, type Io } from './output.js';

const LOG_LEVELS: Record<string, string> = {
  INFO: 'INFO',
  WARN: 'WARN',
  WARNING: 'WARN',
  DEBUG: 'DEBUG',
  ERROR: 'ERROR',
  NONE: 'NONE',
};

/** A Codis log level name (case-insensitive) in its canonical upper case; a usage error otherwise. */
export function canonicalLogLevel(value: string): string {
  const level = LOG_LEVELS[value.trim().toUpperCase()];
  if (!level) throw new UsageError(`option --log-level = ${value}: use INFO, WARN, DEBUG, ERROR or NONE`);
  return level;
}

/** Reads a `--fillslots` file: a JSON array of Slot (§5.4), checked entry by entry. */
export async function readSlotsFile(file: string, locked: boolean): Promise<unknown[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new AdminError(`load slots from file '${file}' failed: ${(e as Error).message}`);
  }
  let slots;
  try {
    slots = parseSlotsJson(text);
  } catch (e) {
    throw new AdminError(`decode slots from '${file}' failed: ${(e as Error).message}`);
  }
  return slots.map((s) => (locked ? { ...s, locked: true } : s));
}

export async function proxyMain(a: ArgReader, io: Io): Promise<void> {
  const c = new ProxyClient(io, a.must('--proxy'), a.str('--auth') ?? '');

  const actions: [string, () => Promise<void>][] = [
    ['--start', async () => void (await c.start())],
    ['--shutdown', async () => void (await c.shutdown())],
    ['--reset-stats', async () => void (await c.resetStats())],
    ['--forcegc', async () => void (await c.forceGC())],
  ];
  if (a.has('--log-level')) {
    const level = canonicalLogLevel(a.must('--log-level'));
    await c.login();
    await c.logLevel(level);
    return;
  }
  if (a.has('--fillslots')) {
    const slots = await readSlotsFile(a.must('--fillslots'), a.has('--locked'));
    await c.login();
    await c.fillSlots(slots);
    return;
  }
  for (const [name, run] of actions) {
    if (a.has(name)) {
      await c.login();
      await run();
      return;
    }
  }

  const o = await c.overview();
  const part = a.args.command;
  io.out(jsonText(part === undefined ? o : o[part]));
}
