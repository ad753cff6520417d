import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AddrError,
  addrProblem,
  formatAddr,
  isValidAddr,
  parseAddr,
  replaceUnspecifiedHost,
} from '../../src/utils/addr.js';

test('parseAddr accepts host:port, IPv4, bracketed IPv6', () => {
  assert.deepEqual(parseAddr('127.0.0.1:6379'), { host: '127.0.0.1', port: 6379 });
  assert.deepEqual(parseAddr('redis-1.example.com:7000'), { host: 'redis-1.example.com', port: 7000 });
  assert.deepEqual(parseAddr('localhost:1'), { host: 'localhost', port: 1 });
  assert.deepEqual(parseAddr('[::1]:6379'), { host: '::1', port: 6379 });
  assert.deepEqual(parseAddr('[fe80::1%eth0]:6379'), { host: 'fe80::1%eth0', port: 6379 });
  assert.deepEqual(parseAddr(':19000', { allowEmptyHost: true }), { host: '', port: 19000 });
  assert.deepEqual(parseAddr('0.0.0.0:0', { allowZeroPort: true }), { host: '0.0.0.0', port: 0 });
});

test('parseAddr rejects bad addresses with a reason', () => {
  const bad: [string, string][] = [
    ['', 'empty'],
    ['127.0.0.1', 'missing port'],
    ['127.0.0.1:', 'bad port'],
    ['127.0.0.1:abc', 'bad port'],
    ['127.0.0.1:65536', 'port out of range'],
    ['127.0.0.1:0', 'port out of range'],
    [':6379', 'missing host'],
    ['::1:6379', 'IPv6 hosts must be in brackets'],
    ['[::1]6379', 'expected [host]:port'],
    ['[::1:6379', 'expected [host]:port'],
    ['[1.2.3.4]:6379', 'bad IPv6 address'],
    ['bad host:6379', 'bad host'],
    ['a/b:6379', 'bad host'],
    ['127.0.0.1:-1', 'bad port'],
  ];
  for (const [addr, problem] of bad) {
    assert.throws(
      () => parseAddr(addr),
      (e: unknown) => e instanceof AddrError && e.problem === problem,
      addr,
    );
    assert.equal(addrProblem(addr), problem);
    assert.equal(isValidAddr(addr), false);
  }
  assert.equal(isValidAddr(6379), false);
  assert.equal(isValidAddr('127.0.0.1:6379'), true);
});

test('formatAddr brackets IPv6 and round trips', () => {
  assert.equal(formatAddr('127.0.0.1', 6379), '127.0.0.1:6379');
  assert.equal(formatAddr('::1', 6379), '[::1]:6379');
  for (const a of ['127.0.0.1:6379', '[::1]:6379', 'host:1']) {
    const { host, port } = parseAddr(a);
    assert.equal(formatAddr(host, port), a);
  }
});

test('replaceUnspecifiedHost', () => {
  assert.equal(replaceUnspecifiedHost('0.0.0.0:19000', 'h1'), 'h1:19000');
  assert.equal(replaceUnspecifiedHost('[::]:11080', 'h1'), 'h1:11080');
  assert.equal(replaceUnspecifiedHost(':11080', '::1'), '[::1]:11080');
  assert.equal(replaceUnspecifiedHost('10.0.0.1:19000', 'h1'), '10.0.0.1:19000');
});
