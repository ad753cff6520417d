/**
 * CLIENT, answered by the proxy for its own clients: their names and ids, CLIENT INFO and LIST,
 * KILL (ClientKill.ts), UNBLOCK (ClientUnblock.ts), REPLY and TRACKING (TrackingCommand.ts).
 * Subcommands that act on a server's connections (PAUSE…) are refused with the reason.
 */
import { bulk, error, integer, nil, OK, verbatim } from '../resp/encode.js';
import { refusalMessage, unknownSubcommand } from './commands/Mapper.js';
import { clientKill, ofType } from './ClientKill.js';
import { clientUnblock } from './ClientUnblock.js';
import { integerArg } from './commands/integerArg.js';
import { isKeyword } from './commands/keyword.js';
import { clientCaching, clientTracking, redirectOf, trackingInfo } from './TrackingCommand.js';
import type { Handler, LocalContext, ReplyMode, SessionState } from './LocalCommands.js';
import type { Request } from './Request.js';
import type { PauseMode } from './ClientPause.js';
import { connections } from './EveryBackend.js';
import { wrongArity } from './routing.js';

const upper = (b: Buffer) => b.toString('latin1').toUpperCase();

const REPLY_MODES: readonly ReplyMode[] = ['on', 'off', 'skip'];

function clientList(ctx: LocalContext, s: SessionState, req: Request): void {
  const args = req.args;
  let match: (c: SessionState) => boolean = () => true;
  if (args.length === 4 && isKeyword(args[2]!, 'TYPE')) {
    const m = ofType(args[3]!.toString('latin1'));
    if (m === null) return req.answer(error(`ERR Unknown client type '${args[3]!.toString()}'`));
    match = m;
  } else if (args.length >= 4 && isKeyword(args[2]!, 'ID')) {
    const ids = new Set<number>();
    for (const a of args.slice(3)) {
      const id = integerArg(a);
      if (Number.isNaN(id)) return req.answer(error('ERR Invalid client ID'));
      ids.add(id);
    }
    match = (c) => ids.has(c.id);
  } else if (args.length !== 2) {
    return req.answer(error('ERR syntax error'));
  }
  // The proxy does not keep each client's last command: only the asker's is known.
  const lines = ctx.info.clients().filter(match);
  const text = lines.map((c) => ctx.info.clientLine(c, c === s ? req : undefined) + '\n');
  req.answer(verbatim(text.join(''), s.proto));
}

export const client: Handler = (ctx, s, req) => {
  const sub = upper(req.args[1]!);
  const n = req.args.length;
  switch (sub) {
    case 'SETNAME': {
      if (n !== 3) return req.answer(error(wrongArity('client|setname')));
      const name = req.args[2]!;
      if (name.some((c) => c <= 0x20 || c > 0x7e)) {
        return req.answer(error('ERR Client names cannot contain spaces, newlines or special characters.'));
      }
      s.name = name.length > 0 ? Buffer.from(name) : null;
      return req.answer(OK);
    }
    case 'GETNAME':
      if (n !== 2) return req.answer(error(wrongArity('client|getname')));
      return req.answer(s.name === null ? nil(s.proto) : bulk(s.name));
    case 'ID':
      if (n !== 2) return req.answer(error(wrongArity('client|id')));
      return req.answer(integer(s.id));
    case 'SETINFO':
      return req.answer(n === 4 ? OK : error(wrongArity('client|setinfo')));
    case 'REPLY': {
      if (n !== 3) return req.answer(error(wrongArity('client|reply')));
      const mode = REPLY_MODES.find((m) => isKeyword(req.args[2]!, m.toUpperCase()));
      if (mode === undefined) return req.answer(error('ERR syntax error'));
      // OFF and SKIP are not answered; ON is, even when it came while replies were off.
      s.replyMode = mode;
      req.silent = mode !== 'on';
      return req.answer(OK);
    }
    case 'INFO':
      if (n !== 2) return req.answer(error(wrongArity('client|info')));
      return req.answer(verbatim(ctx.info.clientLine(s, req) + '\n', s.proto));
    case 'LIST':
      return clientList(ctx, s, req);
    case 'KILL':
      return clientKill(ctx, s, req);
    case 'UNBLOCK':
      if (n !== 3 && n !== 4) return req.answer(error(wrongArity('client|unblock')));
      return clientUnblock(ctx, req);
    // The proxy never evicts a client to free memory (each one's buffers are bounded instead).
    case 'NO-EVICT': {
      if (n !== 3) return req.answer(error(wrongArity('client|no-evict')));
      const v = req.args[2]!;
      return req.answer(isKeyword(v, 'ON') || isKeyword(v, 'OFF') ? OK : error('ERR syntax error'));
    }
    case 'TRACKING':
      return clientTracking(ctx, s, req);
    case 'PAUSE':
      return clientPause(ctx, req);
    case 'UNPAUSE':
      if (n !== 2) return req.answer(error(wrongArity('client|unpause')));
      return setPause(ctx, req, null, 0);
    case 'HELP':
      // Every subcommand it lists is the proxy's too: a server's text is the one to give.
      return helpFromServer(ctx, s, req);
    case 'CACHING':
      return clientCaching(s, req);
    case 'GETREDIR':
      if (n !== 2) return req.answer(error(wrongArity('client|getredir')));
      return req.answer(integer(redirectOf(s.tracking)));
    case 'TRACKINGINFO':
      if (n !== 2) return req.answer(error(wrongArity('client|trackinginfo')));
      return req.answer(trackingInfo(s.tracking, s.proto));
    default: {
      // A subcommand Redis has is refused with the reason; one it does not have, as Redis would.
      const info = req.info; // the subcommand's, when Redis has it (Session names it)
      return req.answer(
        info.name.includes('|') ? error(refusalMessage(info)) : unknownSubcommand('CLIENT', req.args[1]),
      );
    }
  }
};

/** CLIENT PAUSE timeout [WRITE|ALL], checked as Redis checks it. */
function clientPause(ctx: LocalContext, req: Request): void {
  const n = req.args.length;
  if (n < 3) return req.answer(error(wrongArity('client|pause')));
  if (n > 4) {
    const given = req.args[1]!.toString('latin1');
    return req.answer(
      error(`ERR unknown subcommand or wrong number of arguments for '${given}'. Try CLIENT HELP.`),
    );
  }
  const ms = integerArg(req.args[2]!);
  if (Number.isNaN(ms)) return req.answer(error('ERR timeout is not an integer or out of range'));
  if (ms < 0) return req.answer(error('ERR timeout is negative'));
  let mode: PauseMode = 'all';
  if (n === 4) {
    if (isKeyword(req.args[3]!, 'WRITE')) mode = 'write';
    else if (!isKeyword(req.args[3]!, 'ALL'))
      return req.answer(error('ERR CLIENT PAUSE mode must be WRITE or ALL'));
  }
  setPause(ctx, req, mode, ms);
}

/** Every worker pauses (or unpauses: a null mode) before the client is told OK. */
function setPause(ctx: LocalContext, req: Request, mode: PauseMode | null, ms: number): void {
  const what = mode === null ? 'CLIENT UNPAUSE' : 'CLIENT PAUSE';
  void ctx.info.pauseClients(mode, ms).then(
    () => req.answer(OK),
    (e: Error) => req.answer(error(`ERR handle request, ${what}: ${e.message}`)),
  );
}

function helpFromServer(ctx: LocalContext, s: SessionState, req: Request): void {
  const [bc] = connections(ctx.router, s, req.seed, false);
  if (bc === undefined)
    return req.answer(error('ERR handle request, CLIENT HELP has no backend to ask: no slot is online'));
  bc.call(
    ['CLIENT', 'HELP'],
    (r) => req.answer(r),
    (cause) => req.answer(error(`ERR handle request, CLIENT HELP failed on ${bc.addr}: ${cause}`)),
  );
}
