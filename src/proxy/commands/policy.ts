/**
 * The proxy's support decision for every Redis 7 command (hand-written; the metadata itself is
 * generated into table.generated.ts). Keys are Redis's lower-case full names: `get`,
 * `client|setname`. A subcommand without an entry of its own takes its container's `subs`
 * decision, or the container's decision. The test suite checks that every command of the
 * generated table has an explicit decision here and that no entry names a missing command,
 * so regenerating the table against a newer Redis points at what needs reviewing.
 *
 * Baseline: Codis's mapper.go (reference §2). Differences, on purpose:
 * - Same-slot multi-key commands are allowed (RENAME, MSETNX, BITOP, SMOVE, LMOVE, COPY, …):
 *   the router checks that all keys of a command hash to one slot, which Codis never did.
 * - Commands added after Redis 3.2 are reviewed one by one instead of being forwarded as
 *   "unknown" (Codis's table stopped at 3.2, so e.g. BLMOVE or UNLINK went through unchecked).
 * - PING, ECHO, INFO, HELLO, RESET and CLIENT SETNAME/GETNAME/ID/INFO are answered by the proxy:
 *   with stock Redis there is no sensible backend to send them to.
 * - SCRIPT LOAD/EXISTS/FLUSH, FUNCTION LOAD/DELETE/FLUSH/RESTORE and DBSIZE, which Codis refused,
 *   run on every backend (EveryBackend.ts).
 * - MULTI/EXEC and WATCH, which Codis refused, work when the transaction's keys share a slot; blocking
 *   commands run on a backend connection of their client's own (Blocking.ts), and so do
 *   subscriptions (PubSub.ts).
 * - KEYS, FLUSHDB and FLUSHALL run on every backend too; SCAN and RANDOMKEY walk the groups one at a time
 *   (KeyspaceScan.ts). Test suites and tools flush and scan a database as they would one Redis.
 */
import { Handling } from './CommandInfo.js';
import { isKeyword } from './keyword.js';
import { sortCheck } from './sortPatterns.js';

export interface Decision {
  readonly handling: Handling;
  /** Must reach the master although Redis does not flag it `write`. */
  readonly masterOnly?: boolean;
  /** Counts as a write although Redis does not flag it `write` (scripts may write). */
  readonly write?: boolean;
  /** Why a NotAllow command is refused. */
  readonly reason?: string;
  /** Argument-dependent refusal: returns a reason to refuse this particular call. */
  readonly argCheck?: (args: readonly Buffer[]) => string | undefined;
  /** Whether a call blocks (then it gets a backend connection of its client's own). */
  readonly blocks?: (args: readonly Buffer[]) => boolean;
  /** For containers: the decision of subcommands that have no entry of their own. */
  readonly subs?: Decision;
}

const FORWARD: Decision = { handling: Handling.Forward };
const MASTER_ONLY: Decision = { handling: Handling.Forward, masterOnly: true };
const WRITE: Decision = { handling: Handling.Forward, write: true };
const LOCAL: Decision = { handling: Handling.Local };
const COALESCE: Decision = { handling: Handling.Coalesce };
const MASTER_ONLY_LOCAL: Decision = { handling: Handling.Local, masterOnly: true };
const refuse = (reason: string): Decision => ({ handling: Handling.NotAllow, reason });

/** Blocking commands run on a backend connection of their client's own (Blocking.ts). */
const BLOCKING: Decision = { handling: Handling.Forward, blocks: () => true };
const ADMIN = refuse('server administration must be done on each backend, not through the proxy');
const REPLICATION = refuse('replication and cluster topology are managed by the dashboard, not by clients');

/** XREAD / XREADGROUP block when given BLOCK (options come before STREAMS). */
function xreadBlocks(args: readonly Buffer[]): boolean {
  for (let i = 1; i < args.length; i++) {
    const a = args[i]!;
    if (isKeyword(a, 'STREAMS')) return false;
    if (isKeyword(a, 'BLOCK')) return true;
    if (isKeyword(a, 'COUNT')) i += 1;
    else if (isKeyword(a, 'GROUP')) i += 2;
    else if (!isKeyword(a, 'NOACK')) return false; // syntax error: Redis answers
  }
  return false;
}

const groups: [Decision, string[]][] = [
  // Reads of one key, or of several keys that must share a slot (SDIFF, SINTER, ZUNION, LCS…):
  // Codis's read list plus the Redis 4–7 additions. May be served by replica groups.
  [
    FORWARD,
    `bitcount bitfield_ro bitpos dump expiretime geodist geohash geopos georadius_ro
     georadiusbymember_ro geosearch get getbit getrange hexists hget hgetall hkeys hlen hmget
     hrandfield hstrlen hvals lcs lindex llen lpos lrange pexpiretime pfcount pttl scard sdiff
     sinter sintercard sismember smembers smismember srandmember strlen substr sunion ttl
     type xlen xpending xrange xrevrange zcard zcount zdiff zinter zintercard zlexcount zmscore
     zrandmember zrange zrangebylex zrangebyscore zrank zrevrange zrevrangebylex zrevrangebyscore
     zrevrank zscore zunion eval_ro evalsha_ro fcall_ro xinfo object`.split(/\s+/),
  ],
  // Codis allowed these key-less commands; kept for compatibility (sent to a random slot).
  [FORWARD, ['pfselftest', 'role']],
  // TIME: any server's clock will do (rate limiters and lock libraries ask it); slot 0's group's.
  [FORWARD, ['time']],
  // Writes (the Write flag comes from Redis's `write` flag): Codis's list, plus the same-slot
  // multi-key writes Codis refused (RENAME, RENAMENX, MSETNX, BITOP) now that the router checks
  // slots, plus Redis 4–7 additions. XREADGROUP is a write (it moves the group's cursor).
  [
    FORWARD,
    `append bitfield bitop copy decr decrby expire expireat geoadd georadius georadiusbymember
     geosearchstore getdel getex getset hdel hincrby hincrbyfloat hmset hset hsetnx incr incrby
     incrbyfloat linsert lmove lmpop lpop lpush lpushx lrem lset ltrim msetnx persist pexpire
     pexpireat pfadd pfdebug pfmerge psetex rename renamenx rpop rpoplpush rpush rpushx sadd
     sdiffstore set setbit setex setnx setrange sinterstore smove spop srem sunionstore xack
     xadd xautoclaim xclaim xdel xgroup xsetid xtrim zadd zdiffstore zincrby zinterstore zmpop
     zpopmax zpopmin zrangestore zrem zremrangebylex zremrangebyrank zremrangebyscore
     zunionstore`.split(/\s+/),
  ],
  // RESTORE: Codis refused it, but it is a single-key write and the way importers write dumps
  // now that SLOTSRESTORE (codis-server only) is gone. RESTORE-ASKING stays refused below.
  [FORWARD, ['restore']],
  // MOVE (Codis refused it): its key hashes to the same slot in every database, so the slot's
  // server has both; only while the slot migrates is it refused (forward.ts).
  [FORWARD, ['move']],
  // Scripts: Redis does not flag EVAL/EVALSHA/FCALL `write`, but they may write, so Codis's W
  // is kept (never served by replicas). Keys must share a slot. The *_RO variants are reads.
  [WRITE, ['eval', 'evalsha', 'fcall']],
  // Codis's MO: cursors must stay on one server (a replica may be another one next time).
  // TOUCH and OBJECT IDLETIME/FREQ read access metadata, which only the master's clock keeps.
  [MASTER_ONLY, ['hscan', 'sscan', 'zscan', 'object|idletime', 'object|freq']],
  // SORT's BY and GET patterns read other keys, which must share the sorted key's slot.
  [{ handling: Handling.Forward, argCheck: sortCheck }, ['sort', 'sort_ro']],
  // XREAD is a read; with BLOCK, both block.
  [{ handling: Handling.Forward, blocks: xreadBlocks }, ['xread', 'xreadgroup']],
  // Split per backend and merged by the proxy. TOUCH is master-only (see above).
  [COALESCE, ['mget', 'mset', 'del', 'unlink', 'exists']],
  [{ handling: Handling.Coalesce, masterOnly: true }, ['touch']],
  // Answered by the proxy. RESET is local too: it resets the *session* (db 0, name, RESP2,
  // authorization) and must not reset a shared backend connection.
  [LOCAL, ['ping', 'echo', 'quit', 'auth', 'select', 'info', 'command', 'hello', 'reset']],
  // MONITOR shows the commands this proxy process receives, as Redis shows its own (Monitor.ts).
  [LOCAL, ['monitor']],
  [
    LOCAL,
    [
      'client|setname',
      'client|getname',
      'client|id',
      'client|info',
      'client|list',
      'client|kill',
      'client|reply',
      'client|unblock',
      // No client eviction here: NO-EVICT answers as Redis does. Tracking is the proxy's own.
      'client|no-evict',
      'client|tracking',
      'client|getredir',
      'client|trackinginfo',
      'client|caching',
      // The proxy's clients are paused in every worker (ClientPause.ts); HELP is a server's.
      'client|pause',
      'client|unpause',
      'client|help',
    ],
  ],
  // Run by the proxy on every backend server, so EVALSHA works on whichever group has the keys.
  [LOCAL, ['script|load', 'script|exists', 'script|flush']],
  // A running script is killed wherever it runs, over connections of their own (ScriptKill.ts).
  [LOCAL, ['script|kill', 'function|kill']],
  // Libraries are loaded, deleted and restored on every primary, so FCALL works on every group;
  // LIST, DUMP and STATS read slot 0's group, which has them all when they came this way.
  [LOCAL, ['function|load', 'function|delete', 'function|flush', 'function|restore']],
  [MASTER_ONLY, ['function|list', 'function|dump', 'function|stats', 'function|help']],
  // Every server's slow log, merged (SlowLog.ts): RedisInsight and operators read it.
  [LOCAL, ['slowlog|get', 'slowlog|len', 'slowlog|reset']],
  [FORWARD, ['slowlog|help']],
  [LOCAL, ['config|set', 'config|resetstat', 'config|rewrite']],
  // LATENCY HISTOGRAM is the proxy's own (what its clients see); LATEST, HISTORY and RESET merge
  // every server's latency monitor (LatencyCommand.ts); DOCTOR and GRAPH describe slot 0's group.
  [LOCAL, ['latency|histogram', 'latency|latest', 'latency|history', 'latency|reset']],
  [MASTER_ONLY, ['latency|doctor', 'latency|graph', 'latency|help']],
  // The sum of every group's DBSIZE; every group's KEYS; SCAN and RANDOMKEY group by group.
  [LOCAL, ['dbsize', 'keys', 'scan', 'randomkey']],
  // Every group's primary is flushed, or swaps two databases (its replicas follow).
  [MASTER_ONLY_LOCAL, ['flushdb', 'flushall', 'swapdb']],
  // MEMORY USAGE key is a read of one key; the rest of MEMORY is server-wide (see below).
  [FORWARD, ['memory|usage']],
  // Blocking: a blocked command would hold a pipelined connection shared by many clients, so
  // each blocking client gets one of its own.
  [BLOCKING, ['blpop', 'brpop', 'brpoplpush', 'blmove', 'blmpop', 'bzpopmin', 'bzpopmax', 'bzmpop']],
  // WAIT runs on every group's primary over the client's own connections (Wait.ts).
  [LOCAL, ['wait']],
  // Subscriptions are the session's, made on every group (PubSub.ts); PUBLISH goes to the group
  // of its channel's slot. A sharded channel (SSUBSCRIBE) is made on its slot's group only, and
  // SPUBLISH goes there.
  [LOCAL, ['subscribe', 'unsubscribe', 'psubscribe', 'punsubscribe', 'ssubscribe', 'sunsubscribe']],
  // PUBSUB CHANNELS/NUMSUB/NUMPAT: any primary has every subscription. Sharded channels are
  // spread over the groups: SHARDCHANNELS and SHARDNUMSUB ask every primary (EveryBackend.ts).
  [MASTER_ONLY, ['publish', 'spublish', 'pubsub']],
  [LOCAL, ['pubsub|shardchannels', 'pubsub|shardnumsub']],
  // Queued by the proxy and sent as one piece to the group of their slot (Transaction.ts);
  // WATCH and a transaction after it go to the client's own connection (Watch.ts).
  [{ handling: Handling.Transaction, masterOnly: true }, ['multi', 'exec', 'discard', 'watch', 'unwatch']],
  [
    ADMIN,
    `debug shutdown bgsave save lastsave bgrewriteaof acl
     lolwut`.split(/\s+/),
  ],
  [
    REPLICATION,
    'sync psync replconf slaveof replicaof cluster asking readonly readwrite failover'.split(' '),
  ],
  [
    refuse('MIGRATE and RESTORE-ASKING are used by slot migration and cannot be sent by clients'),
    ['migrate', 'restore-asking'],
  ],
];

const table = new Map<string, Decision>();
for (const [decision, names] of groups) {
  for (const name of names) {
    if (name === '') continue;
    if (table.has(name)) throw new Error(`policy: '${name}' is listed twice`);
    table.set(name, decision);
  }
}

// Containers whose subcommands differ from the container's own decision.
table.set('client', {
  handling: Handling.Local,
  subs: refuse('not a CLIENT subcommand the proxy offers'),
});
// Not Local as a whole (unlike CLIENT): the session picks the subcommand, refuses the others and
// checks arity, and LOAD/EXISTS/FLUSH then go to their local handlers.
table.set('script', {
  handling: Handling.Forward,
  subs: refuse('only SCRIPT LOAD, EXISTS, FLUSH and KILL are supported: they run on every backend'),
});
table.set('function', {
  handling: Handling.Forward,
  masterOnly: true,
  subs: refuse('only FUNCTION LOAD, DELETE, FLUSH, RESTORE, KILL, LIST, DUMP, STATS and HELP are supported'),
});
table.set('slowlog', {
  handling: Handling.Forward,
  subs: refuse('only SLOWLOG GET, LEN, RESET and HELP are supported: they run on every backend'),
});
// CONFIG GET reads the settings of the server of slot 0's group, for tools that ask
// (redis-benchmark, RedisInsight); SET, RESETSTAT and REWRITE run on every server (ConfigCommand.ts).
table.set('config', {
  handling: Handling.Forward,
  masterOnly: true,
  subs: refuse('only CONFIG GET, SET, RESETSTAT, REWRITE and HELP are supported'),
});
table.set('config|get', MASTER_ONLY);
table.set('config|help', MASTER_ONLY);
// MODULE LIST reads slot 0's group server (RedisInsight asks on connect); every group runs the
// same stock server. Loading modules is left to each server.
table.set('module', {
  handling: Handling.Forward,
  masterOnly: true,
  subs: refuse(
    'only MODULE LIST and HELP are supported (they read one backend); load modules on each backend',
  ),
});
table.set('module|list', MASTER_ONLY);
table.set('module|help', MASTER_ONLY);
table.set('latency', { handling: Handling.Forward, masterOnly: true });
table.set('memory', {
  handling: Handling.Forward,
  subs: refuse('only MEMORY USAGE <key> is supported; the rest describes one backend server'),
});

/** Commands the proxy knows that stock Redis 7.0 does not have. */
export interface ProxyCommand {
  readonly name: string;
  readonly arity: number;
  readonly flags: readonly string[];
  readonly summary: string;
  readonly decision: Decision;
}

export const PROXY_COMMANDS: readonly ProxyCommand[] = [
  // Codis's slot introspection, answered by the proxy from its routing table.
  {
    name: 'slotsinfo',
    arity: -1,
    flags: ['readonly'],
    summary: 'Codis: key counts per slot of a backend server',
    decision: MASTER_ONLY_LOCAL,
  },
  {
    name: 'slotsscan',
    arity: -3,
    flags: ['readonly'],
    summary: 'Codis: scan the keys of one slot',
    decision: MASTER_ONLY_LOCAL,
  },
  {
    name: 'slotsmapping',
    arity: -1,
    flags: ['readonly'],
    summary: 'Codis: the routing of one slot or of all slots',
    decision: LOCAL,
  },
  // Codis's cross-protocol guards: an HTTP client talking to the Redis port is refused.
  { name: 'post', arity: -1, flags: [], summary: '', decision: refuse('this is a Redis port, not HTTP') },
  { name: 'host:', arity: -1, flags: [], summary: '', decision: refuse('this is a Redis port, not HTTP') },
  // Redis 7.2+: refused even when the backends are newer than the generated table.
  {
    name: 'waitaof',
    arity: 4,
    flags: ['noscript'],
    summary: '',
    decision: refuse('WAITAOF counts the replicas of one backend only and blocks a shared connection'),
  },
];

/** Explicit decision for a full name, or undefined (top-level) / inherited (subcommand). */
export function decisionFor(fullName: string): Decision | undefined {
  const own = table.get(fullName);
  if (own) return own;
  const bar = fullName.indexOf('|');
  if (bar < 0) return undefined;
  const parent = table.get(fullName.slice(0, bar));
  if (!parent) return undefined;
  return parent.subs ?? parent;
}

/** Every name with an explicit decision (for the completeness test). */
export function decidedNames(): readonly string[] {
  return [...table.keys()];
}
