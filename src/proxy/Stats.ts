/**
 * Proxy counters in the Codis shape: ops total/fails/redis errors/qps, per-command calls,
 * usecs and fails, sessions. Commands are counted by the table's dense id, so the hot path
 * only bumps numbers in arrays; names are attached when stats are read.
 */
import type { Request } from './Request.js';
import { BUCKETS, bucketOf } from './LatencyHistogram.js';

class OpStats {
  calls = 0;
  usecs = 0;
  fails = 0;
  redisErrors = 0;
  /** Latencies (LatencyHistogram), made at the first call. */
  hist: Uint32Array | null = null;
  constructor(readonly name: string) {}
}

/** Distinct error codes counted apart, as Redis caps its Errorstats. */
const ERROR_CODES_MAX = 128;
/** Bytes of an error reply looked at for its code (its first word). */
const ERROR_CODE_LENGTH_MAX = 128;

export interface OpStatsJson {
  opstr: string;
  calls: number;
  usecs: number;
  usecs_percall: number;
  fails: number;
  redis_errtype: number;
}

export class Stats {
  total = 0;
  fails = 0;
  redisErrors = 0;
  qps = 0;
  sessionsTotal = 0;
  sessionsAlive = 0;
  /** Connections refused past proxy_max_clients (Redis's rejected_connections). */
  rejected = 0;
  /** Bytes read from clients and replied to them, and their rates over the last second. */
  netIn = 0;
  netOut = 0;
  inKbps = 0;
  outKbps = 0;
  /** Error replies by code (the first word: ERR, WRONGTYPE…), for INFO's Errorstats. */
  readonly errorCodes = new Map<string, number>();
  private byId: (OpStats | undefined)[] = [];
  /** Unknown commands forwarded by name (proxy_forward_unknown_commands). */
  private byName = new Map<string, OpStats>();
  private lastTotal = 0;
  private lastIn = 0;
  private lastOut = 0;
  private timer: NodeJS.Timeout;

  constructor() {
    this.timer = setInterval(() => {
      this.qps = this.total - this.lastTotal;
      this.lastTotal = this.total;
      [this.inKbps, this.outKbps] = [(this.netIn - this.lastIn) / 1024, (this.netOut - this.lastOut) / 1024];
      [this.lastIn, this.lastOut] = [this.netIn, this.netOut];
    }, 1000);
    this.timer.unref();
  }

  /**
   * One answered request, `usecs` from decode to reply. An error reply the proxy made is a
   * failure (Redis's rejected call), one from Redis a Redis error (a failed call).
   */
  record(req: Request, usecs: number): void {
    const { info, failed, unknownName } = req;
    const reply = req.parts === null ? req.replyData : null;
    const isError = reply !== null && reply[req.replyStart] === 0x2d;
    if (isError) this.errorReply(reply, req.replyStart);
    this.total++;
    let op: OpStats | undefined;
    if (unknownName !== undefined) {
      op = this.byName.get(unknownName);
      if (op === undefined) this.byName.set(unknownName, (op = new OpStats(unknownName)));
    } else {
      op = this.byId[info.id];
      if (op === undefined) this.byId[info.id] = op = new OpStats(info.name);
    }
    op.calls++;
    op.usecs += usecs;
    (op.hist ??= new Uint32Array(BUCKETS))[bucketOf(usecs)]++;
    if (failed) {
      op.fails++;
      this.fails++;
    } else if (isError) {
      op.redisErrors++;
      this.redisErrors++;
    }
  }

  /** An error reply went to a client: `reply[start]` is its `-`. */
  private errorReply(reply: Buffer, start: number): void {
    let end = start + 1;
    const limit = Math.min(reply.length, start + 1 + ERROR_CODE_LENGTH_MAX);
    while (end < limit && reply[end] !== 0x20 && reply[end] !== 0x0d) end++;
    const code = reply.toString('latin1', start + 1, end);
    const n = this.errorCodes.get(code);
    if (n !== undefined) this.errorCodes.set(code, n + 1);
    else if (this.errorCodes.size < ERROR_CODES_MAX) this.errorCodes.set(code, 1);
  }

  /** Each command's latency histogram, by name. */
  latencies(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const o of this.all()) if (o.hist !== null) out[o.name] = Array.from(o.hist);
    return out;
  }

  private all(): OpStats[] {
    return [...this.byId.filter((o): o is OpStats => o !== undefined), ...this.byName.values()];
  }

  commands(): OpStatsJson[] {
    return this.all()
      .map((o) => ({
        opstr: o.name,
        calls: o.calls,
        usecs: Math.round(o.usecs),
        usecs_percall: o.calls > 0 ? Math.round(o.usecs / o.calls) : 0,
        fails: o.fails,
        redis_errtype: o.redisErrors,
      }))
      .sort((a, b) => (a.opstr < b.opstr ? -1 : a.opstr > b.opstr ? 1 : 0));
  }

  /** `PUT /api/proxy/stats/reset`: op and rejection counters cleared, sessions.total := alive; qps untouched. */
  reset(): void {
    this.total = 0;
    this.lastTotal = 0;
    this.netIn = this.netOut = this.lastIn = this.lastOut = 0;
    this.fails = 0;
    this.redisErrors = 0;
    this.byId = [];
    this.byName.clear();
    this.errorCodes.clear();
    this.sessionsTotal = this.sessionsAlive;
    this.rejected = 0;
  }

  close(): void {
    clearInterval(this.timer);
  }
}
