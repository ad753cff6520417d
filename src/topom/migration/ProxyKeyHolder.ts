/**
 * The KeyHolder of big-key moves: `PUT /api/proxy/keyhold/:xauth` to every proxy of the product
 * (`{"slot", "db", "key": base64, "hold"}`), waiting for all of them. A hold resolves once every
 * proxy holds requests naming the key and none sent before is still running; a proxy that
 * fails makes the hold fail (released again everywhere), so the big key is not moved.
 *
 * Holds in force are remembered: a proxy that (re)joins while a big key moves gets them in its
 * reinit, before it starts serving (TopomProxy.reinit).
 */
import type { KeyHolder } from './BigKeyMover.js';
import { pushAll, ProxyPushError } from '../TopomProxy.js';
import type { Topom } from '../Topom.js';
import { sleep } from './RateLimiter.js';

/** The keyhold body. */
export interface KeyHoldBody {
  slot: number;
  db: number;
  key: string;
  hold: boolean;
}

/** A hold waits for the slot's requests in flight (each bounded by MIGRATE and backend timeouts). */
const HOLD_TIMEOUT_MS = 30_000;
const RELEASE_TRIES = 3;

export class ProxyKeyHolder implements KeyHolder {
  private readonly holds = new Map<string, KeyHoldBody>();

  constructor(private readonly t: Topom) {}

  /** The holds in force now (for a proxy being re-initialised). */
  active(): KeyHoldBody[] {
    return [...this.holds.values()];
  }

  private push(body: KeyHoldBody): Promise<void> {
    const what = body.hold ? 'keyhold' : 'keyhold release';
    return pushAll(this.t.cache.proxyList(), what, (p) =>
      this.t.proxies.put(p, 'keyhold', body, HOLD_TIMEOUT_MS),
    );
  }

  async hold(slot: number, db: number, key: Buffer): Promise<void> {
    const body: KeyHoldBody = { slot, db, key: key.toString('base64'), hold: true };
    const id = `${slot}/${db}/${body.key}`;
    this.holds.set(id, body);
    try {
      await this.push(body);
    } catch (e) {
      this.holds.delete(id);
      await this.push({ ...body, hold: false }).catch(() => undefined);
      throw e;
    }
  }

  async release(slot: number, db: number, key: Buffer): Promise<void> {
    const body: KeyHoldBody = { slot, db, key: key.toString('base64'), hold: false };
    this.holds.delete(`${slot}/${db}/${body.key}`);
    for (let i = 1; ; i++) {
      try {
        return await this.push(body);
      } catch (e) {
        // A proxy that misses the release keeps the key's requests waiting until the slot's next
        // fill: try again, then report it (the pass fails and the migration shows the proxy).
        if (i >= RELEASE_TRIES || !(e instanceof ProxyPushError)) throw e;
        this.t.log.warn(`slot-[${slot}] db${db} key release failed (try ${i}): ${(e as Error).message}`);
        await sleep(200 * i);
      }
    }
  }
}
