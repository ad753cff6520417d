/**
 * The write batching every session and backend connection relies on: each target is flushed
 * exactly once per scheduling, a late flush comes after the next turn's poll, and a target
 * moved from the late queue to this turn's is flushed there and not again. A lost flush would
 * leave requests unsent and their clients waiting for ever.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NOT_QUEUED, scheduleFlush, scheduleLateFlush, type Flushable } from '../../src/proxy/Flusher.js';

class Target implements Flushable {
  flushQueued = NOT_QUEUED;
  constructor(
    readonly name: string,
    private readonly log: string[],
  ) {}
  flush(): void {
    this.log.push(this.name);
  }
}

/** Two targets that note in one log when they are flushed. */
function twoTargets(): { log: string[]; a: Target; b: Target } {
  const log: string[] = [];
  return { log, a: new Target('a', log), b: new Target('b', log) };
}

/** Resolves after `n` more event-loop turns (each immediate queued from one runs in the next). */
function turns(n: number): Promise<void> {
  return new Promise((resolve) => {
    const step = (left: number): void => {
      if (left === 0) resolve();
      else setImmediate(step, left - 1);
    };
    setImmediate(step, n - 1);
  });
}

test('a flush asked for many times in a turn happens once, in that turn', async () => {
  const { log, a, b } = twoTargets();
  for (let i = 0; i < 5; i++) {
    scheduleFlush(a);
    scheduleFlush(b);
  }
  await turns(1);
  assert.deepEqual(log, ['a', 'b']);
  assert.equal(a.flushQueued, NOT_QUEUED);
  scheduleFlush(a);
  await turns(1);
  assert.deepEqual(log, ['a', 'b', 'a'], 'a target can be queued again once flushed');
});

test('a late flush waits for the next turn, and targets queued meanwhile join it', async () => {
  const { log, a, b } = twoTargets();
  scheduleLateFlush(a);
  scheduleLateFlush(a);
  await turns(1);
  assert.deepEqual(log, [], 'not flushed in the turn it was queued');
  scheduleLateFlush(b);
  await turns(1);
  assert.deepEqual(log, ['a', 'b']);
  await turns(2);
  assert.deepEqual(log, ['a', 'b'], 'and not flushed again');
});

test('a target moved from the late queue to this turn is flushed this turn, once', async () => {
  const { log, a, b } = twoTargets();
  scheduleLateFlush(a);
  scheduleLateFlush(b);
  scheduleFlush(a);
  await turns(1);
  assert.deepEqual(log, ['a']);
  // Queued late again before the old late run: flushed by that run, once.
  scheduleLateFlush(a);
  await turns(2);
  assert.deepEqual(log.sort(), ['a', 'a', 'b']);
  assert.equal(a.flushQueued, NOT_QUEUED);
  assert.equal(b.flushQueued, NOT_QUEUED);
});
