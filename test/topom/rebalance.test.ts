import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newSlotMapping, type SlotMapping } from '../../src/models/SlotMapping.js';
import { planRebalance, RebalanceError } from '../../src/topom/rebalance.js';
import { MAX_INTERVAL_US, pickRound } from '../../src/topom/SlotAction.js';

function slots(f: (sid: number) => Partial<SlotMapping> = () => ({})): SlotMapping[] {
  return Array.from({ length: 1024 }, (_, i) => ({ ...newSlotMapping(i), ...f(i) }));
}

function countBy(plan: Map<number, number>): Record<number, number> {
  const out: Record<number, number> = {};
  for (const gid of plan.values()) out[gid] = (out[gid] ?? 0) + 1;
  return out;
}

test('rebalance: no group with servers is an error', () => {
  assert.throws(() => planRebalance(slots(), []), RebalanceError);
});

test('rebalance: 1 group, all offline → 1024 moves to it', () => {
  const plan = planRebalance(slots(), [1]);
  assert.equal(plan.size, 1024);
  assert.deepEqual(countBy(plan), { 1: 1024 });
});

test('rebalance: 2 groups, all offline → 512 each, in slot order', () => {
  const plan = planRebalance(slots(), [2, 1]);
  assert.deepEqual(countBy(plan), { 1: 512, 2: 512 });
  assert.equal(plan.get(0), 1);
  assert.equal(plan.get(511), 1);
  assert.equal(plan.get(512), 2);
  assert.equal(plan.get(1023), 2);
  assert.deepEqual(
    [...plan.keys()],
    [...plan.keys()].sort((a, b) => a - b),
  );
});

test('rebalance: all in g1 → its 512 highest slots move to g2', () => {
  const plan = planRebalance(
    slots(() => ({ group_id: 1 })),
    [1, 2],
  );
  assert.deepEqual(countBy(plan), { 2: 512 });
  assert.deepEqual(
    [...plan.keys()],
    Array.from({ length: 512 }, (_, i) => 512 + i),
  );
});

test('rebalance: 768 pending to g1 and 256 offline → the offline ones go to g2', () => {
  const plan = planRebalance(
    slots((i) => (i < 768 ? { action: { index: i + 1, state: 'pending', target_id: 1 } } : {})),
    [1, 2],
  );
  assert.deepEqual(countBy(plan), { 2: 256 });
  assert.deepEqual(
    [...plan.keys()],
    Array.from({ length: 256 }, (_, i) => 768 + i),
  );
});

test('rebalance: already balanced → nothing moves; 3 groups split 342/341/341', () => {
  assert.equal(
    planRebalance(
      slots((i) => ({ group_id: i < 512 ? 1 : 2 })),
      [1, 2],
    ).size,
    0,
  );
  const plan = planRebalance(
    slots(() => ({ group_id: 1 })),
    [1, 2, 3],
  );
  const sizes = { 1: 1024, 2: 0, 3: 0 } as Record<number, number>;
  for (const gid of plan.values()) {
    sizes[gid]!++;
    sizes[1]!--;
  }
  assert.deepEqual(Object.values(sizes).sort(), [341, 341, 342]);
});

test('pickRound: past-pending actions first, then pending by index, one migration per group', () => {
  const s = slots((i) => ({ group_id: i < 512 ? 1 : 2 }));
  s[10]!.action = { index: 5, state: 'pending', target_id: 3 };
  s[11]!.action = { index: 2, state: 'pending', target_id: 3 };
  s[600]!.action = { index: 9, state: 'migrating', target_id: 4 };
  s[601]!.action = { index: 3, state: 'pending', target_id: 5 };
  // 600 (migrating) first; 11 (lowest pending); 10 shares groups 1 and 3 with 11; 601 shares group 2 with 600.
  assert.deepEqual(pickRound(s, 100, false), [600, 11]);
  assert.deepEqual(pickRound(s, 1, false), [600]);
  assert.deepEqual(pickRound(s, 100, true), [600], 'disabled: no pending action starts');
  assert.deepEqual(pickRound(slots(), 100, false), []);
  assert.equal(MAX_INTERVAL_US, 1_000_000);
});
