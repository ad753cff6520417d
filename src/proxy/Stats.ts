/**
 * Proxy counters in the Codis shape: ops total/fails/redis errors/qps, per-command calls,
 * usecs and fails, sessions. Commands are counted by the table's dense id, so the hot path
 * only bumps numbers in arrays; names are attached when stats are read.
 */
import type { CommandInfo } from './commands/CommandInfo.js';

class OpStats {
  calls = 0;
  usecs = 0;
  fails = 0;
  redisErrors = 0;
  constructor(readonly name: string) {}
}

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
  private byId: (OpStats | undefined)[] = [];
  /** Unknown commands forwarded by name (proxy_forward_unknown_commands). */
  private byName = new Map<string, OpStats>();
  private lastTotal = 0;
  private timer: NodeJS.Timeout;

  constructor() {
    this.timer = setInterval(() => {
      this.qps = this.total - this.lastTotal;
      this.lastTotal = this.total;
    }, 1000);
    this.timer.unref();
  }

  /** One finished command: `usecs` from decode to reply, failed = the proxy made an error reply. */
  record(info: CommandInfo, usecs: number, failed: boolean, redisError: boolean, unknownName?: string): void {
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
    if (failed) {
      op.fails++;
      this.fails++;
    } else if (redisError) {
      op.redisErrors++;
      this.redisErrors++;
    }
  }

  commands(): OpStatsJson[] {
    const all = [...this.byId.filter((o): o is OpStats => o !== undefined), ...this.byName.values()];
    return all
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
    this.fails = 0;
    this.redisErrors = 0;
    this.byId = [];
    this.byName.clear();
    this.sessionsTotal = this.sessionsAlive;
    this.rejected = 0;
  }

  close(): void {
    clearInterval(this.timer);
  }
}
