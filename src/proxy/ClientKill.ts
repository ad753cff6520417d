/**
 * CLIENT KILL for this process's clients (the ones CLIENT LIST shows), in both of Redis's forms:
 * `CLIENT KILL addr:port` (+OK, or an error when no client has that address) and the filter
 * form `CLIENT KILL [ID id] [TYPE type] [USER user] [ADDR addr:port] [SKIPME yes|no]` (the
 * number killed). As in Redis, a client that kills itself gets the reply, then is closed.
 */
import { error, integer, OK } from '../resp/encode.js';
import { integerArg } from './commands/integerArg.js';
import { wrongArity } from './routing.js';
import type { LocalContext, SessionState } from './LocalCommands.js';
import type { Request } from './Request.js';

type Match = (c: SessionState) => boolean;

const TYPES = new Set(['normal', 'master', 'replica', 'slave', 'pubsub']);

/**
 * The clients of a CLIENT LIST / KILL `TYPE`, or null for a type Redis does not have. A proxy's
 * clients are normal ones or in pub/sub mode; none is a replica or a master.
 */
export function ofType(type: string): Match | null {
  const t = type.toLowerCase();
  if (!TYPES.has(t)) return null;
  return (c) => (t === 'pubsub' ? c.subscribed : t === 'normal' && !c.subscribed);
}

export function clientKill(ctx: LocalContext, s: SessionState, req: Request): void {
  const args = req.args.map((a) => a.toString('latin1'));
  if (args.length < 3) return req.answer(error(wrongArity('client|kill')));
  if (args.length === 3) {
    const victims = ctx.info.clients().filter((c) => c.remote === args[2]);
    if (victims.length === 0) return req.answer(error('ERR No such client'));
    kill(s, victims);
    return req.answer(OK);
  }
  if (args.length % 2 === 1) return req.answer(error('ERR syntax error'));
  const matches: Match[] = [];
  let skipMe = true;
  for (let i = 2; i < args.length; i += 2) {
    const [opt, v] = [args[i]!.toUpperCase(), args[i + 1]!];
    switch (opt) {
      case 'ID': {
        const id = integerArg(v);
        if (!(id > 0)) return req.answer(error('ERR client-id should be greater than 0'));
        matches.push((c) => c.id === id);
        break;
      }
      case 'TYPE': {
        const m = ofType(v);
        if (m === null) return req.answer(error(`ERR Unknown client type '${v}'`));
        matches.push(m);
        break;
      }
      case 'USER':
        if (v !== 'default') return req.answer(error(`ERR No such user '${v}'`));
        break;
      case 'ADDR':
        matches.push((c) => c.remote === v);
        break;
      case 'SKIPME': {
        const yes = v.toLowerCase();
        if (yes !== 'yes' && yes !== 'no') return req.answer(error('ERR syntax error'));
        skipMe = yes === 'yes';
        break;
      }
      default:
        return req.answer(error('ERR syntax error'));
    }
  }
  const victims = ctx.info.clients().filter((c) => (!skipMe || c !== s) && matches.every((m) => m(c)));
  kill(s, victims);
  req.answer(integer(victims.length));
}

function kill(self: SessionState, victims: readonly SessionState[]): void {
  for (const c of victims) {
    // The asker still gets its reply: it leaves once the replies before it are out.
    if (c === self) c.quit = true;
    else c.close();
  }
}
