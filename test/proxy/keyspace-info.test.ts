import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeKeyspace, sumServerStats } from '../../src/proxy/KeyspaceInfo.js';

test('the Keyspace section sums each database over the backends, in database order', () => {
  const merged = mergeKeyspace([
    {
      addr: 'a:1',
      text: '# Keyspace\r\ndb0:keys=10,expires=2,avg_ttl=1000\r\ndb3:keys=1,expires=0,avg_ttl=0\r\n',
    },
    {
      addr: 'b:1',
      text: '# Keyspace\r\ndb0:keys=5,expires=6,avg_ttl=5000,subexpiry=4\r\ndb1:keys=2,expires=0,avg_ttl=0\r\n',
    },
  ]);
  // avg_ttl is weighted by each backend's expires: (2×1000 + 6×5000) / 8.
  assert.deepEqual(merged, {
    db0: 'keys=15,expires=8,avg_ttl=4000,subexpiry=4',
    db1: 'keys=2,expires=0,avg_ttl=0',
    db3: 'keys=1,expires=0,avg_ttl=0',
  });
});

test('backends without an answer are named, and an empty keyspace stays empty', () => {
  assert.deepEqual(mergeKeyspace([{ addr: 'a:1', text: '# Keyspace\r\n' }]), {});
  assert.deepEqual(
    mergeKeyspace([
      { addr: 'a:1', text: null },
      { addr: 'b:1', text: '# Keyspace\r\ndb0:keys=3,expires=0,avg_ttl=0\r\n' },
      { addr: 'c:1', text: null },
    ]),
    { db0: 'keys=3,expires=0,avg_ttl=0', backends_unanswered: 'a:1,c:1' },
  );
});

test("the servers' key counters of Stats are summed over those that answered", () => {
  const stats = (hits: number, misses: number) =>
    `# Stats\r\ntotal_commands_processed:99\r\nkeyspace_hits:${hits}\r\nkeyspace_misses:${misses}\r\nexpired_keys:1\r\n`;
  assert.deepEqual(
    sumServerStats([
      { addr: 'a:1', text: stats(10, 2) },
      { addr: 'b:1', text: null },
      { addr: 'c:1', text: `# Keyspace\r\ndb0:keys=1\r\n${stats(5, 1)}` },
    ]),
    { keyspace_hits: 15, keyspace_misses: 3, expired_keys: 2, evicted_keys: 0, migrate_cached_sockets: 0 },
  );
});
