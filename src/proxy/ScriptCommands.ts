/**
 * SCRIPT LOAD, EXISTS and FLUSH run on every backend server (each group's primary, and the
 * replicas that serve reads): a script loaded through the proxy can then be called with
 * EVALSHA on whichever group holds the keys. Clients such as redis-py's Script and Lock load
 * their scripts this way after a NOSCRIPT. Each goes on the connection the session's own
 * commands use, so an EVALSHA pipelined after a SCRIPT LOAD reaches every server after it.
 */
import { array, error, integer, OK, type Proto } from '../resp/encode.js';
import { integerReply, splitArrayReply } from '../resp/ReplyScanner.js';
import type { BackendConn } from './BackendConn.js';
import { checkArity, lookupSub } from './commands/Mapper.js';
import type { Request } from './Request.js';
import type { Router } from './Router.js';

/** The parts of a session a SCRIPT command needs. */
export interface ScriptSession {
  readonly db: number;
  readonly proto: Proto;
}

const SUPPORTED = 'only SCRIPT LOAD, EXISTS and FLUSH are supported: they run on every backend';

export function script(router: Router, s: ScriptSession, req: Request): void {
  const args = req.args;
  const sub = lookupSub(req.info, args[1]!);
  if (sub === undefined) {
    req.answer(error(`ERR unknown subcommand '${args[1]!.toString()}'. Try SCRIPT HELP.`));
    return;
  }
  const name = sub.name.slice('SCRIPT|'.length);
  if (name !== 'LOAD' && name !== 'EXISTS' && name !== 'FLUSH') {
    req.answer(error(`ERR handle request, command 'SCRIPT ${name}' is not allowed (${SUPPORTED})`));
    return;
  }
  if (!checkArity(sub, args.length)) {
    req.answer(error(`ERR wrong number of arguments for '${sub.name.toLowerCase()}' command`));
    return;
  }
  const conns = everyBackend(router, s, req.seed);
  if (conns.length === 0) {
    req.answer(error(`ERR handle request, SCRIPT ${name} has no backend to run on: no slot is online`));
    return;
  }
  const replies = new Array<Buffer>(conns.length);
  let left = conns.length;
  let failure: string | null = null;
  const finish = () => {
    if (--left > 0) return;
    if (failure !== null) req.answer(error(failure));
    else req.answer(merge(name, replies));
  };
  conns.forEach((bc, i) =>
    bc.call(
      args,
      (r) => {
        replies[i] = r;
        finish();
      },
      (cause) => {
        failure ??= `ERR handle request, SCRIPT ${name} failed on ${bc.addr}: ${cause}`;
        finish();
      },
    ),
  );
}

/** One connection per backend server, primaries first; the session's database and protocol. */
function everyBackend(router: Router, s: ScriptSession, seed: number): BackendConn[] {
  const out: BackendConn[] = [];
  for (const pool of [router.primary, router.replica]) {
    for (const addr of pool.addrs()) out.push(pool.get(addr)!.get(s.db, seed, true, s.proto)!);
  }
  return out;
}

/**
 * The client's reply from every server's: the first error as Redis wrote it (a script that does
 * not compile fails the same way everywhere); otherwise LOAD's SHA1 (the same everywhere),
 * EXISTS's 1 only where every server has the script, FLUSH's OK.
 */
function merge(name: string, replies: Buffer[]): Buffer {
  const err = replies.find((r) => r[0] === 0x2d);
  if (err !== undefined) return err;
  if (name === 'LOAD') return replies[0]!;
  if (name === 'FLUSH') return OK;
  let all: number[] | null = null;
  for (const r of replies) {
    const items = splitArrayReply(r);
    if (items === null) return error('ERR handle response, bad SCRIPT EXISTS reply');
    const flags = items.map((x) => integerReply(x, 0, x.length));
    all = all === null ? flags : all.map((v, i) => (v === 1 && flags[i] === 1 ? 1 : 0));
  }
  return array(all!.map((v) => integer(v)));
}
