/** Runs the real bin/codis-admin (built code) and collects its output. */
import { join } from 'node:path';
import { run } from '../../src/admin/main.js';
import { ROOT } from '../helpers/proxy.js';
import { runNode } from '../helpers/run.js';

export const ADMIN_BIN = join(ROOT, 'bin/codis-admin');

export interface AdminResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function admin(...args: string[]): Promise<AdminResult> {
  return runNode(ADMIN_BIN, args);
}

/** Runs codis-admin and fails with its stderr unless it exits 0. */
export async function adminOk(...args: string[]): Promise<string> {
  const r = await admin(...args);
  if (r.code !== 0) throw new Error(`codis-admin ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** Last non-empty stderr line (the reason after the usage). */
export const lastLine = (text: string) =>
  text
    .trim()
    .split('\n')
    .filter((l) => l.trim())
    .at(-1) ?? '';

/** The same, in this process (run() returns the status instead of exiting): fast for long tables of cases. */
export async function adminIn(...args: string[]): Promise<AdminResult> {
  let stdout = '';
  let stderr = '';
  const code = await run(args, {
    out: (t) => void (stdout += t),
    err: (t) => void (stderr += t),
    verbose: false,
  });
  return { code, stdout, stderr };
}

export async function adminInOk(...args: string[]): Promise<string> {
  const r = await adminIn(...args);
  if (r.code !== 0) throw new Error(`codis-admin ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}
