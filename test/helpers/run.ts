/** Runs a node script (a bin, the bench) or another program to completion and collects what it printed. */
import { spawn } from 'node:child_process';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A script still running after `ms` is killed, and the promise rejects naming it. */
export function runNode(script: string, args: readonly string[], ms = 30_000): Promise<RunResult> {
  return runProgram(process.execPath, [script, ...args], ms);
}

/** As runNode, for any program. */
export function runProgram(file: string, args: readonly string[], ms = 30_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} ${args.join(' ')} still running after ${ms} ms: ${stderr}`));
    }, ms);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
