import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  forwardMethodName,
  MaxSlotNum,
  parseForwardMethod,
  parseSlotsJson,
  type SlotJson,
} from '../../src/models/Slot.js';

test('MaxSlotNum', () => {
  assert.equal(MaxSlotNum, 1024);
});

test('parseSlotsJson accepts good bodies (objects, text, Buffer) and applies omitempty', () => {
  const body = [
    { id: 0 },
    { id: 1, backend_addr: '127.0.0.1:6379', backend_addr_group_id: 1 },
    {
      id: 1023,
      locked: true,
      backend_addr: '10.0.0.2:6380',
      backend_addr_group_id: 2,
      migrate_from: '10.0.0.1:6379',
      migrate_from_group_id: 1,
      forward_method: 1,
      replica_groups: [['10.0.0.3:6379', '[::1]:6380'], ['host-b:7000']],
    },
    {
      id: 5,
      locked: false,
      backend_addr: '',
      forward_method: 0,
      replica_groups: null,
      migrate_from: null,
      extra: 1,
    },
    { id: 6, replica_groups: [], backend_addr_group_id: 0 },
  ];
  const want: SlotJson[] = [
    { id: 0 },
    { id: 1, backend_addr: '127.0.0.1:6379', backend_addr_group_id: 1 },
    body[2] as SlotJson,
    { id: 5 },
    { id: 6 },
  ];
  assert.deepEqual(parseSlotsJson(body), want);
  assert.deepEqual(parseSlotsJson(JSON.stringify(body)), want);
  assert.deepEqual(parseSlotsJson(Buffer.from(JSON.stringify(body))), want);
  assert.deepEqual(parseSlotsJson([]), []);
});

test('parseSlotsJson rejects each malformed case, naming the index and field', () => {
  const bad: [unknown, RegExp][] = [
    ['', /invalid JSON/],
    ['{not json', /invalid JSON/],
    [{}, /expected a JSON array/],
    [null, /expected a JSON array/],
    ['{"id": 1}', /expected a JSON array/],
    [[1], /slots\[0\] must be an object/],
    [[null], /slots\[0\] must be an object/],
    [[[]], /slots\[0\] must be an object/],
    [[{}], /slots\[0\]\.id must be an integer in 0\.\.1023/],
    [[{ id: 0 }, { id: 1024 }], /slots\[1\]\.id must be an integer in 0\.\.1023, got 1024/],
    [[{ id: -1 }], /slots\[0\]\.id must be an integer/],
    [[{ id: 1.5 }], /slots\[0\]\.id must be an integer/],
    [[{ id: '1' }], /slots\[0\]\.id must be an integer/],
    [[{ id: 1, locked: 'yes' }], /slots\[0\] \(id 1\)\.locked must be a boolean/],
    [[{ id: 1, backend_addr: 6379 }], /slots\[0\] \(id 1\)\.backend_addr must be a "host:port" string/],
    [
      [{ id: 1, backend_addr: 'localhost' }],
      /backend_addr = "localhost" is not a valid host:port \(missing port\)/,
    ],
    [[{ id: 1, backend_addr: '1.2.3.4:0' }], /backend_addr = "1.2.3.4:0" is not a valid host:port/],
    [[{ id: 1, migrate_from: 'a:b' }], /migrate_from = "a:b" is not a valid host:port \(bad port\)/],
    [[{ id: 1, backend_addr_group_id: -1 }], /backend_addr_group_id must be a non-negative integer/],
    [[{ id: 1, migrate_from_group_id: 'x' }], /migrate_from_group_id must be a non-negative integer/],
    [[{ id: 1, forward_method: 2 }], /forward_method must be 0 \(sync\) or 1 \(semi-async\), got 2/],
    [[{ id: 1, forward_method: 'sync' }], /forward_method must be 0 \(sync\) or 1 \(semi-async\)/],
    [[{ id: 1, replica_groups: 'a:1' }], /replica_groups must be an array of arrays/],
    [[{ id: 1, replica_groups: ['a:1'] }], /replica_groups\[0\] must be an array/],
    [
      [{ id: 1, replica_groups: [['a:1'], ['b:2', 'oops']] }],
      /replica_groups\[1\]\[1\] = "oops" is not a valid host:port/,
    ],
    [[{ id: 1, replica_groups: [['']] }], /replica_groups\[0\]\[0\] must not be empty/],
    [[{ id: 1, replica_groups: [[7]] }], /replica_groups\[0\]\[0\] must be a "host:port" string/],
    [[{ id: 1, migrate_bigkey_elements: 0 }], /migrate_bigkey_elements must be a positive integer, got 0/],
    [[{ id: 1, migrate_bigkey_bytes: '16mb' }], /migrate_bigkey_bytes must be a positive integer/],
  ];
  for (const [body, want] of bad) {
    assert.throws(() => parseSlotsJson(body), want, JSON.stringify(body));
  }
});

test('a migrating slot may carry the big-key thresholds', () => {
  const [s] = parseSlotsJson([
    { id: 3, migrate_from: '10.0.0.1:6379', migrate_bigkey_elements: 500, migrate_bigkey_bytes: 1048576 },
  ]);
  assert.equal(s!.migrate_bigkey_elements, 500);
  assert.equal(s!.migrate_bigkey_bytes, 1048576);
});

test('forward method names', () => {
  assert.equal(parseForwardMethod('sync'), 0);
  assert.equal(parseForwardMethod('SEMI-ASYNC'), 1);
  assert.throws(() => parseForwardMethod('async'), /invalid forward method/);
  assert.equal(forwardMethodName(0), 'sync');
  assert.equal(forwardMethodName(1), 'semi-async');
});
