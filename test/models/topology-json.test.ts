// The stored JSON is a contract with Codis: field names, field order, omitempty, and Go's
// MarshalIndent layout (4 spaces, Go's string escapes). Literal texts are what Codis 3.2 writes.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeConfigV3, encodeConfigV3 } from '../../src/models/ConfigV3.js';
import { groupToJson, isValidGroupId, MaxGroupId, newGroup, newGroupServer } from '../../src/models/Group.js';
import { newSlotMapping, slotMappingToJson } from '../../src/models/SlotMapping.js';
import {
  decodeGroup,
  decodeProxy,
  decodeSentinel,
  decodeSlotMapping,
  decodeTopom,
  encodeGroup,
  encodeProxy,
  encodeSentinel,
  encodeSlotMapping,
  encodeTopom,
  jsonEncode,
} from '../../src/models/Store.js';

/** Codis text → model → text must give the same bytes. */
function roundTrip<T>(text: string, decode: (b: Buffer) => T, encode: (x: T) => Buffer): T {
  const model = decode(Buffer.from(text));
  assert.equal(encode(model).toString(), text);
  return model;
}

const topomText = `{
    "token": "2b1a4f6d3c5e7a9b8d0c1e2f3a4b5c6d",
    "start_time": "2018-11-04 10:00:00.123456789 +0800 CST",
    "admin_addr": "10.0.0.5:18080",
    "product_name": "codis-demo",
    "pid": 1234,
    "pwd": "/home/codis",
    "sys": "Linux host 4.9.0-8-amd64 #1 SMP Debian 4.9.130-2 (2018-10-27) x86_64 GNU/Linux"
}`;

const idleGroupText = `{
    "id": 1,
    "servers": [
        {
            "server": "10.0.0.1:6379",
            "datacenter": "",
            "action": {},
            "replica_group": false
        }
    ],
    "promoting": {},
    "out_of_sync": false
}`;

const busyGroupText = `{
    "id": 2,
    "servers": [
        {
            "server": "10.0.0.2:6379",
            "datacenter": "dc1",
            "action": {},
            "replica_group": false
        },
        {
            "server": "10.0.0.3:6379",
            "datacenter": "dc2",
            "action": {
                "index": 3,
                "state": "pending"
            },
            "replica_group": true
        }
    ],
    "promoting": {
        "index": 1,
        "state": "preparing"
    },
    "out_of_sync": true
}`;

const proxyText = `{
    "id": 2,
    "token": "7a3c1f5e9b2d4c6a8e0f1a2b3c4d5e6f",
    "start_time": "2018-11-04 10:00:01.5 +0800 CST",
    "admin_addr": "10.0.0.7:11080",
    "proto_type": "tcp4",
    "proxy_addr": "10.0.0.7:19000",
    "jodis_path": "/jodis/codis-demo/proxy-7a3c1f5e9b2d4c6a8e0f1a2b3c4d5e6f",
    "product_name": "codis-demo",
    "pid": 4321,
    "pwd": "/home/codis",
    "sys": "Linux host",
    "hostname": "host",
    "datacenter": ""
}`;

describe('Codis JSON round trips (byte for byte)', () => {
  it('Topom', () => {
    const t = roundTrip(topomText, decodeTopom, encodeTopom);
    assert.equal(t.pid, 1234);
    assert.equal(t.product_name, 'codis-demo');
  });

  it('SlotMapping: idle, queued, offline', () => {
    const idle = roundTrip(
      '{\n    "id": 7,\n    "group_id": 1,\n    "action": {}\n}',
      decodeSlotMapping,
      encodeSlotMapping,
    );
    assert.deepEqual(idle, { id: 7, group_id: 1, action: {} });
    const queued = `{
    "id": 7,
    "group_id": 1,
    "action": {
        "index": 3,
        "state": "pending",
        "target_id": 2
    }
}`;
    assert.deepEqual(roundTrip(queued, decodeSlotMapping, encodeSlotMapping).action, {
      index: 3,
      state: 'pending',
      target_id: 2,
    });
    assert.equal(
      encodeSlotMapping(newSlotMapping(7)).toString(),
      '{\n    "id": 7,\n    "group_id": 0,\n    "action": {}\n}',
    );
  });

  it('Group: idle objects are {} and index 0 is never written', () => {
    assert.deepEqual(roundTrip(idleGroupText, decodeGroup, encodeGroup), {
      id: 1,
      servers: [{ server: '10.0.0.1:6379', datacenter: '', action: {}, replica_group: false }],
      promoting: {},
      out_of_sync: false,
    });
    const busy = roundTrip(busyGroupText, decodeGroup, encodeGroup);
    assert.deepEqual(busy.promoting, { index: 1, state: 'preparing' });
    const g = newGroup(5);
    assert.equal(
      encodeGroup(g).toString(),
      '{\n    "id": 5,\n    "servers": [],\n    "promoting": {},\n    "out_of_sync": false\n}',
    );
    g.servers.push(newGroupServer('10.0.0.1:6379'));
    g.promoting = { index: 0, state: 'preparing' };
    g.servers[0].action = { index: 0, state: '' };
    assert.deepEqual(groupToJson(g).promoting, { state: 'preparing' });
    assert.deepEqual(JSON.parse(encodeGroup(g).toString()).servers[0].action, {});
  });

  it('Group id bounds', () => {
    assert.equal(MaxGroupId, 9999);
    assert.ok(isValidGroupId(1) && isValidGroupId(9999));
    for (const bad of [0, -1, 10000, 1.5]) assert.ok(!isValidGroupId(bad), String(bad));
  });

  it('Proxy: id and jodis_path are omitempty', () => {
    const p = roundTrip(proxyText, decodeProxy, encodeProxy);
    const bare = { ...p, id: 0, jodis_path: '' };
    const text = encodeProxy(bare).toString();
    assert.ok(!text.includes('"id"') && !text.includes('jodis_path'), text);
    assert.deepEqual(Object.keys(decodeProxy(text)), Object.keys(JSON.parse(text)));
    assert.ok(!('id' in decodeProxy(text)));
  });

  it('Sentinel: servers omitted when empty', () => {
    roundTrip('{\n    "out_of_sync": false\n}', decodeSentinel, encodeSentinel);
    const s = roundTrip(
      '{\n    "servers": [\n        "10.0.0.9:26379",\n        "10.0.0.10:26379"\n    ],\n    "out_of_sync": true\n}',
      decodeSentinel,
      encodeSentinel,
    );
    assert.deepEqual(s.servers, ['10.0.0.9:26379', '10.0.0.10:26379']);
    assert.equal(
      encodeSentinel({ servers: [], out_of_sync: false }).toString(),
      '{\n    "out_of_sync": false\n}',
    );
  });

  it('ConfigV3: lists omitted when empty', () => {
    assert.equal(encodeConfigV3({}).toString(), '{}');
    const text = `{
    "slots": [
        {
            "id": 0,
            "group_id": 1,
            "action": {}
        }
    ],
    "group": [
${idleGroupText.replace(/^/gm, '        ')}
    ]
}`;
    const c = roundTrip(text, decodeConfigV3, encodeConfigV3);
    assert.equal(c.group?.[0].servers[0].server, '10.0.0.1:6379');
    assert.equal(c.proxy, undefined);
    assert.throws(
      () => decodeConfigV3('{"slots": [{"id": "x"}]}'),
      /config: slots\[0\]: slot\.id: expected a number/,
    );
  });
});

describe('Go encoder details', () => {
  it("escapes like Go's encoding/json", () => {
    const text = jsonEncode({ sys: 'a<b>&c\b\f\\b\u2028' }).toString();
    assert.equal(text, '{\n    "sys": "a\\u003cb\\u003e\\u0026c\\u0008\\u000c\\\\b\\u2028"\n}');
    assert.deepEqual(JSON.parse(text), { sys: 'a<b>&c\b\f\\b\u2028' });
  });

  it('decodes like Go: missing and null fields are zero, unknown fields ignored, wrong types fail', () => {
    assert.deepEqual(decodeGroup('{"id": 3, "servers": null, "extra": 1}'), {
      id: 3,
      servers: [],
      promoting: {},
      out_of_sync: false,
    });
    assert.deepEqual(decodeSlotMapping('{"id": 9, "action": {"index": 0, "state": ""}}'), newSlotMapping(9));
    assert.deepEqual(slotMappingToJson(decodeSlotMapping('{"id": 9}')), { id: 9, group_id: 0, action: {} });
    assert.throws(
      () => decodeGroup('{"id": 3, "servers": [{"server": 1}]}'),
      /group\.servers\[0\]\.server: expected a string/,
    );
    assert.throws(() => decodeSlotMapping('[]'), /slot: expected an object/);
    assert.throws(() => decodeTopom('{"pid": 1.5}'), /topom\.pid: expected an integer/);
  });
});
