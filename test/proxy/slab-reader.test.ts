/**
 * Backend reads: small ones are copied out, big ones handed on as views of a slab that no
 * later read overwrites, and a burst of big replies (which makes a backend connection yield
 * its reads between turns) reaches every client whole and in order.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { joinPieces, SlabReader } from '../../src/proxy/SocketReader.js';
import { keyOn, startProxy, type ProxyProcess } from '../helpers/proxy.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { encodeCommand } from '../helpers/resp-client.js';

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) % 251;
  return b;
}

test(
  'what a backend socket reads stays intact: small reads are copies, big ones views no later read overwrites',
  { timeout: 20_000 },
  async (t) => {
    // One message per request: small, a burst, a run of small ones (the burst ends), a burst again.
    const script = [
      Buffer.from('one'),
      pattern(3 * 1024 * 1024, 3),
      ...Array.from({ length: 20 }, (_, i) => Buffer.from(`small-${i}`)),
      pattern(1024 * 1024, 5),
    ];
    const server = net.createServer((s) => {
      let next = 0;
      s.write(script[next++]!);
      s.on('data', () => {
        if (next < script.length) s.write(script[next++]!);
        else s.end();
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const kept: Buffer[] = [];
    let got = 0;
    let wake: (() => void) | null = null;
    const reader = new SlabReader((chunk) => {
      kept.push(chunk);
      got += chunk.length;
      wake?.();
      return true;
    });
    const { port } = server.address() as net.AddressInfo;
    const c = net.connect({ port, host: '127.0.0.1', onread: reader.opts() });
    // Also after a timeout, so that a reader that loses bytes fails the test instead of hanging it.
    t.after(() => {
      c.destroy();
      server.close();
    });
    let total = 0;
    for (const m of script) {
      total += m.length;
      while (got < total) await new Promise<void>((r) => (wake = r));
      c.write('next');
    }
    assert.equal(kept[0]!.toString(), 'one');
    assert.ok(Buffer.concat(kept).equals(Buffer.concat(script)), 'every byte as sent, none overwritten');
    // Big reads that follow each other lie end to end, so a reply across them needs no copy.
    const views = kept.filter((k) => k.length >= 8 * 1024);
    const adjacent = views.some(
      (k, i) =>
        i > 0 &&
        k.buffer === views[i - 1]!.buffer &&
        k.byteOffset === views[i - 1]!.byteOffset + views[i - 1]!.length,
    );
    assert.ok(adjacent, 'consecutive big reads share their slab');
  },
);

test('joinPieces makes one view of pieces end to end in memory, and a copy of any others', () => {
  const slab = pattern(1000, 1);
  const joined = joinPieces([slab.subarray(0, 300), slab.subarray(300, 700), slab.subarray(700, 900)], 900);
  assert.ok(joined.equals(slab.subarray(0, 900)));
  assert.equal(joined.buffer, slab.buffer, 'no copy');
  const apart = joinPieces([slab.subarray(0, 300), slab.subarray(400, 500)], 400);
  assert.ok(apart.equals(Buffer.concat([slab.subarray(0, 300), slab.subarray(400, 500)])));
  const other = Buffer.from('xyz');
  assert.equal(joinPieces([slab.subarray(0, 10), other], 13).toString('latin1', 10), 'xyz');
});

let a: RedisServer;
let b: RedisServer;
let proxy: ProxyProcess;
const list = keyOn('biglist', 0);
const small = keyOn('small', 0);
const elsewhere = keyOn('small', 1);
const items = Array.from({ length: 1500 }, (_, i) => `${i}:`.padEnd(64, String.fromCharCode(97 + (i % 26))));

before(async () => {
  [a, b] = await Promise.all([startRedis(), startRedis()]);
  proxy = await startProxy({ backends: [a.addr, b.addr] });
  await a.call('RPUSH', list, ...items);
  await a.call('SET', small, 'on-a');
  await b.call('SET', elsewhere, 'on-b');
});
after(async () => {
  await proxy?.stop();
  await Promise.all([a?.stop(), b?.stop()]);
});

/** Writes a pipeline and reads exactly `expect` bytes back. */
async function pipeline(port: number, request: Buffer, expect: number): Promise<Buffer> {
  const s = net.connect(port, '127.0.0.1');
  await once(s, 'connect');
  s.write(request);
  const parts: Buffer[] = [];
  let n = 0;
  await new Promise<void>((resolve, reject) => {
    s.on('data', (d: Buffer) => {
      parts.push(d);
      n += d.length;
      if (n >= expect) resolve();
    });
    s.on('close', () => reject(new Error(`connection closed after ${n} of ${expect} bytes`)));
    s.on('error', reject);
  });
  s.destroy();
  return Buffer.concat(parts);
}

const bulk = (v: string) => `$${v.length}\r\n${v}\r\n`;

test('a burst of big replies over one backend connection reaches every client whole and in order', async () => {
  const cmds: Buffer[] = [];
  const replies: string[] = [];
  for (let i = 0; i < 40; i++) {
    cmds.push(encodeCommand(['LRANGE', list, i, -1]));
    replies.push(`*${1500 - i}\r\n` + items.slice(i).map(bulk).join(''));
    if (i % 8 === 0) {
      const onB = i % 16 === 8;
      cmds.push(encodeCommand(['GET', onB ? elsewhere : small]));
      replies.push(bulk(onB ? 'on-b' : 'on-a'));
    }
  }
  const request = Buffer.concat(cmds);
  const expected = Buffer.from(replies.join(''));
  assert.ok(expected.length > 4 * 1024 * 1024, `a burst of ${expected.length} bytes`);
  const seen = await Promise.all(
    Array.from({ length: 4 }, () => pipeline(proxy.port, request, expected.length)),
  );
  for (const s of seen) assert.ok(s.equals(expected), 'replies as Redis gives them, in order');
});
