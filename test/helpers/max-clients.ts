/** proxy_max_clients over a proxy's workers, checked as a client sees it. */
import assert from 'node:assert/strict';
import type { ProxyProcess } from './proxy.js';
import { RedisError, type RespClient } from './resp-client.js';

/** A field of INFO, as the worker that serves `c` reports it (for the whole proxy). */
export async function infoField(c: RespClient, name: string): Promise<string | undefined> {
  const text = String(await c.call('INFO'));
  return new RegExp(`^${name}:(.*)\\r$`, 'm').exec(text)?.[1];
}

/** True when a new client gets the max-clients error for its first command. */
async function refused(p: ProxyProcess): Promise<boolean> {
  const c = await p.connect();
  const r = await c.call('PING');
  c.destroy();
  return r instanceof RedisError && /max number of clients reached/.test(r.message);
}

/**
 * `max` clients that come one at a time, each counted before the next (an INFO goes through
 * the primary after every worker's count), are admitted; the next ones are refused, whichever
 * worker they reach. Once one leaves and INFO has counted it, another is admitted.
 */
export async function maxClientsOneAtATime(p: ProxyProcess, max: number): Promise<void> {
  const admitted: RespClient[] = [];
  for (let i = 0; i < max; i++) {
    const c = await p.connect();
    assert.equal(await c.call('PING'), 'PONG');
    assert.equal(await infoField(c, 'connected_clients'), String(i + 1));
    admitted.push(c);
  }
  for (let i = 0; i < 6; i++) assert.ok(await refused(p), `client ${max + i + 1} was admitted`);
  await admitted.pop()!.close();
  for (let i = 0; i < 100 && (await infoField(admitted[0]!, 'connected_clients')) !== String(max - 1); i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const again = await p.connect();
  assert.equal(await again.call('PING'), 'PONG');
  again.close();
  for (const c of admitted) c.close();
}
