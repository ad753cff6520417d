// The coordinator interface (Codis `models.Client`) and the pieces every implementation shares.
//
// A coordinator stores a tree of nodes addressed by absolute slash paths ("/codis3/demo/topom").
// Every node may hold data and children at the same time. Parents are created implicitly.

export type CoordinatorName = 'filesystem' | 'etcd' | 'zookeeper';

/** What went wrong, so callers can branch without parsing messages. */
export type ErrorKind = 'exists' | 'missing' | 'invalid' | 'closed' | 'failed';

export class CoordinatorError extends Error {
  constructor(
    readonly coordinator: CoordinatorName,
    readonly op: string,
    readonly path: string,
    readonly kind: ErrorKind,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${coordinator}: ${op}${path ? ` ${path}` : ''}: ${reason}`, options);
    this.name = 'CoordinatorError';
  }
}

/** An ephemeral node that lives while its owner (this client, its lease or session) lives. */
export interface Ephemeral {
  /** The node's real path (with the sequence number for in-order nodes). */
  readonly path: string;
  /**
   * Settles (never rejects) once the node is no longer ours: deleted or changed by someone else,
   * lease or session lost, or closed. The value says why (null after close()). Jodis re-creates on it.
   */
  readonly lost: Promise<Error | null>;
  /** Deletes the node and stops keeping it alive. */
  close(): Promise<void>;
}

export type Unsubscribe = () => Promise<void>;
export type WatchErrorHandler = (err: Error) => void;

export interface Client {
  readonly name: CoordinatorName;
  /** The address it was created with (root folder for fs). */
  readonly addr: string;

  /** Creates a persistent node (and missing parents); fails with kind 'exists' if it exists. */
  create(path: string, data: Buffer): Promise<void>;
  /** Creates or replaces a node's data. */
  update(path: string, data: Buffer): Promise<void>;
  /** Deletes a node and everything under it; a missing node is fine. */
  delete(path: string): Promise<void>;
  /** The node's data; null when missing, or an error (kind 'missing') when mustExist. */
  read(path: string, mustExist?: boolean): Promise<Buffer | null>;
  /** Full paths of the direct children, sorted by name; [] when missing, or an error when mustExist. */
  list(path: string, mustExist?: boolean): Promise<string[]>;

  /** Creates an ephemeral node; fails with kind 'exists' if it exists. */
  createEphemeral(path: string, data: Buffer): Promise<Ephemeral>;
  /**
   * Creates an ephemeral node named `prefix` + a 10-digit increasing number (ZooKeeper style:
   * `/dir/p-` gives `/dir/p-0000000007`). The prefix is a valid path: its last part is not empty.
   */
  createEphemeralInOrder(prefix: string, data: Buffer): Promise<Ephemeral>;

  /**
   * Calls onChange with the sorted child paths now (before resolving) and after every change.
   * Changes may be coalesced; the same list is never reported twice in a row. A missing node reads as [].
   */
  watchChildren(
    path: string,
    onChange: (children: string[]) => void,
    onError?: WatchErrorHandler,
  ): Promise<Unsubscribe>;
  /** Like watchChildren, for the node's data (null while missing). */
  watchNode(
    path: string,
    onChange: (data: Buffer | null) => void,
    onError?: WatchErrorHandler,
  ): Promise<Unsubscribe>;

  /** Closes ephemerals and watches, then the connection. Idempotent. */
  close(): Promise<void>;
}

/**
 * Checks an absolute node path: no empty, "." or ".." parts, no trailing slash, no NUL.
 * `allowRoot` admits "/" (listing and watching the root). Returns the path unchanged.
 */
export function checkPath(coordinator: CoordinatorName, op: string, path: string, allowRoot = false): string {
  const bad = (why: string) =>
    new CoordinatorError(coordinator, op, path, 'invalid', `invalid path (${why})`);
  if (typeof path !== 'string' || !path.startsWith('/')) throw bad('must start with /');
  if (path === '/') {
    if (allowRoot) return path;
    throw bad('root');
  }
  if (path.includes('\0')) throw bad('NUL');
  for (const part of path.slice(1).split('/')) {
    if (part === '' || part === '.' || part === '..') throw bad(`bad part "${part}"`);
  }
  return path;
}

export function childPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

export function parentPath(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Splits `prefix` of createEphemeralInOrder into (parent, name prefix), validating it. */
export function splitSequentialPrefix(coordinator: CoordinatorName, prefix: string): [string, string] {
  checkPath(coordinator, 'create-in-order', prefix);
  return [parentPath(prefix), baseName(prefix)];
}

export function formatSequence(n: number): string {
  return String(n).padStart(10, '0');
}

/** For stores without sequence nodes: the highest number among `children` named prefix+digits, plus 1. */
export function nextSequence(children: readonly string[], namePrefix: string): number {
  let next = 0;
  for (const child of children) {
    const name = baseName(child);
    const digits = name.slice(namePrefix.length);
    if (name.startsWith(namePrefix) && /^\d{10}$/.test(digits)) next = Math.max(next, Number(digits) + 1);
  }
  return next;
}

/** Parses `user:password` (Codis format); an empty user is an error. */
export function parseAuth(
  coordinator: CoordinatorName,
  auth: string | undefined,
): { user: string; password: string } | undefined {
  if (!auth) return undefined;
  const i = auth.indexOf(':');
  const user = i < 0 ? auth : auth.slice(0, i);
  const password = i < 0 ? '' : auth.slice(i + 1);
  if (!user) throw new CoordinatorError(coordinator, 'auth', '', 'invalid', 'invalid auth');
  return { user, password };
}

export function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export function sameData(a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b);
}

/**
 * Turns "something may have changed" hints into ordered onChange calls: one load at a time, a hint
 * during a load causes one more load, and only real changes are reported. A failed load is reported
 * and retried later, so a transient error does not end the watch (loads also re-arm one-shot watches).
 */
export class ChangeFeed<T> {
  private running = false;
  private again = false;
  private hasLast = false;
  private last: T | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly load: () => Promise<T>,
    private readonly emit: (value: T) => void,
    private readonly equal: (a: T, b: T) => boolean,
    private readonly onError?: WatchErrorHandler,
    private readonly retryMs = 1000,
  ) {}

  /** The first load; its error goes to the caller of watch*(), not to onError. */
  async start(): Promise<void> {
    this.running = true;
    try {
      this.deliver(await this.load());
    } catch (err) {
      this.close();
      throw err;
    } finally {
      this.running = false;
    }
    if (this.again) this.trigger();
  }

  trigger(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    void this.run();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      do {
        this.again = false;
        const value = await this.load();
        if (this.closed) return;
        this.deliver(value);
      } while (this.again && !this.closed);
    } catch (err) {
      if (this.closed) return;
      this.report(err);
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.trigger(), this.retryMs);
      this.retryTimer.unref();
    } finally {
      this.running = false;
    }
  }

  private deliver(value: T): void {
    if (this.hasLast && this.equal(this.last as T, value)) return;
    this.hasLast = true;
    this.last = value;
    try {
      this.emit(value);
    } catch (err) {
      this.report(err); // a throwing callback must not end the watch
    }
  }

  private report(err: unknown): void {
    this.onError?.(err instanceof Error ? err : new Error(String(err)));
  }
}

/** A promise plus its resolver, for Ephemeral.lost. */
export function lostSignal(): { promise: Promise<Error | null>; settle: (why: Error | null) => void } {
  let settle!: (why: Error | null) => void;
  const promise = new Promise<Error | null>((resolve) => (settle = resolve));
  return { promise, settle };
}
