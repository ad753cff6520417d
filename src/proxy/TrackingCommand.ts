/**
 * CLIENT TRACKING, CACHING, TRACKINGINFO and GETREDIR, with Redis's checks and error texts, in
 * Redis's order (ClientTracking.ts holds the state they set).
 */
import { arrayHeader, bulk, error, integer, mapHeader, OK, type Proto } from '../resp/encode.js';
import { ClientTracking, type TrackingMode } from './ClientTracking.js';
import { integerArg } from './commands/integerArg.js';
import { isKeyword } from './commands/keyword.js';
import type { LocalContext, SessionState } from './LocalCommands.js';
import type { Request } from './Request.js';
import { wrongArity } from './routing.js';

const SYNTAX = 'ERR syntax error';
const OVERLAP = 'Prefixes for a single client must not overlap.';

/** One is a prefix of the other. */
function overlaps(a: Buffer, b: Buffer): boolean {
  const n = Math.min(a.length, b.length);
  return a.subarray(0, n).equals(b.subarray(0, n));
}

/** The options after ON/OFF, or the client's error. */
function parseOptions(ctx: LocalContext, args: readonly Buffer[]): TrackingMode | string {
  const m: TrackingMode = {
    bcast: false,
    optin: false,
    optout: false,
    noloop: false,
    redirect: 0,
    target: null,
    prefixes: [],
  };
  for (let j = 3; j < args.length; j++) {
    const a = args[j]!;
    const more = j + 1 < args.length;
    if (isKeyword(a, 'REDIRECT') && more) {
      if (m.redirect !== 0) return 'ERR A client can only redirect to a single other client';
      const id = integerArg(args[++j]!);
      if (Number.isNaN(id)) return 'ERR value is not an integer or out of range';
      // Only this process's clients can get the messages (with workers, the same one's).
      const target = ctx.info.client(id);
      if (target === undefined) return 'ERR The client ID you want redirect to does not exist';
      m.redirect = id;
      m.target = target;
    } else if (isKeyword(a, 'BCAST')) m.bcast = true;
    else if (isKeyword(a, 'OPTIN')) m.optin = true;
    else if (isKeyword(a, 'OPTOUT')) m.optout = true;
    else if (isKeyword(a, 'NOLOOP')) m.noloop = true;
    else if (isKeyword(a, 'PREFIX') && more) m.prefixes.push(Buffer.from(args[++j]!));
    else return SYNTAX;
  }
  return m;
}

/** Redis's checks of ON's options against each other and the client's tracking now. */
function checkOn(m: TrackingMode, now: ClientTracking | null): string | null {
  if (!m.bcast && m.prefixes.length > 0) return 'ERR PREFIX option requires BCAST mode to be enabled';
  if (now !== null && now.bcast !== m.bcast) {
    return "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.";
  }
  if (m.bcast && (m.optin || m.optout)) return 'ERR OPTIN and OPTOUT are not compatible with BCAST';
  if (m.optin && m.optout) return "ERR You can't specify both OPTIN mode and OPTOUT mode";
  if (now !== null && ((m.optin && now.optout) || (m.optout && now.optin))) {
    return "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.";
  }
  for (let i = 0; i < m.prefixes.length; i++) {
    const p = m.prefixes[i]!;
    const had = now?.prefixes.find((q) => overlaps(q, p));
    if (had !== undefined) return `ERR Prefix '${p}' overlaps with an existing prefix '${had}'. ${OVERLAP}`;
    const other = m.prefixes.slice(i + 1).find((q) => overlaps(p, q));
    if (other !== undefined)
      return `ERR Prefix '${p}' overlaps with another provided prefix '${other}'. ${OVERLAP}`;
  }
  return null;
}

/** CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p …] [BCAST] [OPTIN] [OPTOUT] [NOLOOP]. */
export function clientTracking(ctx: LocalContext, s: SessionState, req: Request): void {
  const args = req.args;
  if (args.length < 3) return req.answer(error(wrongArity('client|tracking')));
  const m = parseOptions(ctx, args);
  if (typeof m === 'string') return req.answer(error(m));
  if (isKeyword(args[2]!, 'OFF')) {
    s.tracking?.stop();
    s.tracking = null;
    return req.answer(OK);
  }
  if (!isKeyword(args[2]!, 'ON')) return req.answer(error(SYNTAX));
  const why = checkOn(m, s.tracking);
  if (why !== null) return req.answer(error(why));
  const fresh = s.tracking === null;
  const t = s.tracking ?? new ClientTracking(s, ctx.invalidations);
  s.tracking = t;
  // As Redis's enableTracking: the flags and redirect are the new ones, BCAST prefixes add up.
  t.optin = m.optin;
  t.optout = m.optout;
  t.noloop = m.noloop;
  t.redirect = m.redirect;
  t.target = m.target;
  t.brokenRedirect = false;
  if (m.bcast) {
    t.bcast = true;
    t.prefixes.push(...(m.prefixes.length > 0 ? m.prefixes : [Buffer.alloc(0)]));
  }
  (fresh ? t.start() : t.enabled).then(
    () => req.answer(OK),
    (e: Error) => {
      // Turned off (OFF, RESET) before the servers reported: this ON had worked meanwhile.
      if (s.tracking !== t) return req.answer(OK);
      t.stop();
      s.tracking = null;
      req.answer(error(`ERR client tracking unavailable: ${e.message}`));
    },
  );
}

/** CLIENT CACHING YES|NO: whether the next command's reads are tracked, in OPTIN / OPTOUT mode. */
export function clientCaching(s: SessionState, req: Request): void {
  if (req.args.length !== 3) return req.answer(error(wrongArity('client|caching')));
  const t = s.tracking;
  if (t === null) {
    return req.answer(
      error(
        'ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled',
      ),
    );
  }
  const v = req.args[2]!;
  if (isKeyword(v, 'YES')) {
    if (!t.optin)
      return req.answer(
        error('ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.'),
      );
  } else if (isKeyword(v, 'NO')) {
    if (!t.optout)
      return req.answer(
        error('ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.'),
      );
  } else {
    return req.answer(error(SYNTAX));
  }
  t.caching = true;
  req.answer(OK);
}

/** CLIENT TRACKINGINFO, as Redis writes it (flags is a set in RESP3). */
export function trackingInfo(t: ClientTracking | null, proto: Proto): Buffer {
  const flags = [t === null ? 'off' : 'on'];
  if (t !== null) {
    if (t.bcast) flags.push('bcast');
    if (t.optin) flags.push('optin', ...(t.caching ? ['caching-yes'] : []));
    if (t.optout) flags.push('optout', ...(t.caching ? ['caching-no'] : []));
    if (t.noloop) flags.push('noloop');
    if (t.brokenRedirect) flags.push('broken_redirect');
  }
  const set = proto === 3 ? Buffer.from(`~${flags.length}\r\n`) : arrayHeader(flags.length);
  const prefixes = t?.prefixes ?? [];
  return Buffer.concat([
    mapHeader(3, proto),
    bulk('flags'),
    set,
    ...flags.map((f) => bulk(f)),
    bulk('redirect'),
    integer(redirectOf(t)),
    bulk('prefixes'),
    arrayHeader(prefixes.length),
    ...prefixes.map((p) => bulk(p)),
  ]);
}

/** CLIENT GETREDIR and CLIENT LIST's redir: -1 without tracking, 0 without REDIRECT. */
export function redirectOf(t: ClientTracking | null): number {
  return t === null ? -1 : t.redirect;
}
