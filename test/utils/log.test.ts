import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, parseLogLevel } from '../../src/utils/log.js';

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'codis-ts-log-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function lines(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('parseLogLevel takes Codis names, case-insensitive', () => {
  assert.equal(parseLogLevel('INFO'), 'info');
  assert.equal(parseLogLevel('warn'), 'warn');
  assert.equal(parseLogLevel('Debug'), 'debug');
  assert.equal(parseLogLevel('error'), 'error');
  assert.equal(parseLogLevel('none'), 'silent');
  for (const bad of ['', 'verbose', 'trace', 'fatal', 'silent'])
    assert.throws(() => parseLogLevel(bad), /^Error: invalid loglevel/);
});

test('file logger appends, filters by level, and setLevel changes it', () => {
  withDir((dir) => {
    const file = join(dir, 'sub', 'proxy.log');
    const log0 = createLogger({ file });
    log0.info('first');
    writeFileSync(file, readFileSync(file, 'utf8') + 'not json\n');
    const log = createLogger({ file, level: 'warn', name: 'proxy' });
    assert.equal(log.levelName(), 'WARN');
    log.info('dropped');
    log.warn({ slot: 7 }, 'kept');
    log.setLevel('DEBUG');
    assert.equal(log.levelName(), 'DEBUG');
    log.debug('debug now');
    log.setLevel('none');
    log.error('silenced');
    assert.throws(() => log.setLevel('loud'), /invalid loglevel/);
    assert.equal(log.levelName(), 'NONE');
    const got = lines(file);
    assert.deepEqual(
      got.map((l) => [l.level, l.msg]),
      [
        ['INFO', 'first'],
        ['WARN', 'kept'],
        ['DEBUG', 'debug now'],
      ],
    );
    assert.match(readFileSync(file, 'utf8'), /\nnot json\n/);
    assert.equal(got[1]!.slot, 7);
    assert.equal(got[1]!.name, 'proxy');
    assert.equal(got[1]!.pid, process.pid);
    assert.match(String(got[1]!.time), /^\d{4}-\d\d-\d\dT/);
  });
});

test('createLogger rejects a bad level', () => {
  assert.throws(() => createLogger({ level: 'chatty' }), /invalid loglevel = "chatty"/);
});
