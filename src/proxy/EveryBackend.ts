/**
 * Commands that run on every backend server, their replies merged into one.
 * - SCRIPT LOAD, EXISTS and FLUSH go to each group's primary and to the replicas that serve
 *   reads: a script loaded through the proxy can then be called with EVALSHA on whichever group
 *   holds the keys. Clients such as redis-py's Script and Lock load their scripts this way after
 *   a NOSCRIPT.
 * - FUNCTION LOAD, DELETE, FLUSH and RESTORE go to each group's primary, for the same reason.
 * - DBSIZE is the sum over the primaries. A key lives on one group, even while its slot migrates
 *   (MIGRATE moves it atomically), except a big key the dashboard copies in chunks: its copy on
 *   the target counts too until the move ends.
 * - INFO's Keyspace section sums the primaries' `INFO keyspace` the same way (KeyspaceInfo).
 * - KEYS and PUBSUB SHARDCHANNELS are every primary's answer in one array, PUBSUB SHARDNUMSUB
 *   the sum of their counts; FLUSHDB and FLUSHALL empty every primary, SWAPDB swaps on each
 *   (the replicas follow). Like a split MSET, these are not atomic: if one server fails, the
 *   client gets an error naming it, and the others have done it.
 * Each goes on the connection the session's own commands use, so a command pipelined after
 * (an EVALSHA behind a SCRIPT LOAD) reaches every server after it.
 */
import { array, arrayHeader, error, integer, OK, type Proto } from '../resp/encode.js';
import { integerReply, splitArrayReply } from '../resp/ReplyScanner.js';
import type { BackendConn } from './BackendConn.js';
import type { InfoFields } from './InfoText.js';
import { mergeKeyspace, sumServerStats, type KeyspaceAnswer } from './KeyspaceInfo.js';
import type { Request } from './Request.js';
import type { Router } from './Router.js';

/** The parts of a session these commands need. */
export interface BackendSession {
  readonly db: number;
  readonly proto: Proto;
}

/**
 * SCRIPT LOAD, EXISTS or FLUSH (the session picked the subcommand and checked its arguments;
 * the other subcommands are refused there).
 */
export function script(router: Router, s: BackendSession, req: Request): void {
  const name = req.info.name.slice('SCRIPT|'.length);
  fanOut(req, `SCRIPT ${name}`, connections(router, s, req.seed, true), (replies) =>
    name === 'LOAD' ? replies[0]! : name === 'FLUSH' ? OK : allHave(replies),
  );
}

/**
 * FUNCTION LOAD, DELETE, FLUSH or RESTORE on every primary (the replicas follow, as Redis
 * propagates them): FCALL then finds the library on whichever group holds its keys.
 */
export function functions(router: Router, s: BackendSession, req: Request): void {
  const name = req.info.name.slice('FUNCTION|'.length);
  fanOut(req, `FUNCTION ${name}`, connections(router, s, req.seed, false), (replies) =>
    name === 'LOAD' ? replies[0]! : OK,
  );
}

export function dbsize(router: Router, s: BackendSession, req: Request): void {
  fanOut(req, 'DBSIZE', connections(router, s, req.seed, false), (replies) => sumIntegers('DBSIZE', replies));
}

/** The servers' integer replies, added up. */
export function sumIntegers(what: string, replies: Buffer[]): Buffer {
  let sum = 0;
  for (const r of replies) sum += integerReply(r, 0, r.length);
  return Number.isNaN(sum) ? error(`ERR handle response, bad ${what} reply`) : integer(sum);
}

/** FLUSHDB or FLUSHALL, with its ASYNC/SYNC option, on every primary. */
export function flush(router: Router, s: BackendSession, req: Request): void {
  fanOut(req, req.info.name, connections(router, s, req.seed, false), () => OK);
}

/**
 * SWAPDB on every primary. Not at once over the groups, as a flush is not: for a moment some
 * groups have swapped and others not. Refused while a slot migrates: a key MIGRATEd meanwhile
 * could land in the other database on a target that swapped before its source.
 */
export function swapdb(router: Router, s: BackendSession, req: Request): void {
  const moving = router.slots.find((slot) => slot.migrate !== null);
  if (moving !== undefined) {
    req.fail(`ERR handle request, SWAPDB while slot ${moving.id} is moving to another group; retry`);
    return;
  }
  fanOut(req, 'SWAPDB', connections(router, s, req.seed, false), () => OK);
}

/** KEYS pattern: the keys of every primary, in one array (the servers' arrays joined). */
export function keys(router: Router, s: BackendSession, req: Request): void {
  fanOut(req, 'KEYS', connections(router, s, req.seed, false), (replies) => joinArrays('KEYS', replies));
}

/**
 * PUBSUB SHARDCHANNELS [pattern]: every primary's, joined (a sharded channel lives on the
 * primary of its slot only); PUBSUB SHARDNUMSUB: each channel's count summed over them.
 */
export function shardPubsub(router: Router, s: BackendSession, req: Request): void {
  const conns = connections(router, s, req.seed, false);
  if (req.info.name === 'PUBSUB|SHARDCHANNELS') {
    fanOut(req, 'PUBSUB SHARDCHANNELS', conns, (replies) => joinArrays('PUBSUB SHARDCHANNELS', replies));
    return;
  }
  fanOut(req, 'PUBSUB SHARDNUMSUB', conns, (replies) => {
    const lists = replies.map(splitArrayReply);
    const first = lists[0];
    if (lists.some((l) => l === null || l.length !== first!.length)) {
      return error('ERR handle response, bad PUBSUB SHARDNUMSUB reply');
    }
    // name, count, name, count…: the names are the same everywhere, the counts add up.
    const out = first!.slice();
    for (let i = 1; i < out.length; i += 2) {
      let sum = 0;
      for (const l of lists) sum += integerReply(l![i]!, 0, l![i]!.length);
      if (Number.isNaN(sum)) return error('ERR handle response, bad PUBSUB SHARDNUMSUB reply');
      out[i] = integer(sum);
    }
    return Buffer.concat([arrayHeader(out.length), ...out]);
  });
}

/** The servers' arrays as one. */
function joinArrays(what: string, replies: Buffer[]): Buffer {
  let n = 0;
  const bodies: Buffer[] = [];
  for (const r of replies) {
    const nl = r.indexOf(10);
    const count = r[0] === 0x2a ? Number(r.toString('latin1', 1, nl - 1)) : NaN;
    if (!(count >= 0)) return error(`ERR handle response, bad ${what} reply`);
    n += count;
    bodies.push(r.subarray(nl + 1));
  }
  return Buffer.concat([arrayHeader(n), ...bodies]);
}

/**
 * How long INFO waits for the primaries' key counts. Monitoring polls INFO and reads the
 * proxy's own fields too, so a hung server costs it this much and is named, not a timeout.
 */
const KEYSPACE_WAIT_MS = 1000;

/** What INFO reads of the servers: the Keyspace section, and key hits and expiries for Stats. */
export interface ServersInfo {
  keyspace: InfoFields;
  stats: InfoFields;
}

/**
 * INFO's Keyspace section, from the primaries, and with `stats` the key counters of Stats,
 * from the replicas that serve reads too (their hits are reads the proxy sent there). A server
 * that fails or does not answer in time is left out of the sums; a primary is also named in the
 * Keyspace section.
 */
export function serversInfo(
  router: Router,
  s: BackendSession,
  seed: number,
  stats: boolean,
): Promise<ServersInfo> {
  const primaries = router.primary.addrs().length;
  const conns = connections(router, s, seed, stats);
  const answers = conns.map((bc): KeyspaceAnswer => ({ addr: bc.addr, text: null }));
  return new Promise((resolve) => {
    let left = conns.length;
    const finish = () => {
      clearTimeout(timer);
      const keyspace = mergeKeyspace(answers.slice(0, primaries));
      resolve({ keyspace, stats: stats ? sumServerStats(answers) : {} });
    };
    const timer = setTimeout(finish, KEYSPACE_WAIT_MS);
    if (left === 0) return finish();
    conns.forEach((bc, i) =>
      bc.call(
        i < primaries ? ['INFO', 'keyspace', 'stats'] : ['INFO', 'stats'],
        (r) => {
          answers[i] = { addr: bc.addr, text: bulkText(r) };
          if (--left === 0) finish();
        },
        () => {
          if (--left === 0) finish();
        },
      ),
    );
  });
}

/** The text of a bulk (RESP2) or verbatim (RESP3, `txt:`) string reply; null for anything else. */
function bulkText(r: Buffer): string | null {
  if (r[0] !== 0x24 && r[0] !== 0x3d) return null;
  const start = r.indexOf(10) + 1 + (r[0] === 0x3d ? 4 : 0);
  return r.toString('utf8', start, r.length - 2);
}

/** One connection per backend server (primaries, then replicas if asked), in the session's database and protocol. */
/** A connection to every primary, and with `replicas` to every replica that serves reads. */
export function connections(
  router: Router,
  s: BackendSession,
  seed: number,
  replicas: boolean,
): BackendConn[] {
  const out: BackendConn[] = [];
  for (const pool of replicas ? [router.primary, router.replica] : [router.primary]) {
    for (const addr of pool.addrs()) out.push(pool.get(addr)!.get(s.db, seed, true, s.proto)!);
  }
  return out;
}

/**
 * Sends the request's command to every connection and answers it once all replied: with the
 * first error reply as Redis wrote it (a script that does not compile fails the same way
 * everywhere), with a failure naming the server that could not be reached, or with `merge`.
 */
export function fanOut(
  req: Request,
  what: string,
  conns: BackendConn[],
  merge: (replies: Buffer[]) => Buffer,
): void {
  if (conns.length === 0) {
    req.answer(error(`ERR handle request, ${what} has no backend to run on: no slot is online`));
    return;
  }
  const replies = new Array<Buffer>(conns.length);
  let left = conns.length;
  let failure: string | null = null;
  const finish = () => {
    if (--left > 0) return;
    if (failure !== null) {
      req.answer(error(failure));
      return;
    }
    req.answer(replies.find((r) => r[0] === 0x2d) ?? merge(replies));
  };
  conns.forEach((bc, i) =>
    bc.call(
      req.args,
      (r) => {
        replies[i] = r;
        finish();
      },
      (cause) => {
        failure ??= `ERR handle request, ${what} failed on ${bc.addr}: ${cause}`;
        finish();
      },
    ),
  );
}

/** SCRIPT EXISTS: 1 only where every server has the script. */
function allHave(replies: Buffer[]): Buffer {
  let all: number[] | null = null;
  for (const r of replies) {
    const items = splitArrayReply(r);
    if (items === null) return error('ERR handle response, bad SCRIPT EXISTS reply');
    const flags = items.map((x) => integerReply(x, 0, x.length));
    all = all === null ? flags : all.map((v, i) => (v === 1 && flags[i] === 1 ? 1 : 0));
  }
  return array(all!.map((v) => integer(v)));
}
