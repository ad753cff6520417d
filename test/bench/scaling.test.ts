/**
 * What the scaling bench picks by itself: a CPU cap where the machine lacks a core per worker
 * (and three for the client and the servers), and client threads where the workers run free.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { benchArgs, WORKLOADS } from '../../bench/redisBenchmark.js';
import { clientThreads, defaultShare } from '../../bench/scaling.js';

test('workers are capped at 0.2 of a core unless the machine has a core for each and three more', () => {
  assert.equal(defaultShare([1, 2, 4], 2), 0.2);
  assert.equal(defaultShare([1, 2, 4], 6), 0.2);
  assert.equal(defaultShare([1, 2, 4], 7), 0);
  assert.equal(defaultShare([1, 8], 10), 0.2);
  assert.equal(defaultShare([1, 8], 11), 0);
});

test('uncapped workers get a multi-threaded client, from the cores they and the servers leave', () => {
  // Capped workers: one client thread drives them, whatever the cores.
  assert.equal(clientThreads(0.2, [1, 2, 4], 64), 1);
  assert.equal(clientThreads(0, [1, 2, 4], 7), 1);
  assert.equal(clientThreads(0, [1, 2, 4], 10), 4);
  assert.equal(clientThreads(0, [1, 2, 4], 64), 8);
  const get = WORKLOADS.find((w) => w.id === 'get-p1')!;
  assert.deepEqual(benchArgs(get, '127.0.0.1', 1, 10, 4).slice(-2), ['--threads', '4']);
  assert.equal(benchArgs(get, '127.0.0.1', 1, 10).includes('--threads'), false);
});
