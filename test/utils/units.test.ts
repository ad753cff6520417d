import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, formatSize, parseDuration, parseSize, UnitError } from '../../src/utils/units.js';

test('parseSize: units are powers of 1024, bare numbers are bytes', () => {
  const cases: [string | number, number][] = [
    ['0', 0],
    ['100', 100],
    ['100b', 100],
    ['128kb', 128 * 1024],
    ['128k', 128 * 1024],
    ['32mb', 32 * 1024 ** 2],
    ['32m', 32 * 1024 ** 2],
    ['1gb', 1024 ** 3],
    ['1g', 1024 ** 3],
    ['2tb', 2 * 1024 ** 4],
    ['1pb', 1024 ** 5],
    ['1p', 1024 ** 5],
    ['1.5kb', 1536],
    ['0.5mb', 512 * 1024],
    ['.5k', 512],
    [' 64 KB ', 64 * 1024],
    ['1.7', 1],
    [4096, 4096],
    ['-1kb', -1024],
  ];
  for (const [input, want] of cases)
    assert.equal(parseSize(input), want, `parseSize(${JSON.stringify(input)})`);
});

test('parseSize: rejects garbage with UnitError', () => {
  for (const bad of ['', 'kb', '5x', '1.2.3kb', '1e3', '12 k b', 'abc', '1kbb', '0x10']) {
    assert.throws(
      () => parseSize(bad),
      (e: unknown) => e instanceof UnitError && e.problem === 'not a size',
      bad,
    );
  }
  assert.throws(() => parseSize(Infinity), UnitError);
  assert.throws(() => parseSize('100000pb'), /out of range/);
});

test('formatSize: most compact exact unit', () => {
  assert.equal(formatSize(0), '0');
  assert.equal(formatSize(1024 ** 3), '1gb');
  assert.equal(formatSize(1024 * 1024 * 1024 * 3), '3gb');
  assert.equal(formatSize(128 * 1024), '128kb');
  assert.equal(formatSize(1536), '1536');
  assert.equal(formatSize(100), '100');
  assert.equal(formatSize(1024 ** 5), '1pb');
  assert.equal(formatSize(3 * 1024 ** 4), '3tb');
  assert.equal(formatSize(-1024), '-1kb');
});

test('size round trips', () => {
  for (const n of [0, 1, 1023, 1024, 1536, 64 * 1024, 1024 ** 3 + 1024, 7 * 1024 ** 4]) {
    assert.equal(parseSize(formatSize(n)), n);
  }
  for (const s of ['1gb', '128kb', '0', '3mb', '1000']) assert.equal(formatSize(parseSize(s)), s);
});

test('parseDuration: Go syntax to milliseconds, bare number = seconds', () => {
  const cases: [string | number, number][] = [
    ['0', 0],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['1h30m15s', 5_415_000],
    ['250ms', 250],
    ['1.5s', 1500],
    ['.5s', 500],
    ['1.5h', 5_400_000],
    ['500us', 0.5],
    ['500µs', 0.5],
    ['1500000ns', 1.5],
    ['10', 10_000],
    ['1.5', 1500],
    [' 20s ', 20_000],
    [2, 2000],
    [0.25, 250],
    ['-5s', -5000],
    ['+5s', 5000],
    ['2m3s4ms', 123_004],
  ];
  for (const [input, want] of cases)
    assert.equal(parseDuration(input), want, `parseDuration(${JSON.stringify(input)})`);
});

test('parseDuration: rejects garbage with UnitError', () => {
  for (const bad of ['', '5x', 's', '1d', '1 h', '5S', 'h1', '-', '1h 30m', '30sec', '1e3s']) {
    assert.throws(
      () => parseDuration(bad),
      (e: unknown) => e instanceof UnitError && e.problem === 'not a duration',
      bad,
    );
  }
  assert.throws(() => parseDuration(NaN), UnitError);
});

test('formatDuration: the largest exact single unit', () => {
  assert.equal(formatDuration(0), '0');
  assert.equal(formatDuration(30_000), '30s');
  assert.equal(formatDuration(300_000), '5m');
  assert.equal(formatDuration(3_600_000), '1h');
  assert.equal(formatDuration(5_400_000), '90m');
  assert.equal(formatDuration(1500), '1500ms');
  assert.equal(formatDuration(0.5), '500us');
  assert.equal(formatDuration(0.000001), '1ns');
  assert.equal(formatDuration(-5000), '-5s');
});

test('duration round trips', () => {
  for (const ms of [0, 1, 999, 1000, 30_000, 75_000, 1_800_000, 5_400_000, 0.001, 86_400_000]) {
    assert.equal(parseDuration(formatDuration(ms)), ms);
  }
  for (const s of ['30s', '5m', '1h', '75s', '30m', '20s', '0', '100ms'])
    assert.equal(formatDuration(parseDuration(s)), s);
});
