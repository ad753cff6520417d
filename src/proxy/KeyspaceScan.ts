/**
 * SCAN and RANDOMKEY over the whole product, one group at a time.
 *
 * A SCAN cursor names a group and that group's own cursor: `inner × 16384 + group id`. The
 * group id (not a position in a list) keeps a cursor valid on every proxy of the product and
 * across a failover, where the group's primary changes address. Groups go in id order; when
 * one is done the cursor moves to the next, and 0 ends the scan, as in Redis. MATCH, COUNT and
 * TYPE go to each server as given.
 *
 * Redis's guarantee holds between migrations: every key present for the whole scan is returned,
 * perhaps more than once. A key whose slot moves, during the scan, from a group not yet
 * scanned to one already scanned can be missed (as with Redis Cluster while it reshards).
 */
import { arrayHeader, bulk, error } from '../resp/encode.js';
import { splitArrayReply } from '../resp/ReplyScanner.js';
import type { BackendSession } from './EveryBackend.js';
import type { Request } from './Request.js';
import type { Router } from './Router.js';

/** Group ids are below this (Codis allows 1..9999). */
const GROUP_SPAN = 16384n;
/** The longest cursor accepted: 2^64 × GROUP_SPAN has 24 digits. */
const MAX_CURSOR_DIGITS = 24;

/** A group's primary, and the number cursors know it by. */
interface GroupServer {
  readonly id: number;
  readonly addr: string;
}

/**
 * The primaries in cursor order. A slot's migration source counts too: it still holds the keys
 * not moved yet. A static slot table without group ids numbers its servers by address.
 */
export function groupsInOrder(router: Router): GroupServer[] {
  const idOf = new Map<string, number>();
  for (const slot of router.slots) {
    if (slot.backend !== null) idOf.set(slot.backend.addr, slot.backendGroupId);
    if (slot.migrate !== null) idOf.set(slot.migrate.addr, slot.migrateGroupId);
  }
  let groups = [...idOf].map(([addr, id]) => ({ addr, id }));
  const ids = new Set(groups.map((g) => g.id));
  if (ids.has(0) || ids.size !== groups.length || groups.some((g) => BigInt(g.id) >= GROUP_SPAN)) {
    groups = groups
      .map((g) => g.addr)
      .sort()
      .map((addr, i) => ({ addr, id: i + 1 }));
  }
  return groups.sort((a, b) => a.id - b.id);
}

/** SCAN cursor [MATCH pattern] [COUNT n] [TYPE t] over every group's primary. */
export function scan(router: Router, s: BackendSession, req: Request): void {
  const text = req.args[1]!.toString('latin1');
  if (!/^\d+$/.test(text) || text.length > MAX_CURSOR_DIGITS) return req.fail('ERR invalid cursor');
  const cursor = BigInt(text);
  const wanted = Number(cursor % GROUP_SPAN);
  const groups = groupsInOrder(router);
  const at = groups.findIndex((g) => g.id >= wanted);
  if (at < 0) return req.answer(scanReply(0n, arrayHeader(0)));
  const group = groups[at]!;
  // A cursor for a group that is gone starts the next one from its beginning.
  const inner = group.id === wanted ? cursor / GROUP_SPAN : 0n;
  const bc = router.primary.get(group.addr)!.get(s.db, req.seed, true, s.proto)!;
  const args = req.args.slice();
  args[1] = Buffer.from(inner.toString());
  bc.call(
    args,
    (r) => {
      if (r[0] === 0x2d) return req.answer(r);
      const parts = splitArrayReply(r);
      if (parts === null || parts.length !== 2 || parts[0]![0] !== 0x24) {
        return req.fail('ERR handle response, bad SCAN reply from ' + group.addr);
      }
      const c = parts[0]!;
      const next = BigInt(c.toString('latin1', c.indexOf(10) + 1, c.length - 2));
      const following = groups[at + 1];
      const out = next !== 0n ? next * GROUP_SPAN + BigInt(group.id) : BigInt(following?.id ?? 0);
      req.answer(scanReply(out, parts[1]!));
    },
    (cause) => req.fail(`ERR handle request, SCAN failed on ${group.addr}: ${cause}`),
  );
}

function scanReply(cursor: bigint, keys: Buffer): Buffer {
  return Buffer.concat([arrayHeader(2), bulk(cursor.toString()), keys]);
}

/** RANDOMKEY: a random group's random key; an empty group passes the question to the next. */
export function randomKey(router: Router, s: BackendSession, req: Request): void {
  const groups = groupsInOrder(router);
  if (groups.length === 0) {
    return req.answer(error('ERR handle request, RANDOMKEY has no backend to run on: no slot is online'));
  }
  const first = Math.floor(Math.random() * groups.length);
  const ask = (tried: number): void => {
    const group = groups[(first + tried) % groups.length]!;
    const bc = router.primary.get(group.addr)!.get(s.db, req.seed, true, s.proto)!;
    bc.call(
      ['RANDOMKEY'],
      (r) => {
        const nil = r[0] === 0x5f || (r[0] === 0x24 && r[1] === 0x2d);
        if (nil && tried + 1 < groups.length) ask(tried + 1);
        else req.answer(r);
      },
      (cause) => req.fail(`ERR handle request, RANDOMKEY failed on ${group.addr}: ${cause}`),
    );
  };
  ask(0);
}
