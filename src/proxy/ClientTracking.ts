/**
 * One client's CLIENT TRACKING: its mode (default, BCAST with prefixes, OPTIN/OPTOUT), the keys
 * it read since they last changed, and the invalidation messages it gets (Invalidations.ts
 * learns of the changes). Messages go as Redis sends them: RESP3 `invalidate` pushes in turn with
 * the replies, or `__redis__:invalidate` pub/sub messages to the client named by REDIRECT.
 *
 * A key is remembered when the command that reads it arrives, and again when its reply goes
 * out: a change reported while the read was on its way could otherwise leave the value the client
 * then caches untracked. NOLOOP is accepted, but a client still hears of its own writes (the
 * servers report writes without saying whose they were): an extra invalidation is only a miss.
 */
import { type CommandInfo } from './commands/CommandInfo.js';
import { collectKeys, lookupSub } from './commands/Mapper.js';
import type { Tracker, Invalidations } from './Invalidations.js';
import type { SessionState } from './LocalCommands.js';
import type { Request } from './Request.js';

/** Commands whose declared keys are remembered: the reads, and scripts (which may read them). */
const SCRIPTS = new Set(['EVAL', 'EVALSHA', 'EVAL_RO', 'EVALSHA_RO', 'FCALL', 'FCALL_RO']);
const reads = new WeakMap<CommandInfo, boolean>();

function isRead(info: CommandInfo): boolean {
  let r = reads.get(info);
  if (r === undefined) {
    r = SCRIPTS.has(info.name) || info.spec?.flags.includes('readonly') === true;
    reads.set(info, r);
  }
  return r;
}

const keyScratch: number[] = [];

/** The keys a command reads (latin1, one character per byte), or null when it reads none. */
function readKeys(info: CommandInfo, args: readonly Buffer[]): string[] | null {
  const e = info.subcommands !== undefined && args.length > 1 ? lookupSub(info, args[1]!) : info;
  if (e === undefined || !isRead(e)) return null;
  const n = collectKeys(info, args, keyScratch);
  if (n <= 0) return null;
  const keys: string[] = [];
  for (let i = 0; i < n; i++) keys.push(args[keyScratch[i]!]!.toString('latin1'));
  return keys;
}

export interface TrackingMode {
  bcast: boolean;
  optin: boolean;
  optout: boolean;
  noloop: boolean;
  /** The client id the messages go to (0: this client), and that client. */
  redirect: number;
  target: SessionState | null;
  prefixes: Buffer[];
}

const PUSH = Buffer.from('>2\r\n$10\r\ninvalidate\r\n');
const MESSAGE = Buffer.from('*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n');

/** p against key[0, p.length), without a view of it. */
function hasPrefix(key: Buffer, p: Buffer): boolean {
  return p.length <= key.length && p.compare(key, 0, p.length) === 0;
}

/** The keys as a RESP array, or a null (`_` in RESP3, `$-1` in a RESP2 message) for "all". */
function keysPart(keys: Buffer[] | null, proto: 2 | 3): Buffer {
  if (keys === null) return Buffer.from(proto === 3 ? '_\r\n' : '$-1\r\n');
  const parts: Buffer[] = [Buffer.from(`*${keys.length}\r\n`)];
  for (const k of keys) parts.push(Buffer.from(`$${k.length}\r\n`), k, Buffer.from('\r\n'));
  return Buffer.concat(parts);
}

export class ClientTracking implements Tracker {
  bcast = false;
  optin = false;
  optout = false;
  noloop = false;
  redirect = 0;
  /** BCAST prefixes (one empty prefix: every key). */
  prefixes: Buffer[] = [];
  /** CLIENT CACHING yes (OPTIN) or no (OPTOUT), for the next command. */
  caching = false;
  /** Told to drop everything, and has read nothing since (a flushed product reports it once per group). */
  private flushed = false;
  /** The REDIRECT client is gone. */
  brokenRedirect = false;
  /** The client the messages go to (REDIRECT), found when tracking was turned on. */
  target: SessionState | null = null;
  /** Settles once every primary reports its changes. */
  enabled: Promise<void> = Promise.resolve();
  private confirmed = false;
  /** Keys it read before the servers reported to the proxy: dropped from its cache at once. */
  private early: string[] = [];
  private readonly keys = new Set<string>();
  /** Reads on their way, with their keys, remembered again when answered. */
  private readonly inflight = new Map<Request, string[]>();
  /** Keys read by the commands queued since MULTI, remembered again when EXEC is answered. */
  private txReads: string[] = [];

  constructor(
    private readonly client: SessionState,
    private readonly hub: Invalidations,
  ) {}

  /** Starts reporting to the hub; fails, naming the server, when one cannot report. */
  start(): Promise<void> {
    this.enabled = this.hub.add(this).then(() => {
      this.confirmed = true;
      const early = this.early;
      this.early = [];
      if (early.length > 0 && this.client.tracking === this) {
        for (const k of early) this.forget(k);
        this.invalidate(early.map((k) => Buffer.from(k, 'latin1')));
      }
    });
    return this.enabled;
  }

  /** CLIENT TRACKING OFF, RESET, or the client left. */
  stop(): void {
    this.hub.remove(this, this.keys);
    this.keys.clear();
    this.inflight.clear();
    this.txReads = [];
  }

  /**
   * A command arrived (`queued` inside MULTI): remember the keys it reads, as the mode says. It
   * reads from the primary: the changes are reported there, and a replica may not have one yet
   * when its report comes, so a value read from it could be cached stale with nothing to follow.
   */
  onCommand(req: Request, info: CommandInfo, queued: boolean): void {
    req.primaryOnly = true;
    if (!this.bcast && (this.optin ? this.caching : !(this.optout && this.caching))) {
      const keys = readKeys(info, req.args);
      if (keys !== null) {
        for (const k of keys) this.remember(k);
        if (!this.confirmed) this.early.push(...keys);
        if (queued) this.txReads.push(...keys);
        else this.inflight.set(req, keys);
      }
    }
    const name = info.name;
    if (name === 'EXEC' && this.txReads.length > 0) {
      this.inflight.set(req, this.txReads);
      this.txReads = [];
    } else if (name === 'DISCARD') {
      this.txReads = [];
    }
    // As Redis: CACHING holds for the next command, or the transaction it opens.
    if (!queued && name !== 'CLIENT' && name !== 'MULTI') this.caching = false;
  }

  /** The reply to `req` is going out. */
  replied(req: Request): void {
    const keys = this.inflight.get(req);
    if (keys === undefined) return;
    this.inflight.delete(req);
    for (const k of keys) this.remember(k);
  }

  private remember(k: string): void {
    this.flushed = false;
    if (this.hub.remember(this, k)) this.keys.add(k);
  }

  private forget(k: string): void {
    this.keys.delete(k);
    this.hub.forget(k, this);
  }

  matches(key: Buffer): boolean {
    for (const p of this.prefixes) if (hasPrefix(key, p)) return true;
    return false;
  }

  invalidate(keys: Buffer[] | null): void {
    if (keys === null) {
      // Not tracking yet: what it read meanwhile is dropped once it does (`early`).
      if (!this.confirmed) return;
      // A BCAST client may have cached what it read since without the proxy knowing.
      if (this.flushed && !this.bcast) return;
      this.flushed = true;
      this.keys.clear();
    } else for (const k of keys) this.keys.delete(k.toString('latin1'));
    const me = this.client;
    let to = me;
    if (this.redirect !== 0) {
      if (this.target === null || this.target.closed) {
        this.brokenRedirect = true;
        if (me.proto === 3)
          me.deliver(Buffer.from(`>2\r\n$21\r\ntracking-redir-broken\r\n:${this.redirect}\r\n`));
        return;
      }
      to = this.target;
    }
    // RESP2 has no pushes: only a client redirected to, and subscribed, gets a message.
    if (to.proto === 2 && (to === me || !to.subscribed)) return;
    const head = to.proto === 3 ? PUSH : MESSAGE;
    if (keys === null) return to.deliver(Buffer.concat([head, keysPart(null, to.proto)]));
    if (!this.bcast) {
      // Redis sends each key read in default mode in a message of its own.
      for (const k of keys) to.deliver(Buffer.concat([head, keysPart([k], to.proto)]));
      return;
    }
    // A BCAST batch: one message per prefix the keys fall under, prefixes in byte order, as Redis.
    for (const p of [...this.prefixes].sort(Buffer.compare)) {
      const under = keys.filter((k) => hasPrefix(k, p));
      if (under.length > 0) to.deliver(Buffer.concat([head, keysPart(under, to.proto)]));
    }
  }
}
