/**
 * One client in Redis's CLIENT LIST / CLIENT INFO format: Redis's fields, in its order, so
 * tools that parse them find them. The buffers are the proxy's: a request not yet whole (and
 * for the asker the command it is running, as Redis counts it), and replies the kernel has not
 * taken; Redis's fixed reply buffer and reply list have no counterpart (obl and oll are 0).
 */
import type { CommandInfo } from './commands/CommandInfo.js';
import { UNKNOWN } from './commands/Mapper.js';
import type { SessionState } from './LocalCommands.js';
import type { SubscriptionKind } from './PubSub.js';
import type { Request } from './Request.js';
import { redirectOf } from './TrackingCommand.js';

/** `laddr` is the proxy's client address; `asking` the request of the client that asks. */
export function clientLine(s: SessionState, laddr: string, asking?: Request): string {
  const t = s.tracking;
  const flags =
    (s.subscribed ? 'P' : '') +
    (s.tx !== null ? 'x' : '') +
    (s.waiting?.busy === true ? 'b' : '') +
    (t !== null ? 't' : '') +
    (t?.brokenRedirect === true ? 'R' : '') +
    (t?.bcast === true ? 'B' : '');
  const [age, idle] = [(Date.now() - s.since) / 1000, s.idleFor(performance.now()) / 1000].map(Math.floor);
  const subs = (kind: SubscriptionKind) => (s.subscribed ? s.subscriptions().sizeOf(kind) : 0);
  const io = s.io();
  const qbuf = io.queryBytes + (asking === undefined ? 0 : asking.payloadEnd - asking.payloadStart);
  const argvMem = asking?.args.reduce((n, a) => n + a.length, 0) ?? 0;
  const multiMem = s.tx?.memory ?? 0;
  return (
    `id=${s.id} addr=${s.remote} laddr=${laddr} fd=${io.fd} ` +
    `name=${s.name?.toString() ?? ''} age=${age} idle=${idle} flags=${flags || 'N'} db=${s.db} ` +
    `sub=${subs('channel')} psub=${subs('pattern')} ssub=${subs('shard')} multi=${s.tx?.size ?? -1} ` +
    `qbuf=${qbuf} qbuf-free=0 argv-mem=${argvMem} multi-mem=${multiMem} rbs=${qbuf} rbp=${qbuf} ` +
    `obl=0 oll=0 omem=${io.unsent} tot-mem=${qbuf + argvMem + multiMem + io.unsent} ` +
    `events=r${io.unsent > 0 ? 'w' : ''} cmd=${lastCommand(s.lastInfo)} user=default redir=${redirectOf(t)} ` +
    `resp=${s.proto}`
  );
}

/** As Redis names it (`client|list`), or NULL before the first command. */
function lastCommand(info: CommandInfo | null): string {
  return info === null || info === UNKNOWN ? 'NULL' : info.name.toLowerCase();
}
