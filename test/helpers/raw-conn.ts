/**
 * A connection that returns replies as the raw bytes the server wrote (latin1 text), for
 * byte-for-byte comparisons in any protocol (RESP3 included), with no parser of ours between.
 * Each exchange ends with a PING: its `+PONG` closes the exchange, so tests must not store
 * values that end in `+PONG\r\n`.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { encodeCommand, type Arg } from './resp-client.js';

const MARK = '+PONG\r\n';

export class RawConn {
  private text = '';
  private waiter: { resolve: (s: string) => void; reject: (e: Error) => void } | null = null;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (d) => {
      this.text += d.toString('latin1');
      if (this.waiter !== null && this.text.endsWith(MARK)) {
        const out = this.text.slice(0, -MARK.length);
        this.text = '';
        const w = this.waiter;
        this.waiter = null;
        w.resolve(out);
      }
    });
    socket.on('close', () =>
      this.waiter?.reject(new Error(`connection closed; got ${JSON.stringify(this.text)}`)),
    );
  }

  static open(port: number): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(new RawConn(s)));
      s.once('error', reject);
    });
  }

  /** Sends the commands as one write and resolves with the bytes of all their replies. */
  send(cmds: readonly (readonly Arg[])[], timeoutMs = 10_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`no reply to ${cmds.map((c) => c[0]).join(' ')}; got ${JSON.stringify(this.text)}`),
          ),
        timeoutMs,
      );
      this.waiter = {
        resolve: (s) => {
          clearTimeout(timer);
          resolve(s);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.socket.write(Buffer.concat([...cmds.map(encodeCommand), encodeCommand(['PING'])]));
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * Sends `cmds` in one exchange to a server and to the proxy, in RESP2 then RESP3, and asserts the
 * proxy's bytes are the server's (HELLO's own reply, which differs, in an exchange of its own).
 */
export async function sameAsRedis(
  server: number,
  proxy: number,
  cmds: readonly (readonly Arg[])[],
): Promise<void> {
  const [direct, proxied] = await Promise.all([RawConn.open(server), RawConn.open(proxy)]);
  try {
    for (const proto of [2, 3]) {
      await Promise.all([direct.send([['HELLO', proto]]), proxied.send([['HELLO', proto]])]);
      const [want, got] = await Promise.all([direct.send(cmds), proxied.send(cmds)]);
      assert.equal(got, want, `RESP${proto}`);
    }
  } finally {
    direct.close();
    proxied.close();
  }
}
