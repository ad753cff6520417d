import { test } from 'node:test';
import assert from 'node:assert/strict';
import { proxyModelToJson, sentinelModelToJson, type ProxyModel } from '../../src/models/Proxy.js';

const model: ProxyModel = {
  token: 't',
  start_time: '2024-01-01 00:00:00',
  admin_addr: 'h:11080',
  proto_type: 'tcp4',
  proxy_addr: 'h:19000',
  product_name: 'codis-demo',
  pid: 1,
  pwd: '/',
  sys: 'Linux',
  hostname: 'h',
  datacenter: '',
};

test('proxy model JSON: Codis field order, id and jodis_path omitted when empty', () => {
  assert.deepEqual(Object.keys(proxyModelToJson(model)), [
    'token',
    'start_time',
    'admin_addr',
    'proto_type',
    'proxy_addr',
    'product_name',
    'pid',
    'pwd',
    'sys',
    'hostname',
    'datacenter',
  ]);
  const full = proxyModelToJson({ ...model, id: 3, jodis_path: '/jodis/codis-demo/proxy-t' });
  assert.equal(Object.keys(full)[0], 'id');
  assert.equal(full.jodis_path, '/jodis/codis-demo/proxy-t');
  assert.ok(!('id' in proxyModelToJson({ ...model, id: 0 })));
});

test('sentinel model JSON', () => {
  assert.deepEqual(sentinelModelToJson({ out_of_sync: false }), { out_of_sync: false });
  assert.deepEqual(sentinelModelToJson({ servers: [], out_of_sync: true }), { out_of_sync: true });
  assert.deepEqual(sentinelModelToJson({ servers: ['127.0.0.1:26379'], out_of_sync: false }), {
    servers: ['127.0.0.1:26379'],
    out_of_sync: false,
  });
});
