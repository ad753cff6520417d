/**
 * Codis's slot commands, answered by the proxy: SLOTSMAPPING from the routing table, and
 * SLOTSSCAN and SLOTSINFO emulated with SCAN on stock Redis (it has no per-slot index).
 */
import { arrayHeader, error, integer, nilArray, simple, type Proto } from '../resp/encode.js';
import { splitArrayReply } from '../resp/ReplyScanner.js';
import { MAX_SLOT_NUM, slotOfRange } from './hash.js';
import type { Handler } from './LocalCommands.js';
import type { Request } from './Request.js';
import type { Router } from './Router.js';
import { wrongArity } from './routing.js';

function parseSlot(req: Request, arg: Buffer): number | null {
  const s = arg.toString('latin1');
  const n = /^-?\d+$/.test(s) ? Number(s) : NaN;
  if (Number.isNaN(n)) {
    req.answer(error(`ERR parse slotnum '${s}' failed, invalid syntax`));
    return null;
  }
  if (n < 0 || n >= MAX_SLOT_NUM) {
    req.answer(error(`ERR parse slotnum '${s}' failed, out of range`));
    return null;
  }
  return n;
}

function slotMapping(router: Router, id: number, proto: Proto): Buffer {
  const slot = router.slots[id]!;
  if (slot.backend === null) return nilArray(proto);
  const groups = slot.replicaGroups.map((g) =>
    Buffer.concat([arrayHeader(g.length), ...g.map((c) => simple(c.addr))]),
  );
  return Buffer.concat([
    arrayHeader(4),
    integer(id),
    simple(slot.backend.addr),
    simple(slot.migrate?.addr ?? ''),
    arrayHeader(groups.length),
    ...groups,
  ]);
}

export const slotsmapping: Handler = (ctx, s, req) => {
  if (req.args.length > 2) return req.answer(error(wrongArity('slotsmapping')));
  if (req.args.length === 2) {
    const id = parseSlot(req, req.args[1]!);
    if (id !== null) req.answer(slotMapping(ctx.router, id, s.proto));
    return;
  }
  const all: Buffer[] = [arrayHeader(MAX_SLOT_NUM)];
  for (let i = 0; i < MAX_SLOT_NUM; i++) all.push(slotMapping(ctx.router, i, s.proto));
  req.answer(Buffer.concat(all));
};

/**
 * SLOTSSCAN slot cursor [COUNT n]: one SCAN step on the slot's primary, keeping the keys of
 * that slot (stock Redis keeps no per-slot index, so a page may come back empty with a
 * non-zero cursor, as SCAN pages may).
 */
export const slotsscan: Handler = (ctx, s, req) => {
  const id = parseSlot(req, req.args[1]!);
  if (id === null) return;
  const slot = ctx.router.slots[id]!;
  if (slot.backend === null)
    return req.answer(error('ERR handle request, slot is not ready, may be offline'));
  const scanArgs: (Buffer | string)[] = ['SCAN', req.args[2]!, ...req.args.slice(3)];
  slot.backend.get(s.db, req.seed, true)!.call(
    scanArgs,
    (r) => {
      const parts = splitArrayReply(r);
      const keys = parts && parts.length === 2 ? splitArrayReply(parts[1]!) : null;
      if (keys === null) return req.answer(r[0] === 0x2d ? r : error('ERR handle response, bad scan resp'));
      const mine = keys.filter((k) => slotOfRange(k, bulkStart(k), k.length - 2) === id);
      req.answer(Buffer.concat([arrayHeader(2), parts![0]!, arrayHeader(mine.length), ...mine]));
    },
    (cause) => req.fail('ERR handle response, ' + cause),
  );
};

/** Offset of a bulk reply's body (after `$len\r\n`). */
function bulkStart(b: Buffer): number {
  return b.indexOf(10) + 1;
}

/** SLOTSINFO addr: key counts per slot on one backend (a full SCAN of the session's db). */
export const slotsinfo: Handler = (ctx, s, req) => {
  if (req.args.length !== 2) return req.answer(error(wrongArity('slotsinfo')));
  const addr = req.args[1]!.toString('latin1');
  const sbc = ctx.router.primary.get(addr) ?? ctx.router.replica.get(addr);
  if (sbc === undefined) return req.answer(error(`ERR backend server '${addr}' not found`));
  const bc = sbc.get(s.db, req.seed, true)!;
  const counts = new Map<number, number>();
  const step = (cursor: string) =>
    bc.call(
      ['SCAN', cursor, 'COUNT', 1000],
      (r) => {
        const parts = splitArrayReply(r);
        const keys = parts && parts.length === 2 ? splitArrayReply(parts[1]!) : null;
        if (keys === null) return req.answer(r[0] === 0x2d ? r : error('ERR handle response, bad scan resp'));
        for (const k of keys) {
          const id = slotOfRange(k, bulkStart(k), k.length - 2);
          counts.set(id, (counts.get(id) ?? 0) + 1);
        }
        const c = parts![0]!;
        const next = c.toString('latin1', bulkStart(c), c.length - 2);
        if (next !== '0') return step(next);
        const ids = [...counts.keys()].sort((a, b) => a - b);
        const rows = ids.map((id) => Buffer.concat([arrayHeader(2), integer(id), integer(counts.get(id)!)]));
        req.answer(Buffer.concat([arrayHeader(rows.length), ...rows]));
      },
      (cause) => req.fail('ERR handle response, ' + cause),
    );
  step('0');
};
