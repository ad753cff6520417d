/**
 * MULTI … EXEC through the proxy, for transactions whose keys share one slot (as Redis Cluster
 * requires). The proxy queues the commands itself and answers +QUEUED; EXEC sends MULTI, the
 * commands and EXEC to the slot's group as one request, written in one piece on the shared
 * backend connection, so no other client's command can fall inside the transaction there. The
 * backend's +OK and +QUEUED replies are skipped and the client gets EXEC's reply.
 *
 * As in Redis, a command refused while queueing (unknown, wrong arity, not allowed, keys in
 * another slot) gets its error and makes EXEC answer EXECABORT. After WATCH, the transaction
 * goes to the client's own connection that holds the watch (Watch.ts).
 */
import { command, EMPTY_ARRAY, OK, simple } from '../resp/encode.js';
import { Handling, KeyKind, type CommandInfo } from './commands/CommandInfo.js';
import { mayWrite } from './ClientPause.js';
import { checkArity, refusalMessage } from './commands/Mapper.js';
import { movesBetweenDbs, requestKeys } from './forward.js';
import type { DecoderLimits } from '../resp/RequestDecoder.js';
import type { Request } from './Request.js';
import { checkCommand, CROSSSLOT, isRefusal, slotOfKeys } from './routing.js';
import type { OwnConn } from './OwnConn.js';
import { Watch } from './Watch.js';

const QUEUED = simple('QUEUED');
const MULTI = command(['MULTI']);
const EXEC = command(['EXEC']);

/** `control`'s answer when it replied to the client itself (nothing to forward). */
export const ANSWERED = -1;

/**
 * Commands the proxy answers itself that may still run inside a transaction, on the backend
 * (where, as in Redis, WAIT answers at once: a transaction never blocks).
 */
const RUN_ON_BACKEND: ReadonlySet<string> = new Set(['PING', 'ECHO', 'WAIT']);

/** Run at once inside MULTI, as in Redis; every other command is queued. */
const AT_ONCE: ReadonlySet<string> = new Set(['MULTI', 'EXEC', 'DISCARD', 'WATCH', 'QUIT', 'RESET']);

export function runsAtOnce(info: CommandInfo): boolean {
  return AT_ONCE.has(info.name);
}

/** Where a session keeps its open transaction and its watch. */
export interface TransactionHolder {
  tx: Transaction | null;
  watch: Watch | null;
  /** The connection of its own that its watches go to. */
  watchConn(): OwnConn;
}

export class Transaction {
  /** MULTI, then each queued command's bytes as the client sent them. */
  private readonly parts: Buffer[] = [MULTI];
  private bytes = MULTI.length + EXEC.length;
  private readonly keys: Buffer[] = [];
  private queued = 0;

  /** Commands queued so far (CLIENT LIST's multi). */
  get size(): number {
    return this.queued;
  }

  /** A queued command writes: CLIENT PAUSE WRITE holds the EXEC. */
  writes = false;
  /** A MOVE is queued (forward.ts: movesBetweenDbs). */
  private moves = false;

  /** Bytes of the queued commands (CLIENT LIST's multi-mem). */
  get memory(): number {
    return this.queued === 0 ? 0 : this.bytes;
  }
  /** A command was refused while queueing: EXEC will discard the transaction. */
  private aborted = false;

  constructor(
    private readonly limits: DecoderLimits,
    /** The slot every key so far hashes to (the watched one, if any); -1 before the first key. */
    private slot: number,
  ) {}

  /** An error that Session raised itself (an unknown command) dooms the transaction too. */
  abort(): void {
    this.aborted = true;
  }

  /** Checks and queues a command, answering +QUEUED, or its error (which aborts the transaction). */
  queue(req: Request, info: CommandInfo): void {
    const why = this.check(req, info);
    if (why !== null) {
      this.abort();
      req.fail(why);
      return;
    }
    if (mayWrite(req.info, req.args)) this.writes = true;
    if (req.info.name === 'MOVE') this.moves = true;
    this.parts.push(req.payload.subarray(req.payloadStart, req.payloadEnd));
    this.bytes += req.payloadEnd - req.payloadStart;
    this.queued++;
    req.answer(QUEUED);
  }

  /** Why the command cannot be queued (an error text or reply), or null (its keys are then recorded). */
  private check(req: Request, info: CommandInfo): string | Buffer | null {
    const args = req.args;
    const checked = checkCommand(info, args);
    // Redis's own refusal first, for what it never queues (SAVE, SHUTDOWN…).
    const named = isRefusal(checked) ? info : checked;
    if (named.spec?.flags.includes('no_multi') === true && checkArity(named, args.length)) {
      return 'ERR Command not allowed inside a transaction';
    }
    if (isRefusal(checked)) return checked;
    req.info = info = checked;
    if (info.handling === Handling.Local && !RUN_ON_BACKEND.has(info.name)) {
      return refusalMessage(info, 'the proxy answers it itself, so it cannot run inside MULTI');
    }
    if (this.bytes + req.payloadEnd - req.payloadStart > this.limits.maxRequest) {
      return `ERR transaction too big for the proxy: over ${this.limits.maxRequest} bytes queued`;
    }
    // Keyless, or a forwarded unknown command without arguments.
    if (info.keyKind === KeyKind.None || (info.keyKind === KeyKind.Single && info.firstKey >= args.length)) {
      return null;
    }
    const slot = slotOfKeys(info, args);
    if (slot < 0 || (this.slot >= 0 && slot !== this.slot)) return CROSSSLOT;
    this.slot = slot;
    for (const k of requestKeys(req)) this.keys.push(k);
    return null;
  }

  /**
   * Turns the EXEC request into the whole transaction and returns its slot (keyless
   * transactions go to slot 0's group).
   */
  private seal(req: Request): number {
    const batch = Buffer.concat([...this.parts, EXEC], this.bytes);
    req.payload = batch;
    req.payloadStart = 0;
    req.payloadEnd = batch.length;
    req.skipReplies = this.queued + 1;
    req.txKeys = this.keys;
    if (this.moves) movesBetweenDbs.add(req);
    return Math.max(this.slot, 0);
  }

  /**
   * MULTI, EXEC, DISCARD, WATCH and UNWATCH, as Redis answers them. Returns the slot to
   * forward an EXEC or a WATCH to, or ANSWERED.
   */
  static control(s: TransactionHolder, req: Request, limits: DecoderLimits): number {
    const tx = s.tx;
    switch (req.info.name) {
      case 'MULTI':
        if (tx !== null) return fail(req, 'ERR MULTI calls can not be nested');
        s.tx = new Transaction(limits, s.watch?.slotId ?? -1);
        return answer(req, OK);
      case 'DISCARD':
        if (tx === null) return fail(req, 'ERR DISCARD without MULTI');
        s.tx = null;
        unwatch(s);
        return answer(req, OK);
      case 'EXEC': {
        if (tx === null) return fail(req, 'ERR EXEC without MULTI');
        s.tx = null;
        // Redis forgets the watched keys with EXEC, whatever comes of it.
        const watch = s.watch;
        s.watch = null;
        if (tx.aborted) {
          watch?.end();
          return fail(req, 'EXECABORT Transaction discarded because of previous errors.');
        }
        // An empty transaction still fails on a watched key that changed.
        if (tx.queued === 0 && watch === null) return answer(req, EMPTY_ARRAY);
        req.own = watch;
        return tx.seal(req);
      }
      case 'WATCH':
        return watch(s, req);
      default:
        unwatch(s);
        return answer(req, OK);
    }
  }
}

function watch(s: TransactionHolder, req: Request): number {
  if (s.tx !== null) return fail(req, 'ERR WATCH inside MULTI is not allowed');
  const slot = slotOfKeys(req.info, req.args);
  if (slot < 0 || (s.watch !== null && s.watch.slotId !== slot)) return fail(req, CROSSSLOT);
  s.watch ??= new Watch(slot, s.watchConn());
  req.own = s.watch;
  return slot;
}

/** UNWATCH, DISCARD, RESET: the client watches nothing any more. */
export function unwatch(s: { watch: Watch | null }): void {
  s.watch?.end();
  s.watch = null;
}

function fail(req: Request, msg: string): number {
  req.fail(msg);
  return ANSWERED;
}

function answer(req: Request, reply: Buffer): number {
  req.answer(reply);
  return ANSWERED;
}
