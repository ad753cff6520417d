import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import {
  macAddresses,
  newToken,
  proxyToken,
  proxyXAuth,
  topomToken,
  topomXAuth,
} from '../../src/utils/xauth.js';

// Independent computation of the codis-3.md §3.1 rules.
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

test('proxy xauth = hex(sha256("Codis-XAuth-[product]-[auth]-[token]")) first 16 bytes', () => {
  const want = sha256('Codis-XAuth-[codis-demo]-[secret]-[0123456789abcdef0123456789abcdef]').slice(0, 32);
  assert.equal(proxyXAuth('codis-demo', 'secret', '0123456789abcdef0123456789abcdef'), want);
  assert.match(want, /^[0-9a-f]{32}$/);
  assert.equal(proxyXAuth('codis-demo', '', 't'), sha256('Codis-XAuth-[codis-demo]-[]-[t]').slice(0, 32));
});

test('dashboard xauth does not include product_auth', () => {
  assert.equal(topomXAuth('codis-demo'), sha256('Codis-XAuth-[codis-demo]').slice(0, 32));
  // Fixed known answers (computed with Python's hashlib), so a change in the rule cannot go unnoticed.
  assert.equal(topomXAuth('codis-demo'), '95b62887719520f17e312eaa76d28f2b');
  assert.equal(
    proxyXAuth('codis-demo', 'secret', '0123456789abcdef0123456789abcdef'),
    '12fe2f50058c50af6b7884f0b3e88567',
  );
  assert.notEqual(topomXAuth('a'), topomXAuth('b'));
});

test('tokens: md5 of "Codis-Token@[sorted macs]" + "-{seg}" per segment', () => {
  const macs = ['08:00:27:aa:bb:cc', '02:42:ac:11:00:02'];
  assert.equal(
    proxyToken('codis-demo', '0.0.0.0:19000', '[::]:11080', macs),
    md5('Codis-Token@[02:42:ac:11:00:02 08:00:27:aa:bb:cc]-{codis-demo}-{0.0.0.0:19000}-{[::]:11080}'),
  );
  assert.equal(
    topomToken('codis-demo', '[::]:18080', macs),
    md5('Codis-Token@[02:42:ac:11:00:02 08:00:27:aa:bb:cc]-{codis-demo}-{[::]:18080}'),
  );
  assert.equal(
    proxyToken('codis-demo', '0.0.0.0:19000', '[::]:11080', macs),
    'a77b2e3cc9b16d0d7d2c5942e4a24595',
  );
  assert.equal(newToken(['p'], []), md5('Codis-Token@[]-{p}'));
});

test('tokens are deterministic on this host and use its MAC list', () => {
  const macs = new Set<string>();
  for (const entries of Object.values(networkInterfaces())) {
    const mac = entries?.find((e) => e.mac !== '00:00:00:00:00:00')?.mac;
    if (mac) macs.add(mac);
  }
  assert.deepEqual(new Set(macAddresses()), macs);
  assert.deepEqual(macAddresses(), [...macAddresses()].sort());
  const a = proxyToken('p', '0.0.0.0:19000', '[::]:11080');
  assert.equal(a, proxyToken('p', '0.0.0.0:19000', '[::]:11080'));
  assert.equal(a, md5(`Codis-Token@[${macAddresses().join(' ')}]-{p}-{0.0.0.0:19000}-{[::]:11080}`));
  assert.notEqual(a, proxyToken('p', '0.0.0.0:19001', '[::]:11080'));
});
