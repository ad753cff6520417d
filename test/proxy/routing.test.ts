import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawCommand } from '../../src/resp/RawCommand.js';
import { lookup } from '../../src/proxy/commands/Mapper.js';
import { slotOf } from '../../src/proxy/hash.js';
import { ROUTE_MULTI } from '../../src/proxy/Request.js';
import { fastRoute, NOT_FAST } from '../../src/proxy/routing.js';
import { encodeCommand } from '../helpers/resp-client.js';

/** fastRoute of a command, as the session calls it: offsets into the received bytes. */
function route(...args: string[]): number {
  const data = Buffer.concat([Buffer.from('junk'), encodeCommand(args)]);
  const cmd = new RawCommand().load(data, 4);
  const info = lookup(Buffer.from(args[0]!));
  assert.ok(info, `${args[0]} is in the command table`);
  return fastRoute(info, cmd);
}

test('one-key commands go to their key’s slot, {tag} included, straight from the bytes', () => {
  assert.equal(route('GET', 'user:1'), slotOf(Buffer.from('user:1')));
  assert.equal(route('SET', '{user}:1', 'v', 'EX', '10'), slotOf(Buffer.from('user')));
  assert.equal(route('HGET', 'h', 'f'), slotOf(Buffer.from('h')));
});

test('multi-key commands that may span slots are split (ROUTE_MULTI)', () => {
  assert.equal(route('MGET', 'a', 'b', 'c'), ROUTE_MULTI);
  assert.equal(route('DEL', 'a'), ROUTE_MULTI);
  assert.equal(route('MSET', 'a', '1', 'b', '2'), ROUTE_MULTI);
});

test('wrong arity, odd MSET, subcommands and local or refused commands take the general path', () => {
  assert.equal(route('GET'), NOT_FAST);
  assert.equal(route('GET', 'a', 'b'), NOT_FAST);
  assert.equal(route('MSET', 'a', '1', 'b'), NOT_FAST);
  assert.equal(route('MGET'), NOT_FAST);
  assert.equal(route('CLIENT', 'SETNAME', 'x'), NOT_FAST);
  assert.equal(route('PING'), NOT_FAST);
  assert.equal(route('KEYS', '*'), NOT_FAST);
  assert.equal(route('EVAL', 'return 1', '0'), NOT_FAST);
});
