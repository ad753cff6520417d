// Starts real etcd servers (/usr/bin/etcd 3.4) on free loopback ports for tests.
// Every member gets its own temp data dir; stop() SIGKILLs the processes and removes the dirs
// (a SIGTERM of a leader without quorum can take 10 s). A process 'exit' hook does the same if a
// test run dies before stop().

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { freePorts } from './ports.js';

interface Member {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  log: string;
  proc: ChildProcess | null;
}

const live = new Set<EtcdCluster>();
process.on('exit', () => live.forEach((c) => c.killSync()));

export class EtcdCluster {
  private constructor(
    readonly baseDir: string,
    private readonly members: Member[],
  ) {}

  /** Client URLs of all members (stopped ones included). */
  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  /** Comma-separated addresses, as the coordinator factory takes them. */
  get addr(): string {
    return this.endpoints.join(',');
  }

  static async start(size = 1, readyTimeoutMs = 15000): Promise<EtcdCluster> {
    const baseDir = mkdtempSync(join(tmpdir(), 'codis-etcd-'));
    const members: Member[] = [];
    const ports = await freePorts(2 * size);
    for (let i = 0; i < size; i++) {
      const [client, peer] = [ports[2 * i], ports[2 * i + 1]];
      members.push({
        name: `e${i}`,
        clientUrl: `http://127.0.0.1:${client}`,
        peerUrl: `http://127.0.0.1:${peer}`,
        dataDir: join(baseDir, `e${i}`),
        log: join(baseDir, `e${i}.log`),
        proc: null,
      });
    }
    const cluster = new EtcdCluster(baseDir, members);
    live.add(cluster);
    const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
    const token = `codis-ts-${process.pid}-${Date.now()}`; // ONE value for all members
    for (const m of members) {
      const out = openSync(m.log, 'a');
      m.proc = spawn(
        '/usr/bin/etcd',
        [
          ...['--name', m.name, '--data-dir', m.dataDir],
          ...['--listen-client-urls', m.clientUrl, '--advertise-client-urls', m.clientUrl],
          ...['--listen-peer-urls', m.peerUrl, '--initial-advertise-peer-urls', m.peerUrl],
          ...['--initial-cluster', initialCluster, '--initial-cluster-token', token],
          ...['--initial-cluster-state', 'new', '--logger', 'zap', '--log-level', 'warn'],
        ],
        { stdio: ['ignore', out, out] },
      );
      closeSync(out);
    }
    try {
      await cluster.waitHealthy(members, readyTimeoutMs);
    } catch (err) {
      const logs = members.map((m) => `${m.name}: ${readFileSync(m.log, 'utf8').slice(-2000)}`).join('\n');
      await cluster.stop();
      throw new Error(`${(err as Error).message}\n${logs}`, { cause: err });
    }
    return cluster;
  }

  /** Polls /health of the given members (all by default) until each says true. */
  async waitHealthy(members: Member[] = this.running(), timeoutMs = 15000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const m of members) {
      for (;;) {
        if (m.proc?.exitCode !== null) throw new Error(`etcd ${m.name} exited (code ${m.proc?.exitCode})`);
        const ok = await fetch(`${m.clientUrl}/health`, { signal: AbortSignal.timeout(1000) })
          .then(async (r) => ((await r.json()) as { health?: string }).health === 'true')
          .catch(() => false);
        if (ok) break;
        if (Date.now() > deadline) throw new Error(`etcd ${m.name} not healthy within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  private running(): Member[] {
    return this.members.filter((m) => m.proc);
  }

  /** Freezes (SIGSTOP) or thaws (SIGCONT) every running member: a hung etcd still accepts connections. */
  hang(on: boolean): void {
    for (const m of this.running()) m.proc!.kill(on ? 'SIGSTOP' : 'SIGCONT');
  }

  /** SIGKILLs member i (its data dir stays until stop()). */
  async stopMember(i: number): Promise<void> {
    const m = this.members[i];
    if (!m?.proc) return;
    await kill(m.proc);
    m.proc = null;
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((_, i) => this.stopMember(i)));
    rmSync(this.baseDir, { recursive: true, force: true });
    live.delete(this);
  }

  /** For the exit hook: no awaiting possible there. */
  killSync(): void {
    for (const m of this.members) m.proc?.kill('SIGKILL');
    rmSync(this.baseDir, { recursive: true, force: true });
  }
}

/** SIGKILL and wait for the exit, so ports and files are free afterwards. */
export function kill(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill('SIGKILL');
  });
}

/**
 * A loopback TCP relay to a server that can cut every connection and refuse new ones: a network
 * partition of the clients that connect through it, while the server itself keeps running (so it
 * expires their leases and sessions on time).
 */
export class TcpRelay {
  private readonly sockets = new Set<Socket>();
  private cut = false;

  private constructor(private readonly server: Server) {}

  static async start(targetPort: number): Promise<TcpRelay> {
    const relay: TcpRelay = new TcpRelay(
      createServer((client) => {
        if (relay.cut) return client.destroy();
        const upstream = connect(targetPort, '127.0.0.1');
        for (const s of [client, upstream]) {
          relay.sockets.add(s);
          s.on('close', () => relay.sockets.delete(s));
          s.on('error', () => undefined);
        }
        client.pipe(upstream).pipe(client);
      }),
    );
    await new Promise<void>((resolve) => relay.server.listen(0, '127.0.0.1', resolve));
    return relay;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  partition(): void {
    this.cut = true;
    this.sockets.forEach((s) => s.destroy());
  }

  heal(): void {
    this.cut = false;
  }

  close(): Promise<void> {
    this.partition();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
