/**
 * Forwarding a request for a slot that is migrating from group A (migrate) to group B
 * (backend), on stock Redis: the keys the request names are first moved from A to B with
 * `MIGRATE … KEYS …` on A (a key already gone answers NOKEY), then the request runs on B.
 * A reader thus sees the latest value, and nothing is ever written to A.
 */
import type { Router } from './Router.js';
import type { Slot } from './Slot.js';
import type { Request } from './Request.js';
import { KeyKind } from './commands/CommandInfo.js';
import { collectKeys } from './commands/Mapper.js';
import { parseAddr } from '../utils/addr.js';

/** Timeout handed to MIGRATE for the keys of one request. */
export const MIGRATE_TIMEOUT_MS = 5000;

const scratch: number[] = [];

export function requestKeys(req: Request): Buffer[] {
  // A sub-request of a split command carries only its group's keys.
  if (req.keyIndex !== null) return req.keyIndex.map((i) => req.args[i]!);
  const info = req.info;
  if (info.keyKind === KeyKind.Single) {
    const k = req.args[info.firstKey];
    return k === undefined ? [] : [k];
  }
  if (info.keyKind === KeyKind.None) return [];
  const n = collectKeys(info, req.args, scratch);
  const keys: Buffer[] = [];
  for (let i = 0; i < n; i++) keys.push(req.args[scratch[i]!]!);
  return keys;
}

/** How a held key is named: its database and its bytes (only while a big key moves). */
export function holdKey(db: number, key: Buffer): string {
  return `${db}:${key.toString('latin1')}`;
}

export function forwardMigrating(router: Router, slot: Slot, req: Request): void {
  const keys = requestKeys(req);
  const target = slot.backend!;
  if (slot.keyHolds !== null) {
    for (const k of keys) {
      const waiting = slot.keyHolds.get(holdKey(req.db, k));
      if (waiting !== undefined) {
        waiting.push(req);
        return;
      }
    }
  }
  slot.track(req);
  if (keys.length === 0) {
    target.get(req.db, req.seed, true)!.push(req);
    return;
  }
  const { host, port } = parseAddr(target.addr);
  const args: (Buffer | string | number)[] = ['MIGRATE', host, port, '', req.db, MIGRATE_TIMEOUT_MS];
  if (router.auth !== '') args.push('AUTH', router.auth);
  // REPLACE: a key on both sides can only be the copy a half-failed MIGRATE left on the target,
  // never newer data (every request for the key migrates it first), so the source copy wins.
  args.push('REPLACE', 'KEYS', ...keys);
  const source = slot.migrate!.get(req.db, req.seed, true)!;
  source.call(
    args,
    (r) => {
      if (r[0] === 0x2d) {
        req.fail('ERR handle request, migrate keys failed: ' + r.toString('utf8', 1, r.length - 2));
        return;
      }
      // The slot may have switched while MIGRATE ran; the target is what this request chose.
      target.get(req.db, req.seed, true)!.push(req);
    },
    (cause) => req.fail('ERR handle request, ' + cause),
  );
}
