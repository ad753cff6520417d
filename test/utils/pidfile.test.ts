import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writePidfile } from '../../src/utils/cli.js';

test('writePidfile writes our pid, over a stale or garbled file, but never over a live process', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pidfile-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'x.pid');
  const ours = `${process.pid}\n`;

  writePidfile(file);
  assert.equal(readFileSync(file, 'utf8'), ours, 'a new file');
  writePidfile(file);
  assert.equal(readFileSync(file, 'utf8'), ours, 'our own pid again');
  writeFileSync(file, 'not a pid\n');
  writePidfile(file);
  assert.equal(readFileSync(file, 'utf8'), ours, 'garbage replaced');

  // A process that has exited leaves a stale pid: it is replaced.
  const gone = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => gone.once('exit', r));
  writeFileSync(file, `${gone.pid}\n`);
  writePidfile(file);
  assert.equal(readFileSync(file, 'utf8'), ours, 'stale pid replaced');

  // A live process keeps its pidfile.
  const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
  t.after(() => live.kill('SIGKILL'));
  await new Promise((r) => live.once('spawn', r));
  writeFileSync(file, `${live.pid}\n`);
  assert.throws(
    () => writePidfile(file),
    new RegExp(`pidfile ${file} names process ${live.pid}, which is running`),
  );
  assert.equal(readFileSync(file, 'utf8'), `${live.pid}\n`, 'left alone');
  writePidfile(undefined);
});
