/** Free loopback ports for test servers. The port is free when returned; callers retry on EADDRINUSE. */
import { createServer, type Server } from 'node:net';

function listen(host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ port: 0, host, exclusive: true }, () => resolve(srv));
  });
}

function close(srv: Server): Promise<void> {
  return new Promise((resolve) => srv.close(() => resolve()));
}

/** A port the OS had free on `host` (127.0.0.1 by default). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const [port] = await freePorts(1, host);
  return port!;
}

/** `n` distinct free ports: all are held open until every one is picked, so none repeats. */
export async function freePorts(n: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) servers.push(await listen(host));
    return servers.map((s) => {
      const a = s.address();
      if (a === null || typeof a === 'string') throw new Error('freePort: no TCP address');
      return a.port;
    });
  } finally {
    await Promise.all(servers.map(close));
  }
}
