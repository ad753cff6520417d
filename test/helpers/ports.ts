/**
 * Free loopback ports for test servers. They come from below the kernel's ephemeral range:
 * a port the OS hands out for `listen(0)` is also what it hands out to outgoing connections,
 * and one of those (a client of etcd, a proxy's backend connection) could take it between the
 * check here and the server's own listen. A port is tried with an exclusive listen first, and
 * this process never hands out one port twice.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

const LOWEST = 10_000;
/** The first ephemeral port (32768 by default on Linux). */
const EPHEMERAL = (() => {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    return 32_768;
  }
})();
const given = new Set<number>();

function listen(port: number, host: string): Promise<Server | null> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(null));
    srv.listen({ port, host, exclusive: true }, () => resolve(srv));
  });
}

function close(srv: Server): Promise<void> {
  return new Promise((resolve) => srv.close(() => resolve()));
}

/** A port free on `host` (127.0.0.1 by default) that no other test of this process was given. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const [port] = await freePorts(1, host);
  return port!;
}

/** `n` distinct free ports. */
export async function freePorts(n: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: Server[] = [];
  const ports: number[] = [];
  const span = Math.max(1, EPHEMERAL - LOWEST);
  try {
    for (let tries = 0; ports.length < n; tries++) {
      if (tries > 10_000) throw new Error(`freePorts: no free port in ${LOWEST}-${EPHEMERAL - 1}`);
      const port = LOWEST + Math.floor(Math.random() * span);
      if (given.has(port)) continue;
      const srv = await listen(port, host);
      if (srv === null) continue;
      servers.push(srv);
      ports.push(port);
      given.add(port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map(close));
  }
}
