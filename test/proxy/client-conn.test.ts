/**
 * Client connections: on the bare handle (HandleConn, what acceptConns makes) and over
 * net.Socket (SocketConn, the fallback) they keep the same contract. Reads land in one
 * shared buffer, so what an owner is given must be its own copy; writes the kernel cannot
 * take are queued and reported by onDrain; end() sends the rest and closes after the FIN.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { acceptConns } from '../../src/proxy/accept.js';
import type { ClientConn, ConnOwner } from '../../src/proxy/ClientConn.js';
import { HandleConn } from '../../src/proxy/HandleConn.js';
import { SocketConn } from '../../src/proxy/SocketConn.js';

/** Records a connection's events and lets a test wait for them. */
class Owner implements ConnOwner {
  readonly kept: Buffer[] = [];
  drains = 0;
  ended = false;
  closed = false;
  private wake: (() => void) | null = null;
  onData(chunk: Buffer): void {
    this.kept.push(chunk);
    this.poke();
  }
  onEnd(): void {
    this.ended = true;
    this.poke();
  }
  onDrain(): void {
    this.drains++;
    this.poke();
  }
  onClose(): void {
    this.closed = true;
    this.poke();
  }
  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }
  async until(what: string, ok: () => boolean): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 100);
      });
    }
  }
  bytes(): number {
    return this.kept.reduce((n, b) => n + b.length, 0);
  }
  text(): string {
    return Buffer.concat(this.kept).toString();
  }
}

interface Served {
  port: number;
  /** The next accepted connection, attached to a fresh Owner. */
  next(): Promise<{ conn: ClientConn; owner: Owner }>;
  close(): void;
}

type Kind = 'handle' | 'socket';

async function serve(kind: Kind): Promise<Served> {
  const waiting: ((c: ClientConn) => void)[] = [];
  const ready: ClientConn[] = [];
  const onConn = (c: ClientConn) => {
    const w = waiting.shift();
    if (w) w(c);
    else ready.push(c);
  };
  const server =
    kind === 'handle'
      ? net.createServer()
      : net.createServer({ allowHalfOpen: true }, (s) => onConn(new SocketConn(s, '')));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  if (kind === 'handle') acceptConns(server, '', onConn);
  return {
    port: (server.address() as net.AddressInfo).port,
    async next() {
      const conn = ready.shift() ?? (await new Promise<ClientConn>((r) => waiting.push(r)));
      assert.ok(conn instanceof (kind === 'handle' ? HandleConn : SocketConn), `a ${kind} connection`);
      const owner = new Owner();
      conn.attach(owner);
      return { conn, owner };
    },
    close: () => server.close(),
  };
}

async function client(port: number): Promise<net.Socket> {
  const c = net.connect(port, '127.0.0.1');
  await once(c, 'connect');
  return c;
}

for (const kind of ['handle', 'socket'] as const) {
  test(`${kind}: each read is the owner's own copy, intact after other connections' reads`, async () => {
    const srv = await serve(kind);
    const a = await client(srv.port);
    const ca = await srv.next();
    const b = await client(srv.port);
    const cb = await srv.next();
    a.write('first-'.repeat(100));
    await ca.owner.until('a', () => ca.owner.bytes() === 600);
    const first = ca.owner.kept.slice();
    b.write('x'.repeat(70_000)); // more than the shared buffer: several reads
    await cb.owner.until('b', () => cb.owner.bytes() === 70_000);
    assert.equal(Buffer.concat(first).toString(), 'first-'.repeat(100));
    assert.equal(cb.owner.text(), 'x'.repeat(70_000));
    assert.equal(ca.conn.remote, `127.0.0.1:${a.localPort}`);
    for (const s of [a, b]) s.destroy();
    srv.close();
  });

  test(`${kind}: a write the client does not read yet is queued, drained, and arrives whole and in order`, async () => {
    const srv = await serve(kind);
    const c = await client(srv.port);
    c.pause();
    const { conn, owner } = await srv.next();
    const big = Buffer.alloc(16 * 1024 * 1024, 'b');
    assert.equal(conn.write(big), false, 'the kernel cannot take 16 MB at once');
    assert.ok(conn.unsent > 0, 'unsent bytes are counted');
    assert.equal(conn.writev([Buffer.from('-'), Buffer.from('tail')]), false);
    let got = 0;
    let last = '';
    c.on('data', (d: Buffer) => {
      got += d.length;
      last = (last + d.toString('latin1')).slice(-5);
    });
    c.resume();
    await owner.until('drain', () => owner.drains > 0 && got === big.length + 5);
    assert.equal(last, '-tail');
    assert.equal(conn.unsent, 0);
    c.destroy();
    srv.close();
  });

  test(`${kind}: a client that resets the connection with writes queued for it is closed, and others go on`, async () => {
    const srv = await serve(kind);
    const c = await client(srv.port);
    c.pause();
    const { conn, owner } = await srv.next();
    assert.equal(conn.write(Buffer.alloc(16 * 1024 * 1024, 'r')), false);
    c.resetAndDestroy();
    await owner.until('close', () => owner.closed);
    assert.equal(conn.unsent, 0);
    assert.equal(conn.write(Buffer.from('after close')), true, 'a write after close is dropped');
    const other = await client(srv.port);
    const o = await srv.next();
    other.write('still serving');
    await o.owner.until('other', () => o.owner.bytes() === 13);
    other.destroy();
    srv.close();
  });

  test(`${kind}: pause stops reads until resume`, async () => {
    const srv = await serve(kind);
    const c = await client(srv.port);
    const { conn, owner } = await srv.next();
    c.write('one');
    await owner.until('one', () => owner.bytes() === 3);
    conn.pause();
    c.write('two');
    // A round trip on another connection gives the paused one time to (wrongly) read.
    const probe = await client(srv.port);
    const p = await srv.next();
    probe.write('ping');
    await p.owner.until('probe', () => p.owner.bytes() === 4);
    assert.equal(owner.text(), 'one');
    conn.resume();
    await owner.until('two', () => owner.bytes() === 6);
    assert.equal(owner.text(), 'onetwo');
    for (const s of [c, probe]) s.destroy();
    srv.close();
  });

  test(`${kind}: end sends the last bytes, then closes once the client's FIN comes`, async () => {
    const srv = await serve(kind);
    const c = await client(srv.port);
    const { conn, owner } = await srv.next();
    let text = '';
    c.on('data', (d: Buffer) => (text += d.toString()));
    conn.write(Buffer.from('+OK\r\n'));
    conn.end(Buffer.from('-ERR bye\r\n'));
    assert.equal(conn.write(Buffer.from('not sent')), true);
    await once(c, 'end');
    assert.equal(text, '+OK\r\n-ERR bye\r\n');
    assert.equal(owner.closed, false, 'still open until the client ends its side');
    c.end();
    await owner.until('close', () => owner.closed);
    srv.close();
  });

  test(`${kind}: after the client's FIN it still gets what is written, then end closes`, async () => {
    const srv = await serve(kind);
    const c = net.connect({ port: srv.port, host: '127.0.0.1', allowHalfOpen: true });
    await once(c, 'connect');
    const { conn, owner } = await srv.next();
    let text = '';
    c.on('data', (d: Buffer) => (text += d.toString()));
    c.end('last words');
    await owner.until('end', () => owner.ended);
    assert.equal(owner.text(), 'last words');
    assert.equal(owner.closed, false, 'a half-closed client is not dropped');
    conn.write(Buffer.from('+reply\r\n'));
    conn.end();
    await once(c, 'end');
    assert.equal(text, '+reply\r\n');
    await owner.until('close', () => owner.closed);
    srv.close();
  });
}
