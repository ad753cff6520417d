import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newGroup, newGroupServer, type Group, type PromotingState } from '../../src/models/Group.js';
import type { ProxyModel } from '../../src/models/Proxy.js';
import { newSlotMapping, type SlotActionState, type SlotMapping } from '../../src/models/SlotMapping.js';
import { HttpError } from '../../src/utils/http.js';
import { Context } from '../../src/topom/context.js';

const M1 = '10.0.0.1:6379';
const M2 = '10.0.0.2:6379';

function group(id: number, addrs: string[], promoting: PromotingState = ''): Group {
  const g = newGroup(id);
  g.servers = addrs.map((a) => newGroupServer(a));
  if (promoting) g.promoting = { index: 1, state: promoting };
  return g;
}

function ctx(groups: Group[], slots: SlotMapping[] = [], method: 0 | 1 = 0): Context {
  const all = Array.from({ length: 1024 }, (_, i) => slots.find((s) => s.id === i) ?? newSlotMapping(i));
  return new Context({
    slots: all,
    group: new Map(groups.map((g) => [g.id, g])),
    proxy: new Map(),
    sentinel: { out_of_sync: false },
    method,
  });
}

function mapping(state: SlotActionState): SlotMapping {
  const m = newSlotMapping(7, 1);
  if (state) m.action = { index: 1, state, target_id: 2 };
  return m;
}

test('toSlot follows the §4.3 table for every action state × promoting state', () => {
  const promotions: PromotingState[] = ['', 'preparing', 'prepared', 'finished'];
  for (const p1 of promotions) {
    for (const p2 of promotions) {
      const c = ctx([group(1, [M1, '10.0.0.11:6379'], p1), group(2, [M2, '10.0.0.22:6379'], p2)]);
      const locked1 = p1 === 'prepared';
      const locked2 = p2 === 'prepared';
      const cases: [SlotActionState, Record<string, unknown>][] = [
        ['', { backend_addr: M1, backend_addr_group_id: 1, locked: locked1 }],
        ['pending', { backend_addr: M1, backend_addr_group_id: 1, locked: locked1 }],
        ['preparing', { backend_addr: M1, backend_addr_group_id: 1, locked: locked1 }],
        ['prepared', { backend_addr: M2, migrate_from: M1, migrate_from_group_id: 1, locked: true }],
        ['migrating', { backend_addr: M2, migrate_from: M1, locked: locked1 || locked2 }],
        ['finished', { backend_addr: M2, backend_addr_group_id: 2, locked: locked2 }],
      ];
      for (const [state, want] of cases) {
        const s = c.toSlot(mapping(state));
        const where = `state=${state || 'nothing'} g1=${p1 || '-'} g2=${p2 || '-'}`;
        assert.equal(s.id, 7);
        assert.equal(s.locked ?? false, want.locked, where);
        assert.equal(s.backend_addr, want.backend_addr, where);
        if (want.migrate_from) assert.equal(s.migrate_from, want.migrate_from, where);
        else assert.equal(s.migrate_from, undefined, where);
        if (want.migrate_from_group_id) assert.equal(s.migrate_from_group_id, 1, where);
        if (want.backend_addr_group_id)
          assert.equal(s.backend_addr_group_id, want.backend_addr_group_id, where);
        assert.equal(s.forward_method, undefined, 'sync is 0, omitted');
      }
    }
  }
});

test('toSlot tells proxies the big-key thresholds with every slot that migrates, and only then', () => {
  const c = new Context({
    slots: [],
    group: new Map([group(1, [M1]), group(2, [M2])].map((g) => [g.id, g])),
    proxy: new Map(),
    sentinel: { out_of_sync: false },
    method: 0,
    bigKey: { elements: 500, bytes: 1 << 20 },
  });
  for (const state of ['prepared', 'migrating'] as const) {
    const s = c.toSlot(mapping(state));
    assert.equal(s.migrate_bigkey_elements, 500, state);
    assert.equal(s.migrate_bigkey_bytes, 1 << 20, state);
  }
  for (const state of ['', 'pending', 'preparing', 'finished'] as const) {
    assert.equal(c.toSlot(mapping(state)).migrate_bigkey_elements, undefined, state || 'nothing');
  }
});

test('toSlot: offline slot, missing or empty group, forward method', () => {
  const c = ctx([group(1, [M1]), newGroup(3)], [], 1);
  assert.deepEqual(c.toSlot(newSlotMapping(5)), { id: 5, forward_method: 1 });
  assert.deepEqual(c.toSlot(newSlotMapping(5, 9)), { id: 5, backend_addr_group_id: 9, forward_method: 1 });
  assert.deepEqual(c.toSlot(newSlotMapping(5, 3)), { id: 5, backend_addr_group_id: 3, forward_method: 1 });
  assert.deepEqual(c.toSlot(newSlotMapping(5, 1)), {
    id: 5,
    backend_addr: M1,
    backend_addr_group_id: 1,
    forward_method: 1,
  });
});

test('replica groups: flagged servers by datacenter and IP priority, omitted when not idle', () => {
  const g = newGroup(1);
  g.servers = [
    { ...newGroupServer('10.0.0.1:6379', 'dc1'), replica_group: true },
    { ...newGroupServer('10.0.0.5:6380', 'dc1'), replica_group: true },
    { ...newGroupServer('10.0.0.9:6381', 'dc1'), replica_group: true },
    { ...newGroupServer('10.0.0.5:6382', 'dc2'), replica_group: true },
    newGroupServer('10.0.0.5:6383', 'dc1'),
  ];
  const c = ctx([g], [newSlotMapping(0, 1)]);
  const proxy = { admin_addr: '10.0.0.5:11080', datacenter: 'dc1' } as ProxyModel;
  assert.deepEqual(c.toReplicaGroups(1, proxy), [
    ['10.0.0.5:6380'],
    ['10.0.0.1:6379', '10.0.0.9:6381'],
    ['10.0.0.5:6382'],
  ]);
  // No proxy (GET /topom/slots): everything is priority 2.
  assert.deepEqual(c.toReplicaGroups(1), [
    ['10.0.0.1:6379', '10.0.0.5:6380', '10.0.0.9:6381', '10.0.0.5:6382'],
  ]);
  assert.deepEqual(c.toSlot(c.slots[0]!, proxy).replica_groups?.length, 3);
  // Not for a slot that is being prepared, nor for a promoting group or a single server.
  const m = newSlotMapping(0, 1);
  m.action = { index: 1, state: 'preparing', target_id: 2 };
  assert.equal(c.toSlot(m, proxy).replica_groups, undefined);
  g.promoting = { index: 1, state: 'preparing' };
  assert.deepEqual(c.toReplicaGroups(1, proxy), []);
  assert.deepEqual(ctx([group(2, [M2])]).toReplicaGroups(2), []);
});

test('lookups fail with the Codis messages and HTTP statuses', () => {
  const c = ctx([group(1, [M1, M2])]);
  const status = (f: () => unknown, code: number, msg: string) =>
    assert.throws(f, (e: unknown) => e instanceof HttpError && e.status === code && e.message === msg);
  status(() => c.getGroup(2), 404, "group-[2] doesn't exist");
  status(() => c.getGroup(0), 400, 'invalid group id = 0, out of range 1..9999');
  status(() => c.getGroup(10000), 400, 'invalid group id = 10000, out of range 1..9999');
  status(() => c.getSlotMapping(1024), 400, 'invalid slot id = 1024, out of range 0..1023');
  status(() => c.getSlotMapping(-1), 400, 'invalid slot id = -1, out of range 0..1023');
  status(() => c.getGroupByServer('1.2.3.4:5'), 404, "server-[1.2.3.4:5] doesn't exist");
  status(() => c.getGroupIndex(c.getGroup(1), '1.2.3.4:5'), 404, "group-[1] doesn't have server-[1.2.3.4:5]");
  status(() => c.getProxy('abc'), 404, "proxy-[abc] doesn't exist");
  assert.deepEqual(
    c.getGroupByServer(M2).map((x) => (typeof x === 'number' ? x : x.id)),
    [1, 1],
  );
  assert.equal(c.getGroupMaster(1), M1);
  assert.equal(c.getGroupMaster(5), '');
});

test('slot and sync action indexes, groups in use', () => {
  const m = newSlotMapping(3, 1);
  m.action = { index: 4, state: 'pending', target_id: 2 };
  const g = group(1, [M1, M2]);
  g.servers[1]!.action = { index: 6, state: 'pending' };
  const c = ctx([g, group(2, ['10.0.0.3:1'])], [m]);
  assert.equal(c.maxSlotActionIndex(), 4);
  assert.equal(c.maxSyncActionIndex(), 6);
  assert.equal(c.isGroupInUse(2), true, 'as a migration target');
  assert.equal(c.isGroupInUse(3), false);
  assert.deepEqual(
    c.getSlotMappingsByGroupId(2).map((x) => x.id),
    [3],
  );
});
