import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import http from 'node:http';
import { rpc, RpcError } from '../../src/utils/rpc.js';

test('a server that never answers fails the call with how long it waited', async () => {
  const held: net.Socket[] = [];
  const server = net.createServer((s) => held.push(s)); // accepts, reads, never writes
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  try {
    await assert.rejects(rpc.put(addr, '/api/topom/group/create/x/1', undefined, { timeoutMs: 300 }), (e) => {
      assert.ok(e instanceof RpcError);
      assert.equal(e.status, 0);
      assert.equal(e.message, `PUT http://${addr}/api/topom/group/create/x/1 failed: no answer within 0.3 s`);
      return true;
    });
  } finally {
    held.forEach((s) => s.destroy());
    server.close();
  }
});

test('errors name the status and the remote cause; refused connections their reason', async () => {
  const server = http.createServer((_, res) => {
    res.writeHead(503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ Cause: 'store: zookeeper down' }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  try {
    await assert.rejects(rpc.get(`127.0.0.1:${port}`, '/topom'), {
      message: `[503] store: zookeeper down - GET http://127.0.0.1:${port}/topom`,
    });
  } finally {
    await new Promise((r) => server.close(r));
  }
  await assert.rejects(
    rpc.get(`127.0.0.1:${port}`, '/topom'),
    /GET http:\/\/127\.0\.0\.1:\d+\/topom failed: .*ECONNREFUSED/,
  );
});
