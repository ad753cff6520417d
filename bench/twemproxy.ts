/**
 * twemproxy (nutcracker) as an in-run peer: started by the bench over the same redis-servers as
 * codis-proxy, so its ratios come from the same rounds and its CPU and RSS are read like ours.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, removeDir, spawnTracked, trackDir } from './proc.js';
import { waitPong } from './resp.js';
import { managed, type Managed } from './servers.js';

export interface Nutcracker {
  bin: string;
  /** As it prints it, e.g. nutcracker-0.5.0. */
  version: string;
}

/** $NUTCRACKER, else nutcracker on PATH, else Debian's /usr/sbin/nutcracker (not on every PATH). */
export function findNutcracker(): Nutcracker | undefined {
  const candidates = [process.env.NUTCRACKER, 'nutcracker', '/usr/sbin/nutcracker'];
  for (const bin of candidates) {
    if (!bin) continue;
    // It prints its version on stderr.
    const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 5000 });
    if (r.error === undefined && r.status === 0)
      return { bin, version: /nutcracker-[\w.]+/.exec(r.stderr + r.stdout)?.[0] ?? 'unknown version' };
  }
  return undefined;
}

/**
 * twemproxy's usual redis pool (the shape of its README's examples): ketama over fnv1a_64, no
 * ejection, one connection per server, connected before the first client.
 */
function poolYaml(port: number, backends: readonly string[]): string {
  return [
    'bench:',
    `  listen: 127.0.0.1:${port}`,
    '  hash: fnv1a_64',
    '  distribution: ketama',
    '  redis: true',
    '  auto_eject_hosts: false',
    '  preconnect: true',
    '  servers:',
    ...backends.map((b) => `   - ${b}:1`),
  ].join('\n');
}

export async function startTwemproxy(bin: string, backends: readonly string[]): Promise<Managed> {
  const dir = mkdtempSync(join(tmpdir(), 'codis-bench-twemproxy-'));
  trackDir(dir);
  // Its stats port defaults to 0.0.0.0:22222: keep it on loopback and off any port in use.
  const [port, statsPort] = await freePorts(2);
  const conf = join(dir, 'nutcracker.yml');
  writeFileSync(conf, poolYaml(port!, backends) + '\n');
  const logFile = join(dir, 'nutcracker.log');
  const args = [
    '-c',
    conf,
    '-s',
    String(statsPort),
    '-a',
    '127.0.0.1',
    '-o',
    logFile,
    '-p',
    join(dir, 'pid'),
  ];
  const child = spawnTracked(bin, args);
  const logs = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : '');
  if (!(await waitPong('127.0.0.1', port!, 10_000))) {
    child.kill('SIGKILL');
    const why = logs();
    removeDir(dir);
    throw new Error(`twemproxy (${bin}) does not answer PING within 10 s: ${why || '(no log)'}`);
  }
  return managed(child, port!, dir, logs);
}
