import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyOn, proxyOverTwoGroups } from '../helpers/proxy.js';
import { RedisError, type RespClient } from '../helpers/resp-client.js';

// CONFIG through the proxy: GET reads slot 0's group, SET / RESETSTAT / REWRITE run on every server.
const two = proxyOverTwoGroups({ client: true });

const setting = async (c: Pick<RespClient, 'call'>, name: string) =>
  String(((await c.call('CONFIG', 'GET', name)) as Buffer[])[1]);

const field = (info: unknown, name: string) => new RegExp(`^${name}:(.*)\\r$`, 'm').exec(String(info))?.[1];

test('CONFIG SET changes every server, several settings at once, and CONFIG GET reads them back', async () => {
  assert.equal(
    String(await two.client.call('CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru', 'hz', '17')),
    'OK',
  );
  for (const s of two.servers) {
    assert.equal(await setting(s, 'maxmemory-policy'), 'allkeys-lru');
    assert.equal(await setting(s, 'hz'), '17');
  }
  assert.equal(await setting(two.client, 'hz'), '17');
  // A bad setting gets the servers' own error, and changes nothing.
  const bad = await two.client.call('CONFIG', 'SET', 'hz', '18', 'no-such-setting', '1');
  assert.ok(bad instanceof RedisError);
  assert.match(bad.message, /^ERR Unknown option or number of arguments for CONFIG SET - 'no-such-setting'/);
  for (const s of two.servers) assert.equal(await setting(s, 'hz'), '17');
  const odd = await two.client.call('CONFIG', 'SET', 'hz');
  assert.ok(odd instanceof RedisError);
  assert.equal(odd.message, "ERR wrong number of arguments for 'config|set' command");
});

test('CONFIG SET refuses what the product reaches its servers with, naming it, and the servers keep it', async () => {
  for (const name of ['requirepass', 'MASTERAUTH', 'port', 'bind']) {
    const r = await two.client.call('CONFIG', 'SET', 'hz', '11', name, 'x');
    assert.ok(r instanceof RedisError, name);
    assert.match(r.message, new RegExp(`^ERR handle request, CONFIG SET ${name.toLowerCase()} is refused`));
  }
  for (const s of two.servers) {
    assert.equal(await setting(s, 'requirepass'), '');
    assert.notEqual(await setting(s, 'hz'), '11');
  }
  assert.equal(String(await two.client.call('PING')), 'PONG');
});

test("CONFIG RESETSTAT clears the proxy's counters and every server's", async () => {
  const key = keyOn('resetstat', 1);
  await two.client.call('SET', key, 'v');
  assert.ok((await two.client.call('LPUSH', key, 'x')) instanceof RedisError);
  assert.equal(field(await two.client.call('INFO', 'errorstats'), 'errorstat_WRONGTYPE'), 'count=1');
  assert.match(field(await two.servers[1]!.call('INFO', 'commandstats'), 'cmdstat_set') ?? '', /^calls=/);
  assert.equal(String(await two.client.call('CONFIG', 'RESETSTAT')), 'OK');
  assert.equal(field(await two.client.call('INFO', 'errorstats'), 'errorstat_WRONGTYPE'), undefined);
  const stats = await two.client.call('INFO', 'stats');
  // This INFO and the one before are all it counted since.
  assert.ok(Number(field(stats, 'total_commands_processed')) <= 2, String(stats));
  for (const s of two.servers) {
    assert.equal(field(await s.call('INFO', 'commandstats'), 'cmdstat_set'), undefined);
    assert.equal(field(await s.call('INFO', 'errorstats'), 'errorstat_WRONGTYPE'), undefined);
  }
});

test("CONFIG REWRITE runs on every server and passes on a server's refusal", async () => {
  const r = await two.client.call('CONFIG', 'REWRITE');
  // The test servers run without a config file, as Redis says.
  assert.ok(r instanceof RedisError);
  assert.equal(r.message, 'ERR The server is running without a config file');
});

test('INFO server reads as a redis-server: git fields, run_id, server time', async () => {
  const text = await two.client.call('INFO', 'server');
  assert.equal(field(text, 'redis_git_sha1'), '00000000');
  assert.equal(field(text, 'redis_git_dirty'), '0');
  assert.match(field(text, 'run_id') ?? '', /^[0-9a-f]{40}$/);
  assert.equal(field(await two.client.call('INFO'), 'run_id'), field(text, 'run_id'));
  const usec = Number(field(text, 'server_time_usec'));
  assert.ok(Math.abs(usec / 1000 - Date.now()) < 5000, `server_time_usec ${usec}`);
  assert.equal(
    field(text, 'os')?.split(' ').at(-1),
    field(await two.servers[0]!.call('INFO', 'server'), 'os')
      ?.split(' ')
      .at(-1),
  );
});
