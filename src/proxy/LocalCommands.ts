/**
 * Commands the proxy answers itself: connection state (AUTH, SELECT, HELLO, CLIENT, QUIT),
 * PING/ECHO, INFO about the proxy (and the product's key counts), COMMAND from our table, SCRIPT,
 * DBSIZE, KEYS and FLUSH* run on every backend (EveryBackend), SCAN and RANDOMKEY group by
 * group (KeyspaceScan), and the Codis slot commands (SlotCommands).
 */
import {
  array,
  bulk,
  EMPTY_ARRAY,
  error,
  integer,
  mapHeader,
  OK,
  PONG,
  simple,
  verbatim,
  type Proto,
} from '../resp/encode.js';
import { commandReply } from './commands/CommandReplies.js';
import type { CommandInfo } from './commands/CommandInfo.js';
import { integerArg } from './commands/integerArg.js';
import { refusalMessage } from './commands/Mapper.js';
import { client } from './ClientCommand.js';
import { slowlog } from './SlowLog.js';
import { killScript } from './ScriptKill.js';
import { config } from './ConfigCommand.js';
import { latency } from './LatencyCommand.js';
import type { Monitors } from './Monitor.js';
import {
  dbsize,
  flush,
  swapdb,
  functions,
  keys,
  script,
  serversInfo,
  shardPubsub,
  type ServersInfo,
} from './EveryBackend.js';
import { randomKey, scan } from './KeyspaceScan.js';
import { slotsinfo, slotsmapping, slotsscan } from './SlotCommands.js';
import { wantsSection } from './InfoText.js';
import { wrongArity } from './routing.js';
import type { Request } from './Request.js';
import type { Router } from './Router.js';
import type { ProxyInfo } from './ProxyInfo.js';
import { unwatch, type Transaction } from './Transaction.js';
import type { Watch } from './Watch.js';
import type { Waiting } from './Waiting.js';
import type { Subscriptions, SubscriptionKind } from './PubSub.js';
import type { ClientTracking } from './ClientTracking.js';
import type { Invalidations } from './Invalidations.js';
import type { PauseGate } from './ClientPause.js';

export type ReplyMode = 'on' | 'off' | 'skip';

/** The parts of a session that local commands read and change. */
export interface SessionState {
  readonly id: number;
  db: number;
  authorized: boolean;
  name: Buffer | null;
  /** RESP2 until HELLO 3. */
  proto: Proto;
  /** CLIENT REPLY: `skip` silences the next command only. */
  replyMode: ReplyMode;
  quit: boolean;
  /** Open since MULTI (Transaction.ts); RESET discards it. */
  tx: Transaction | null;
  /** Its watched keys (Watch.ts); RESET forgets them. */
  watch: Watch | null;
  /** The client's subscriptions (PubSub.ts), made on first use. */
  subscriptions(): Subscriptions;
  /** Subscribed to anything: in RESP2 only pub/sub commands, PING, QUIT and RESET may follow. */
  readonly subscribed: boolean;
  readonly remote: string;
  /** Date.now() when it connected. */
  readonly since: number;
  /** ms since it last sent anything, at performance.now() `now`. */
  idleFor(now: number): number;
  /** Closes the client's connection at once (CLIENT KILL from another client). */
  close(): void;
  /** Sends the client a frame in turn with its replies (a message, a MONITOR line). */
  deliver(frame: Buffer): void;
  /** Runs a WAIT on every group once the commands before it are answered (Wait.ts). */
  waitReplicas(req: Request): void;
  /** Its blocking commands and WAITs, once it sent one (INFO's blocked_clients, CLIENT UNBLOCK). */
  readonly waiting: Waiting | null;
  /** CLIENT TRACKING, while on (ClientTracking.ts). */
  tracking: ClientTracking | null;
  /** Its connection is gone. */
  readonly closed: boolean;
  /** The command it sent last (CLIENT LIST's cmd). */
  readonly lastInfo: CommandInfo | null;
  /** Its connection's descriptor and buffers, for CLIENT LIST. */
  io(): ClientIo;
}

export interface ClientIo {
  readonly fd: number;
  /** Bytes of a request not yet whole. */
  readonly queryBytes: number;
  /** Reply bytes the kernel has not taken yet. */
  readonly unsent: number;
}

export interface LocalContext {
  readonly router: Router;
  /** The clients that sent MONITOR. */
  readonly monitors: Monitors;
  /** CLIENT PAUSE's hold on the clients' commands. */
  readonly pause: PauseGate;
  readonly info: ProxyInfo;
  /** What the servers report of changed keys, for the clients that track them. */
  readonly invalidations: Invalidations;
  readonly sessionAuth: string;
  readonly numDatabases: number;
}

const RESET = simple('RESET');

export type Handler = (ctx: LocalContext, s: SessionState, req: Request) => void;

const lower = (b: Buffer) => b.toString('latin1').toLowerCase();
const upper = (b: Buffer) => b.toString('latin1').toUpperCase();

/** AUTH pw | AUTH default pw. Checked before the authorization gate. */
export function auth(ctx: LocalContext, s: SessionState, args: readonly Buffer[]): Buffer {
  if (args.length !== 2 && args.length !== 3) return error(wrongArity('auth'));
  if (ctx.sessionAuth === '') {
    // As Redis's passwordless default user: any password works for it by name, and no other
    // user exists.
    if (args.length === 3) {
      return args[1]!.toString() === 'default'
        ? OK
        : error('WRONGPASS invalid username-password pair or user is disabled.');
    }
    return error(
      'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
    );
  }
  const user = args.length === 3 ? args[1]!.toString() : 'default';
  const pass = args[args.length - 1]!;
  if (user !== 'default' || !pass.equals(Buffer.from(ctx.sessionAuth))) {
    s.authorized = false;
    return error('WRONGPASS invalid username-password pair or user is disabled.');
  }
  s.authorized = true;
  return OK;
}

const select: Handler = (ctx, s, req) => {
  const db = integerArg(req.args[1]!);
  if (Number.isNaN(db)) return req.answer(error('ERR value is not an integer or out of range'));
  if (db < 0 || db >= ctx.numDatabases) {
    return req.answer(error('ERR DB index is out of range'));
  }
  s.db = db;
  req.answer(OK);
};

const ping: Handler = (_ctx, s, req) => {
  if (req.args.length > 2) return req.answer(error(wrongArity('ping')));
  // A subscribed RESP2 client gets PING's answer in the shape of a message, as from Redis.
  if (s.subscribed && s.proto === 2) return req.answer(array([bulk('pong'), bulk(req.args[1] ?? '')]));
  req.answer(req.args.length === 2 ? bulk(req.args[1]!) : PONG);
};

// Confirmations come even under CLIENT REPLY OFF: Redis sends them as it sends messages.
const subscribe =
  (kind: SubscriptionKind): Handler =>
  (_ctx, s, req) => {
    req.silent = false;
    s.subscriptions().subscribe(kind, req.args.slice(1), (reply) => req.answer(reply));
  };

const unsubscribe =
  (kind: SubscriptionKind): Handler =>
  (_ctx, s, req) => {
    req.silent = false;
    s.subscriptions().unsubscribe(kind, req.args.slice(1), (reply) => req.answer(reply));
  };

const echo: Handler = (_ctx, _s, req) => req.answer(bulk(req.args[1]!));

/**
 * RESET: back to a fresh connection's state (db 0, no name, RESP2, no tracking, authenticated
 * only without session_auth).
 */
const reset: Handler = (ctx, s, req) => {
  s.db = 0;
  s.name = null;
  s.proto = 2;
  s.tx = null;
  unwatch(s);
  ctx.monitors.delete(s);
  if (s.subscribed) s.subscriptions().close();
  s.tracking?.stop();
  s.tracking = null;
  s.authorized = ctx.sessionAuth === '';
  s.replyMode = 'on';
  req.silent = false;
  req.answer(RESET);
};

/** MONITOR: the client gets every command this process receives from now on (Monitor.ts). */
const monitor: Handler = (ctx, s, req) => {
  req.answer(OK);
  ctx.monitors.add(s);
};

const quit: Handler = (_ctx, s, req) => {
  s.quit = true;
  req.answer(OK);
};

const info: Handler = (ctx, s, req) => {
  const sections = req.args.slice(1).map(lower);
  const [keyspace, stats] = [wantsSection(sections, 'keyspace'), wantsSection(sections, 'stats')];
  if (!keyspace && !stats) return infoWith(ctx, s, req, sections, { keyspace: {}, stats: {} });
  serversInfo(ctx.router, s, req.seed, stats).then((servers) => infoWith(ctx, s, req, sections, servers));
};

function infoWith(
  ctx: LocalContext,
  s: SessionState,
  req: Request,
  sections: string[],
  servers: ServersInfo,
): void {
  const text = ctx.info.infoText({ sections, session: s, servers });
  if (typeof text === 'string') {
    req.answer(verbatim(text, s.proto));
    return;
  }
  text.then(
    (t) => req.answer(verbatim(t, s.proto)),
    (e: Error) => req.fail(`ERR cannot read the other proxy workers' counters: ${e.message}`),
  );
}

/** In the protocol just chosen, as Redis answers: a map in RESP3, a flat array in RESP2. */
function helloReply(ctx: LocalContext, s: SessionState): Buffer {
  const fields: Buffer[] = [
    bulk('server'),
    bulk('redis'),
    bulk('version'),
    bulk(ctx.info.redisVersion),
    bulk('proto'),
    integer(s.proto),
    bulk('id'),
    integer(s.id),
    bulk('mode'),
    bulk('standalone'),
    bulk('role'),
    bulk('master'),
    bulk('modules'),
    EMPTY_ARRAY,
  ];
  return Buffer.concat([mapHeader(fields.length / 2, s.proto), ...fields]);
}

const hello: Handler = (ctx, s, req) => {
  const args = req.args;
  let i = 1;
  let proto = s.proto;
  if (args.length > 1) {
    const v = args[1]!.toString('latin1');
    if (!/^\d+$/.test(v)) return req.answer(error('ERR Protocol version is not an integer or out of range'));
    if (v !== '2' && v !== '3') return req.answer(error('NOPROTO unsupported protocol version'));
    proto = v === '3' ? 3 : 2;
    i = 2;
  }
  let name: Buffer | undefined;
  for (; i < args.length; i++) {
    const opt = upper(args[i]!);
    if (opt === 'AUTH' && i + 2 < args.length) {
      const r = auth(ctx, s, [args[i]!, args[i + 1]!, args[i + 2]!]);
      if (r !== OK) return req.answer(r);
      i += 2;
    } else if (opt === 'SETNAME' && i + 1 < args.length) {
      name = args[++i]!;
    } else {
      return req.answer(error(`ERR Syntax error in HELLO option '${args[i]!.toString()}'`));
    }
  }
  if (ctx.sessionAuth !== '' && !s.authorized) {
    return req.answer(
      error(
        'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time',
      ),
    );
  }
  if (name !== undefined) s.name = name.length > 0 ? Buffer.from(name) : null;
  // Requests after this one go to backend connections of the new protocol.
  s.proto = proto;
  req.answer(helloReply(ctx, s));
};

/** CLIENT LIST [TYPE normal|…] [ID id …]: this process's clients, one line each, as Redis lists them. */
const command: Handler = (_ctx, s, req) => req.answer(commandReply(req.args, s.proto));

/** A command run on the backends (EveryBackend, KeyspaceScan, SlowLog): it needs the router only. */
type BackendCommand = (router: Router, s: SessionState, req: Request) => void;

/** The handlers of `names`, each running `run` (which tells them apart by the request's name). */
function onBackends(run: BackendCommand, ...names: string[]): [string, Handler][] {
  return names.map((name) => [name, (ctx, s, req) => run(ctx.router, s, req)]);
}

/** As onBackends, for commands that also act on the proxy's own state (its counters). */
function onProxy(
  run: (router: Router, info: ProxyInfo, s: SessionState, req: Request) => void,
  ...names: string[]
): [string, Handler][] {
  return names.map((name) => [name, (ctx, s, req) => run(ctx.router, ctx.info, s, req)]);
}

export const LOCAL_HANDLERS: ReadonlyMap<string, Handler> = new Map<string, Handler>([
  ['SELECT', select],
  ['PING', ping],
  ['ECHO', echo],
  ['QUIT', quit],
  ['RESET', reset],
  ['MONITOR', monitor],
  ['INFO', info],
  ['HELLO', hello],
  ['CLIENT', client],
  ['COMMAND', command],
  ['WAIT', (_ctx, s, req) => s.waitReplicas(req)],
  ...onBackends(script, 'SCRIPT|LOAD', 'SCRIPT|EXISTS', 'SCRIPT|FLUSH'),
  ...onBackends(functions, 'FUNCTION|LOAD', 'FUNCTION|DELETE', 'FUNCTION|FLUSH', 'FUNCTION|RESTORE'),
  ...onBackends(killScript, 'SCRIPT|KILL', 'FUNCTION|KILL'),
  ...onBackends(dbsize, 'DBSIZE'),
  ...onBackends(keys, 'KEYS'),
  ...onBackends(flush, 'FLUSHDB', 'FLUSHALL'),
  ...onBackends(swapdb, 'SWAPDB'),
  ...onBackends(scan, 'SCAN'),
  ...onBackends(randomKey, 'RANDOMKEY'),
  ['SLOTSMAPPING', slotsmapping],
  ['SLOTSSCAN', slotsscan],
  ['SLOTSINFO', slotsinfo],
  ['SUBSCRIBE', subscribe('channel')],
  ['PSUBSCRIBE', subscribe('pattern')],
  ['UNSUBSCRIBE', unsubscribe('channel')],
  ['PUNSUBSCRIBE', unsubscribe('pattern')],
  ['SSUBSCRIBE', subscribe('shard')],
  ['SUNSUBSCRIBE', unsubscribe('shard')],
  ...onBackends(slowlog, 'SLOWLOG|GET', 'SLOWLOG|LEN', 'SLOWLOG|RESET'),
  ...onProxy(config, 'CONFIG|SET', 'CONFIG|RESETSTAT', 'CONFIG|REWRITE'),
  ...onProxy(latency, 'LATENCY|HISTOGRAM', 'LATENCY|LATEST', 'LATENCY|HISTORY', 'LATENCY|RESET'),
  ...onBackends(shardPubsub, 'PUBSUB|SHARDCHANNELS', 'PUBSUB|SHARDNUMSUB'),
]);

/** The handler of a command the proxy answers itself; one without a handler is refused. */
export function localHandler(info: CommandInfo): Handler {
  return (
    LOCAL_HANDLERS.get(info.name) ??
    ((_ctx, _s, req) => req.fail(refusalMessage(info, 'not implemented by the proxy')))
  );
}
