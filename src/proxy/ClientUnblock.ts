/**
 * CLIENT UNBLOCK id [TIMEOUT|ERROR] for this process's clients (the ones CLIENT LIST shows).
 * A client's blocking command or WAIT waits on a backend connection of its own (Blocking.ts,
 * Wait.ts), so the proxy asks that connection's server to unblock it, by the id the connection
 * has there. The command then ends as Redis ends it: with its timeout reply in the client's
 * protocol (WAIT with its count), or `-UNBLOCKED`, and the connection stays for the next one.
 */
import { error, integer } from '../resp/encode.js';
import { integerReply } from '../resp/ReplyScanner.js';
import { integerArg } from './commands/integerArg.js';
import { isKeyword } from './commands/keyword.js';
import type { LocalContext } from './LocalCommands.js';
import type { Request } from './Request.js';

export function clientUnblock(ctx: LocalContext, req: Request): void {
  const args = req.args;
  const reason = args.length === 4 && isKeyword(args[3]!, 'ERROR') ? 'ERROR' : 'TIMEOUT';
  if (args.length === 4 && reason === 'TIMEOUT' && !isKeyword(args[3]!, 'TIMEOUT')) {
    return req.answer(error('ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR'));
  }
  const id = integerArg(args[2]!);
  if (Number.isNaN(id)) return req.answer(error('ERR value is not an integer or out of range'));
  const target = ctx.info.client(id);
  const conns = (target?.waiting?.blockedOn() ?? []).filter((bc) => bc.serverId > 0);
  if (conns.length === 0) return req.answer(integer(0));
  let left = conns.length;
  let unblocked = 0;
  const done = () => {
    if (--left === 0) req.answer(integer(unblocked));
  };
  for (const bc of conns) {
    const server = ctx.router.primary.get(bc.addr)?.get(req.db, req.seed, true, req.proto);
    if (!server) {
      done();
      continue;
    }
    const ask = ['CLIENT', 'UNBLOCK', bc.serverId, reason];
    server.call(
      ask,
      (r) => {
        if (integerReply(r, 0, r.length) === 1) unblocked = 1;
        done();
      },
      done,
    );
  }
}
