import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lookup } from '../../src/proxy/commands/Mapper.js';
import { Request } from '../../src/proxy/Request.js';
import { Stats } from '../../src/proxy/Stats.js';

const GET = lookup(Buffer.from('get'))!;

/** A GET answered with `reply`, by Redis or (`byProxy`) by the proxy itself. */
function answered(reply: string, byProxy = false): Request {
  const req = new Request(null, [], Buffer.alloc(0), 0, 0, 0, GET, 0);
  if (byProxy) req.fail(reply.slice(1, -2));
  else req.answer(Buffer.from(reply));
  return req;
}

test("Stats counts error replies by code, tells the proxy's from Redis's, and keeps 128 codes", () => {
  const stats = new Stats();
  try {
    stats.record(answered('$1\r\nv\r\n'), 10);
    stats.record(answered('-WRONGTYPE Operation against a key holding the wrong kind of value\r\n'), 10);
    stats.record(answered('-ERR handle request, slot is not ready\r\n', true), 10);
    stats.record(answered('-NOSPACEHERE\r\n'), 10);
    assert.deepEqual(Object.fromEntries(stats.errorCodes), { WRONGTYPE: 1, ERR: 1, NOSPACEHERE: 1 });
    assert.deepEqual([stats.total, stats.redisErrors, stats.fails], [4, 2, 1]);
    const [get] = stats.commands();
    assert.deepEqual([get!.calls, get!.fails, get!.redis_errtype], [4, 1, 2]);
    for (let i = 0; i < 200; i++) stats.record(answered(`-CODE${i} x\r\n`), 10);
    assert.equal(stats.errorCodes.size, 128, 'new codes past 128 are not kept apart');
    stats.record(answered('-WRONGTYPE again\r\n'), 10);
    assert.equal(stats.errorCodes.get('WRONGTYPE'), 2, 'known codes still count');
    stats.reset();
    assert.equal(stats.errorCodes.size, 0);
  } finally {
    stats.close();
  }
});
