/**
 * redis-py (Debian's python3-redis) through the proxy, as a Python application uses it. Its Lock
 * and Script run Lua by EVALSHA and, after a NOSCRIPT, load it with SCRIPT LOAD: the proxy runs
 * that on every group, so the keys may live on either. scan_iter, keys, info and flushdb see
 * both groups too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { keyOn, proxyOverTwoGroups } from '../helpers/proxy.js';
import { runProgram } from '../helpers/run.js';

const two = proxyOverTwoGroups();

const INCR = "return redis.call('INCRBY', KEYS[1], ARGV[1])";

const APP = `
import sys, redis
r = redis.Redis(port=int(sys.argv[1]))
keys = sys.argv[2:]
lock = r.lock('pylock', timeout=10)
print('acquired', lock.acquire(blocking=False))
print('taken', r.lock('pylock', timeout=10).acquire(blocking=False))
print('owned', lock.owned())
lock.release()
print('released', r.exists('pylock'))
incr = r.register_script(${JSON.stringify(INCR)})
print('script', [incr(keys=[k], args=[2]) for k in keys])
p = r.pipeline(transaction=False)
for k in keys:
    incr(keys=[k], args=[3], client=p)
print('pipeline', p.execute())
print('dbsize', r.dbsize())
t = r.pipeline()
t.set('{pyt}a', 1).incr('{pyt}a').get('{pyt}a')
print('transaction', t.execute(), r.delete('{pyt}a'))
print('scan_iter', sorted(k.decode() for k in r.scan_iter(match='py:*', count=1)) == sorted(keys))
print('keys', sorted(k.decode() for k in r.keys('py:*')) == sorted(keys))
print('info', r.info('keyspace')['db0']['keys'])
print('randomkey', r.randomkey().decode() in keys)
print('flushdb', r.flushdb(), r.dbsize())
`;

test("redis-py's Lock, Script, transactions, scan_iter, info and flushdb work through the proxy, with keys on both groups", async () => {
  const keys = [keyOn('py', 0), keyOn('py', 1)];
  const run = await runProgram('/usr/bin/python3', ['-c', APP, String(two.proxy.port), ...keys]);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(run.stdout.trim().split('\n'), [
    'acquired True',
    'taken False',
    'owned True',
    'released 0',
    'script [2, 2]',
    'pipeline [5, 5]',
    'dbsize 2',
    "transaction [True, 2, b'2'] 1",
    'scan_iter True',
    'keys True',
    'info 2',
    'randomkey True',
    'flushdb True 0',
  ]);
  for (const s of two.servers) assert.equal(await s.call('DBSIZE'), 0, 'flushdb reached every group');
  const sha = createHash('sha1').update(INCR).digest('hex');
  for (const s of two.servers) assert.deepEqual(await s.call('SCRIPT', 'EXISTS', sha), [1]);
});
