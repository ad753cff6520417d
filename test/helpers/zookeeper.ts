// Starts a standalone ZooKeeper (Debian's zookeeper.jar, run by java directly so that nothing is
// written outside the temp dir) on a free loopback port. tickTime 500 allows sessions of 1..10 s.
// Ready when the `srvr` 4-letter word answers "Mode:" (`ruok` answers before it serves).

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kill } from './etcd.js';
import { freePort } from './ports.js';

const live = new Set<ZooKeeperServer>();
process.on('exit', () => live.forEach((z) => z.killSync()));

/** Sends a 4-letter word and returns the whole answer ('' when the server is not there). */
export function fourLetterWord(port: number, word: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve) => {
    let answer = '';
    const socket = connect(port, '127.0.0.1', () => socket.write(word));
    socket.setTimeout(timeoutMs, () => socket.destroy());
    socket.on('data', (d) => (answer += d.toString()));
    socket.on('close', () => resolve(answer));
    socket.on('error', () => undefined);
  });
}

export class ZooKeeperServer {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private proc: ChildProcess | null,
  ) {}

  get addr(): string {
    return `127.0.0.1:${this.port}`;
  }

  static async start(readyTimeoutMs = 20000): Promise<ZooKeeperServer> {
    const dir = mkdtempSync(join(tmpdir(), 'codis-zk-'));
    const port = await freePort();
    mkdirSync(join(dir, 'data'));
    const cfg = join(dir, 'zoo.cfg');
    writeFileSync(
      cfg,
      [
        'tickTime=500',
        `dataDir=${join(dir, 'data')}`,
        `clientPort=${port}`,
        'clientPortAddress=127.0.0.1',
        'admin.enableServer=false',
        '4lw.commands.whitelist=ruok,srvr,stat,mntr',
        'maxSessionTimeout=60000',
        '',
      ].join('\n'),
    );
    const log = join(dir, 'zk.log');
    const out = openSync(log, 'a');
    const proc = spawn(
      'java',
      [
        '-Xmx256m',
        '-cp',
        '/usr/share/java/zookeeper.jar',
        'org.apache.zookeeper.server.quorum.QuorumPeerMain',
        cfg,
      ],
      { stdio: ['ignore', out, out] },
    );
    closeSync(out);
    const server = new ZooKeeperServer(dir, port, proc);
    live.add(server);
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      if ((await fourLetterWord(port, 'srvr')).includes('Mode:')) return server;
      if (proc.exitCode !== null || Date.now() > deadline) {
        const tail = readFileSync(log, 'utf8').slice(-2000);
        await server.stop();
        throw new Error(`zookeeper on port ${port} not serving within ${readyTimeoutMs} ms\n${tail}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(): Promise<void> {
    if (this.proc) await kill(this.proc);
    this.proc = null;
    rmSync(this.dir, { recursive: true, force: true });
    live.delete(this);
  }

  killSync(): void {
    this.proc?.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
