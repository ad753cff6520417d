/**
 * SLOWLOG through the proxy, over every server that serves its clients (primaries, and the
 * replicas that serve reads), as Redis Cluster's command tips ask (`request_policy:all_nodes`):
 * GET merges the servers' entries, newest first, up to the count asked (10 by default, all for
 * -1); LEN is the sum; RESET clears every server. Entry ids are each server's own.
 */
import { arrayHeader, OK } from '../resp/encode.js';
import { integerReply, splitArrayReply } from '../resp/ReplyScanner.js';
import { connections, fanOut, sumIntegers, type BackendSession } from './EveryBackend.js';
import type { Request } from './Request.js';
import type { Router } from './Router.js';

export function slowlog(router: Router, s: BackendSession, req: Request): void {
  const conns = connections(router, s, req.seed, true);
  switch (req.info.name) {
    case 'SLOWLOG|LEN':
      return fanOut(req, 'SLOWLOG LEN', conns, (replies) => sumIntegers('SLOWLOG LEN', replies));
    case 'SLOWLOG|RESET':
      return fanOut(req, 'SLOWLOG RESET', conns, () => OK);
    default: {
      const arg = req.args[2]?.toString('latin1');
      // A bad count is the servers' to refuse: their first error is passed on.
      const count = arg === undefined ? 10 : Number(arg);
      return fanOut(req, 'SLOWLOG GET', conns, (replies) => newest(replies, count));
    }
  }
}

interface Entry {
  readonly bytes: Buffer;
  readonly time: number;
  readonly id: number;
}

/** The servers' entries in one array, newest first (by start time, then id), `count` of them (-1: all). */
function newest(replies: Buffer[], count: number): Buffer {
  const entries: Entry[] = [];
  for (const r of replies) {
    for (const bytes of splitArrayReply(r) ?? []) {
      // An entry is [id, start time, duration, args, client, name].
      const [id, time] = splitArrayReply(bytes) ?? [];
      entries.push({ bytes, id: intOf(id), time: intOf(time) });
    }
  }
  entries.sort((a, b) => b.time - a.time || b.id - a.id);
  const kept = count < 0 ? entries : entries.slice(0, count);
  return Buffer.concat([arrayHeader(kept.length), ...kept.map((e) => e.bytes)]);
}

function intOf(field: Buffer | undefined): number {
  return field === undefined ? 0 : integerReply(field, 0, field.length);
}
