import type { RedisCommandSpec } from './table.generated.js';

/**
 * What the proxy knows about one command: Redis's own metadata (generated from a real Redis 7
 * COMMAND INFO / COMMAND DOCS) plus our support decision. The hot path reads only `flags`,
 * `handling`, `keyKind` and `firstKey`; everything else serves COMMAND replies and errors.
 */

/** Codis flag bits (mapper.go), kept for stats and replica routing. */
export const enum CmdFlag {
  Write = 1,
  MasterOnly = 2,
  MayWrite = 4,
  NotAllow = 8,
  /** Admin commands (CONFIG GET, SLOWLOG GET…), which Redis keeps out of MONITOR. */
  Unmonitored = 16,
}

/** How the proxy handles a command. */
export const enum Handling {
  /** Route by key(s) to one backend and forward verbatim. */
  Forward = 0,
  /** Answered by the proxy itself (PING, SELECT, AUTH, COMMAND, SLOTSINFO…). */
  Local = 1,
  /** Split across backends and merged (MGET, MSET, DEL, UNLINK, EXISTS, TOUCH). */
  Coalesce = 2,
  /** Refused with `-ERR handle request, command 'X' is not allowed` (or `reason`). */
  NotAllow = 3,
  /** MULTI, EXEC, DISCARD, WATCH, UNWATCH: the session's transaction (Transaction.ts, Watch.ts). */
  Transaction = 4,
}

/** Where the keys of a command are. */
export const enum KeyKind {
  /** No key: routed by `firstKey` argument if any (Codis compatibility) or to a random slot. */
  None = 0,
  /** Exactly one key, at argument index `firstKey` (the fast path: GET, SET, HSET…). */
  Single = 1,
  /** Anything else: use `collectKeys()` (ranges, numkeys, STREAMS keyword, subcommands). */
  Multi = 2,
}

export interface CommandInfo {
  /** Upper-case name, e.g. `GET`, `CLIENT|SETNAME` for a subcommand. */
  readonly name: string;
  /** Redis arity: N means exactly N arguments (name included), -N means at least N. */
  readonly arity: number;
  /** CmdFlag bits. Read-only ⇔ neither Write nor MayWrite. */
  readonly flags: number;
  readonly handling: Handling;
  readonly keyKind: KeyKind;
  /** Argument index of the first key (0 when the command has none). */
  readonly firstKey: number;
  /** Dense id (0..N-1) for per-command stats arrays. */
  readonly id: number;
  /** Why a NotAllow command is refused, when more helpful than the generic text. */
  readonly reason?: string;
  /** Subcommands by upper-case name (CLIENT, OBJECT, XINFO…). */
  readonly subcommands?: ReadonlyMap<string, CommandInfo>;
  /** The container of a subcommand (`CLIENT` for `CLIENT|SETNAME`). */
  readonly parent?: CommandInfo;
  /**
   * Argument-dependent refusal (e.g. XREAD … BLOCK): returns the reason to refuse this call,
   * or undefined. Only a few commands have one; check it before forwarding.
   */
  readonly argCheck?: (args: readonly Buffer[]) => string | undefined;
  /**
   * Whether this call may block (BLPOP always, XREAD with BLOCK): it then runs on a backend
   * connection of its client's own (Blocking.ts). Undefined for commands that never block.
   */
  readonly blocks?: (args: readonly Buffer[]) => boolean;
  /** Redis's own metadata; absent for proxy-only names (SLOTSINFO, POST…) and UNKNOWN. */
  readonly spec?: RedisCommandSpec;
}
