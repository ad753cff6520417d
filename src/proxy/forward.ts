/**
 * Forwarding a request for a slot that is migrating from group A (migrate) to group B
 * (backend), on stock Redis: the keys the request names are first moved from A to B with
 * `MIGRATE … KEYS …` on A (a key already gone answers NOKEY), then the request runs on B.
 * A reader thus sees the latest value, and nothing is ever written to A.
 */
import { createHash } from 'node:crypto';
import type { BigKeyLimits } from '../models/Slot.js';
import type { BackendConn } from './BackendConn.js';
import type { Router } from './Router.js';
import type { Slot } from './Slot.js';
import type { Request } from './Request.js';
import { KeyKind } from './commands/CommandInfo.js';
import { collectKeys } from './commands/Mapper.js';
import { startsWith } from '../resp/ReplyScanner.js';

/** Timeout handed to MIGRATE for the keys of one request. */
export const MIGRATE_TIMEOUT_MS = 5000;

const scratch: number[] = [];

/**
 * The keys a request names; a split command's sub-request names only its group's, and a
 * transaction's EXEC those of its commands.
 */
export function requestKeys(req: Request): Buffer[] {
  if (req.txKeys !== null) return req.txKeys;
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

/**
 * Transactions (their EXEC requests) with a MOVE queued. MOVE touches its key in two databases,
 * and a request moves its keys in its own database only before it runs on a migrating slot.
 */
export const movesBetweenDbs = new WeakSet<Request>();

/** `dest`: the connection to the target the request must use (a watching client's own). */
export function forwardMigrating(
  router: Router,
  slot: Slot,
  req: Request,
  dest: BackendConn | null = null,
): void {
  if (req.info.name === 'MOVE' || movesBetweenDbs.has(req)) {
    req.fail(`ERR handle request, MOVE on slot ${slot.id}, which is moving to another group; retry`);
    return;
  }
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
    (dest ?? target.get(req.db, req.seed, true, req.proto)!).push(req);
    return;
  }
  const source = slot.migrate!.get(req.db, req.seed, true, req.proto)!;
  // A big key is never MIGRATEd whole by a request (it would freeze the source): the request
  // waits until the dashboard's worker has moved that key in chunks, and only it waits.
  const fail = (cause: string) => req.fail('ERR handle request, ' + cause);
  const probed = (r: Buffer) => {
    if (r[0] === 0x3a && r[1] === 0x31) return park(router, slot, req);
    migrateKeys(router, slot, req, keys, dest);
  };
  const limits = slot.bigKey ?? DEFAULT_BIG_KEY;
  const probeArgs = [keys.length, ...keys, limits.elements, limits.bytes];
  // By hash: the script body is not sent, nor hashed by the source, for every request. A
  // source that lost its script cache (restart, failover, SCRIPT FLUSH) gets the body once.
  source.call(
    ['EVALSHA', BIG_KEY_PROBE_SHA, ...probeArgs],
    (r) => {
      if (startsWith(r, 0, NOSCRIPT)) {
        source.call(['EVAL', BIG_KEY_PROBE, ...probeArgs], probed, fail);
      } else {
        probed(r);
      }
    },
    fail,
  );
}

function migrateKeys(
  router: Router,
  slot: Slot,
  req: Request,
  keys: Buffer[],
  dest: BackendConn | null,
): void {
  const target = slot.backend!;
  // Parsed once, when the slot's backend was set up.
  const { host, port } = target;
  const args: (Buffer | string | number)[] = ['MIGRATE', host, port, '', req.db, MIGRATE_TIMEOUT_MS];
  if (router.auth !== '') args.push('AUTH', router.auth);
  // REPLACE: a key on both sides can only be the copy a half-failed MIGRATE left on the target,
  // never newer data (every request for the key migrates it first), so the source copy wins.
  args.push('REPLACE', 'KEYS', ...keys);
  const source = slot.migrate!.get(req.db, req.seed, true, req.proto)!;
  source.call(
    args,
    (r) => {
      if (r[0] === 0x2d) {
        req.fail('ERR handle request, migrate keys failed: ' + r.toString('utf8', 1, r.length - 2));
        return;
      }
      // The slot may have switched while MIGRATE ran; the target is what this request chose.
      (dest ?? target.get(req.db, req.seed, true, req.proto)!).push(req);
    },
    (cause) => req.fail('ERR handle request, ' + cause),
  );
}

/**
 * Parks a request on a big key: it leaves the slot's in-flight count (so the slot can still
 * switch) and is routed again shortly, until the key is gone from the source.
 */
function park(router: Router, slot: Slot, req: Request): void {
  req.untrack();
  setTimeout(() => router.dispatch(req, slot.id), BIG_KEY_RETRY_MS);
}

/**
 * Keys above these sizes are left to the dashboard's chunked mover: its defaults, for a slot
 * mapping that does not carry the dashboard's own (`migrate_bigkey_*`).
 */
export const DEFAULT_BIG_KEY: Readonly<BigKeyLimits> = { elements: 10000, bytes: 16 * 1024 * 1024 };
const BIG_KEY_RETRY_MS = 100;

/** 1 when any key is big (O(1) per key: TYPE and a length), else 0. */
const BIG_KEY_PROBE = `
local elements, bytes = tonumber(ARGV[1]), tonumber(ARGV[2])
for _, k in ipairs(KEYS) do
  local t = redis.call('TYPE', k).ok
  if t == 'string' then
    if redis.call('STRLEN', k) > bytes then return 1 end
  elseif t ~= 'none' and t ~= 'stream' then
    local n = 0
    if t == 'list' then n = redis.call('LLEN', k)
    elseif t == 'hash' then n = redis.call('HLEN', k)
    elseif t == 'set' then n = redis.call('SCARD', k)
    elseif t == 'zset' then n = redis.call('ZCARD', k) end
    if n > elements then return 1 end
  end
end
return 0`;
const BIG_KEY_PROBE_SHA = createHash('sha1').update(BIG_KEY_PROBE).digest('hex');
const NOSCRIPT = Buffer.from('-NOSCRIPT');
