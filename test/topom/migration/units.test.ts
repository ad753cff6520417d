// The small parts of the migration executor: rate body validation, the rate limiter, slot
// picking (promoting groups left out, no one-per-group rule), progress numbers and the
// codis-admin progress line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { progressLine, shortSeconds } from '../../../src/admin/output.js';
import { withProgress } from '../../../src/admin/slotsCmd.js';
import type { Group } from '../../../src/models/Group.js';
import type { SlotMapping } from '../../../src/models/SlotMapping.js';
import type { KeyHolder } from '../../../src/topom/migration/BigKeyMover.js';
import { keysFromInfo, Migrator } from '../../../src/topom/migration/Migrator.js';
import { MigrationProgress } from '../../../src/topom/migration/Progress.js';
import { RateLimiter } from '../../../src/topom/migration/RateLimiter.js';
import { parseRateChange } from '../../../src/topom/migration/settings.js';
import { newPassResult } from '../../../src/topom/migration/SlotMover.js';
import type { Topom } from '../../../src/topom/Topom.js';
import { HttpError } from '../../../src/utils/http.js';

test('rate changes: every field optional, validated, sizes accepted', () => {
  assert.deepEqual(parseRateChange({ keys_per_sec: 10, bytes_per_sec: '2mb', batch_keys: 7, pause_ms: 3 }), {
    keys_per_sec: 10,
    bytes_per_sec: 2 * 1024 * 1024,
    batch_keys: 7,
    pause_ms: 3,
  });
  assert.deepEqual(parseRateChange({ keys_per_sec: 0 }), { keys_per_sec: 0 });
  for (const bad of [
    null,
    'x',
    [],
    {},
    { keys_per_sec: 1.5 },
    { keys_per_sec: '5' },
    { bytes_per_sec: -1 },
    { batch_keys: 0 },
    { batch_keys: 1e9 },
    { pause_ms: 1001 },
    { other: 1 },
  ]) {
    assert.throws(
      () => parseRateChange(bad),
      (e: unknown) => e instanceof HttpError && e.status === 400,
      JSON.stringify(bad),
    );
  }
});

test('the rate limiter paces keys and bytes, does not save up idle time, and can change live', () => {
  let limits = { keysPerSec: 1000, bytesPerSec: 0 };
  const l = new RateLimiter(() => limits);
  const w1 = l.account(500, 0);
  assert.ok(w1 >= 490 && w1 <= 500, `${w1}`);
  const w2 = l.account(500, 0);
  assert.ok(w2 >= 990 && w2 <= 1000, `${w2}`);
  limits = { keysPerSec: 0, bytesPerSec: 1000 };
  const w3 = l.account(1, 100);
  assert.ok(w3 >= 1090 && w3 <= 1100, `${w3}`);
  limits = { keysPerSec: 0, bytesPerSec: 0 };
  const free = new RateLimiter(() => limits);
  assert.equal(free.account(1e6, 1e9), 0);
});

function mapping(id: number, group: number, state?: string, target?: number, index?: number): SlotMapping {
  return {
    id,
    group_id: group,
    action: state ? ({ state, target_id: target, index } as SlotMapping['action']) : {},
  };
}

const holder: KeyHolder = { hold: async () => {}, release: async () => {} };

function fakeTopom(groups: Partial<Group>[]): Topom {
  return { cache: { groupList: () => groups } } as unknown as Topom;
}

test('pick: past-pending first, then pending by index; many per group; promoting groups wait', () => {
  const m = new Migrator(
    fakeTopom([
      { id: 1, promoting: {}, servers: [] },
      { id: 2, promoting: {}, servers: [] },
      { id: 3, promoting: { state: 'prepared' }, servers: [] },
    ]),
    holder,
  );
  const slots = [
    mapping(0, 1, 'pending', 2, 5),
    mapping(1, 1, 'pending', 2, 3),
    mapping(2, 1, 'migrating', 2, 9),
    mapping(3, 1, 'pending', 3, 1),
    mapping(4, 3, 'pending', 1, 2),
    mapping(5, 1),
    mapping(6, 2, 'preparing', 1, 7),
  ];
  assert.deepEqual(m.pick(slots, 100, false), [6, 2, 1, 0]);
  assert.deepEqual(m.pick(slots, 2, false), [6, 2]);
  assert.deepEqual(m.pick(slots, 100, true), [6, 2], 'disabled: no pending action starts');
});

test('keys from INFO keyspace; progress: estimate, live pass, rates, ETA', () => {
  assert.equal(
    keysFromInfo({ db0: 'keys=10,expires=0,avg_ttl=0', db3: 'keys=5,expires=1', role: 'master' }),
    15,
  );
  assert.equal(keysFromInfo(undefined), 0);
  const p = new MigrationProgress();
  const j = p.start({ sid: 7, from: 1, to: 2, reversed: false, estimate: 100 });
  assert.equal(p.keysLeft(j), 100);
  const src = p.source(1, '127.0.0.1:1');
  const r = newPassResult();
  p.passStarted(src, r, [j], 1000);
  r.slots.set(7, { found: 40, moved: 30, bytes: 300 });
  r.scanned = 500;
  assert.equal(p.keysLeft(j), 70);
  assert.equal((p.slotJson(j, 'migrating') as { keys_moved: number }).keys_moved, 30);
  p.passEnded(src, r, [j], true);
  assert.equal(j.foundLast, 40);
  assert.equal(p.keysLeft(j), 10);
  const s = p.summary(50, 3);
  assert.equal(s.keys_moved, 30);
  assert.equal(s.keys_left, 60);
  assert.equal(s.running, 1);
  p.drop(7, true);
  assert.equal(p.summary(0).slots_done, 1);
  assert.equal(p.summary(0).keys_moved, 30);
  assert.equal(p.summary(0, 2).eta_seconds, null, 'waiting to start: unknown ETA');
});

test('codis-admin: the progress line and the slots-status columns', () => {
  assert.equal(
    progressLine({ done: 123, total: 512, moved: 45, left: 55, keysPerSec: 12_345, eta: 40 }),
    'migrated 123/512 slots, 45% keys, 12k keys/s, ETA 40s',
  );
  assert.equal(
    progressLine({ done: 2, total: 4, moved: 0, left: 0, keysPerSec: 0, eta: null, paused: true }),
    'migrated 2/4 slots, 0% keys, 0 keys/s, ETA ? [paused]',
  );
  assert.equal(
    progressLine({ done: 4, total: 4, moved: 9, left: 0, keysPerSec: 1500, eta: 3 }).includes('ETA 0s'),
    true,
  );
  assert.equal(shortSeconds(3725), '1h02m');
  assert.equal(shortSeconds(65), '1m05s');
  const slots = [{ id: 0, backend_addr: 'a' }, { id: 1 }];
  assert.deepEqual(withProgress(slots, undefined), slots);
  const out = withProgress(slots, {
    actions: [{ id: 1, state: 'migrating', from: 1, to: 2 }],
    progress: {
      slots: [{ id: 1, keys_moved: 5, keys_left: 2, found_last_pass: null, bytes: 9, eta_seconds: 4 }],
    },
  }) as Record<string, unknown>[];
  assert.deepEqual(out[0], slots[0]);
  assert.deepEqual(out[1], {
    id: 1,
    action: 'migrating',
    migrate_to_group_id: 2,
    keys_moved: 5,
    keys_left: 2,
    found_last_pass: null,
    bytes: 9,
    keys_per_sec: undefined,
    bytes_per_sec: undefined,
    eta: '4s',
  });
});
