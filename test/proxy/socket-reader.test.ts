/**
 * SocketReader: every read lands in one shared buffer, so what a reader is given must be its
 * own copy, intact after later reads of any socket.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { acceptReading, readChunks, readInto } from '../../src/proxy/SocketReader.js';

/** Collects chunks and lets a test wait for the next one. */
class Chunks {
  readonly kept: Buffer[] = [];
  private waiting: (() => void) | null = null;
  readonly onChunk = (chunk: Buffer): void => {
    this.kept.push(chunk);
    this.waiting?.();
  };
  async until(bytes: number): Promise<void> {
    while (Buffer.concat(this.kept).length < bytes) await new Promise<void>((r) => (this.waiting = r));
  }
  text(): string {
    return Buffer.concat(this.kept).toString();
  }
}

async function listen(server: net.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

test('accepted sockets read through the shared buffer; a kept chunk survives later reads', async () => {
  const server = net.createServer();
  const port = await listen(server);
  const got = new Chunks();
  const accepted: net.Socket[] = [];
  acceptReading(server, (s) => {
    accepted.push(s);
    readChunks(s, got.onChunk);
  });
  // Two clients, so the second one's reads overwrite the shared buffer after the first.
  const a = net.connect(port, '127.0.0.1');
  const b = net.connect(port, '127.0.0.1');
  await Promise.all([once(a, 'connect'), once(b, 'connect')]);
  a.write('first-'.repeat(100));
  await got.until(600);
  const first = got.kept.slice();
  b.write('x'.repeat(70_000)); // more than the shared buffer: several reads
  await got.until(70_600);
  assert.equal(Buffer.concat(first).toString(), 'first-'.repeat(100));
  assert.equal(got.text(), 'first-'.repeat(100) + 'x'.repeat(70_000));
  assert.equal(accepted.length, 2);
  for (const s of [a, b, ...accepted]) s.destroy();
  server.close();
});

test('a socket from a plain connection event reads through data events', async () => {
  const got = new Chunks();
  const server = net.createServer((s) => readChunks(s, got.onChunk));
  const port = await listen(server);
  const c = net.connect(port, '127.0.0.1');
  await once(c, 'connect');
  c.write('hello');
  await got.until(5);
  assert.equal(got.text(), 'hello');
  c.destroy();
  server.close();
});

test('a connecting socket with readInto gets its own copies of what it reads', async () => {
  const server = net.createServer((s) => {
    s.write('one');
    s.once('data', () => s.end('two'));
  });
  const port = await listen(server);
  const got = new Chunks();
  const c = net.connect({ port, host: '127.0.0.1', onread: readInto(got.onChunk) });
  await got.until(3);
  const first = got.kept[0]!;
  c.write('go');
  await got.until(6);
  assert.equal(first.toString(), 'one');
  assert.equal(got.text(), 'onetwo');
  c.destroy();
  server.close();
});
