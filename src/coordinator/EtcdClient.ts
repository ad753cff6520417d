// etcd coordinator over the v3 API (Codis used v2, which etcd 3.4 disables and 3.6 removes).
//
// A node is the key equal to its path; children are derived from the keys under `path + "/"`,
// so "directories" need no key of their own (list shows every first-level name under the prefix).
// create = txn "createRevision == 0"; ephemerals = keys attached to a lease with keep-alive
// (TTL = the timeout, at least 1 s; etcd raises it to its minimum, about 2 s); every unary call
// has a deadline of the timeout.

import { circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleWhen } from 'cockatiel';
import { Etcd3, isRecoverableError, type IOptions, type Lease, type Watcher } from 'etcd3';
import {
  ChangeFeed,
  CoordinatorError,
  checkPath,
  childPath,
  formatSequence,
  lostSignal,
  nextSequence,
  parseAuth,
  sameData,
  sameList,
  splitSequentialPrefix,
  type Client,
  type Ephemeral,
  type Unsubscribe,
  type WatchErrorHandler,
} from './Client.js';

/**
 * Longest wait, once etcd is reachable again, before the client uses it: between two tries to
 * re-open a watch stream, and before a member taken out after 3 failed calls is tried again.
 */
const ETCD_RETRY_MAX_MS = 2000;

/** `a:2379,http://b:2379` → full URLs (Codis adds http:// when missing). */
export function etcdHosts(addr: string): string[] {
  const hosts = addr
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean)
    .map((h) => (/^https?:\/\//.test(h) ? h : `http://${h}`));
  if (!hosts.length) throw new CoordinatorError('etcd', 'open', '', 'invalid', `invalid address "${addr}"`);
  return hosts;
}

export class EtcdClient implements Client {
  readonly name = 'etcd' as const;
  private readonly etcd: Etcd3;
  private readonly ttlSeconds: number;
  private readonly ephemerals = new Set<Ephemeral>();
  private readonly watches = new Set<Unsubscribe>();
  private closed = false;

  constructor(
    readonly addr: string,
    auth?: string,
    readonly timeoutMs = 5000,
  ) {
    if (!(timeoutMs > 0)) this.timeoutMs = 5000;
    const credentials = parseAuth(this.name, auth);
    const options: IOptions = {
      hosts: etcdHosts(addr),
      dialTimeout: this.timeoutMs,
      // Streams (watch, lease keep-alive) must live on; unary calls get the Codis-style deadline.
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + this.timeoutMs }),
      // The library's defaults (watch backoff up to 30 s, a failing member out for 5 s) would leave a
      // proxy or dashboard blind to topology changes that long after the network came back.
      faultHandling: {
        // etcd3 takes a backoff in its first state (it calls next() itself after each failure).
        watchBackoff: new ExponentialBackoff({ maxDelay: ETCD_RETRY_MAX_MS }).next(),
        host: () =>
          circuitBreaker(handleWhen(isRecoverableError), {
            halfOpenAfter: ETCD_RETRY_MAX_MS,
            breaker: new ConsecutiveBreaker(3),
          }),
      },
    };
    if (credentials) options.auth = { username: credentials.user, password: credentials.password };
    this.etcd = new Etcd3(options);
    this.ttlSeconds = Math.max(1, Math.ceil(this.timeoutMs / 1000));
  }

  private check(op: string, path: string, allowRoot = false): void {
    if (this.closed) throw new CoordinatorError(this.name, op, path, 'closed', 'client is closed');
    checkPath(this.name, op, path, allowRoot);
  }

  /** Runs an operation, turning library errors into errors that name the path. */
  private async run<T>(op: string, path: string, fn: () => Promise<T>, allowRoot = false): Promise<T> {
    this.check(op, path, allowRoot);
    try {
      return await fn();
    } catch (err) {
      if (err instanceof CoordinatorError) throw err;
      const reason = err instanceof Error ? err.message : String(err);
      throw new CoordinatorError(this.name, op, path, 'failed', reason, { cause: err });
    }
  }

  /** Puts only if the key does not exist; returns the revision of the put. */
  private async putIfAbsent(op: string, path: string, data: Buffer, lease?: string): Promise<string> {
    const put = this.etcd.put(path).value(data);
    if (lease) put.lease(lease);
    const res = await this.etcd.if(path, 'Create', '==', 0).then(put).commit();
    if (!res.succeeded) throw new CoordinatorError(this.name, op, path, 'exists', 'node already exists');
    return res.header.revision;
  }

  create(path: string, data: Buffer): Promise<void> {
    return this.run('create', path, async () => void (await this.putIfAbsent('create', path, data)));
  }

  update(path: string, data: Buffer): Promise<void> {
    return this.run('update', path, async () => void (await this.etcd.put(path).value(data)));
  }

  delete(path: string): Promise<void> {
    return this.run('delete', path, async () => {
      // Children first: a crash in between leaves the node, never orphans under a deleted node.
      await this.etcd.delete().prefix(`${path}/`);
      await this.etcd.delete().key(path);
    });
  }

  read(path: string, mustExist = false): Promise<Buffer | null> {
    return this.run('read', path, async () => {
      const data = await this.etcd.get(path).buffer();
      if (data === null && mustExist)
        throw new CoordinatorError(this.name, 'read', path, 'missing', 'node does not exist');
      return data;
    });
  }

  list(path: string, mustExist = false): Promise<string[]> {
    return this.run(
      'list',
      path,
      async () => {
        const prefix = path === '/' ? '/' : `${path}/`;
        const keys = await this.etcd.getAll().prefix(prefix).keys();
        const names = new Set<string>();
        for (const key of keys) {
          const name = key.slice(prefix.length).split('/', 1)[0];
          if (name) names.add(name);
        }
        if (!names.size && mustExist && !(await this.etcd.get(path).exists()))
          throw new CoordinatorError(this.name, 'list', path, 'missing', 'node does not exist');
        return [...names].sort().map((name) => childPath(path, name));
      },
      true,
    );
  }

  createEphemeral(path: string, data: Buffer): Promise<Ephemeral> {
    return this.run('create-ephemeral', path, () => this.ephemeral('create-ephemeral', path, data));
  }

  async createEphemeralInOrder(prefix: string, data: Buffer): Promise<Ephemeral> {
    const [parent, namePrefix] = splitSequentialPrefix(this.name, prefix);
    // etcd has no sequence nodes: take the highest existing number + 1 and retry on a race.
    for (let seq = nextSequence(await this.list(parent), namePrefix); ; seq++) {
      try {
        return await this.createEphemeral(`${prefix}${formatSequence(seq)}`, data);
      } catch (err) {
        if (!(err instanceof CoordinatorError && err.kind === 'exists')) throw err;
      }
    }
  }

  private async ephemeral(op: string, path: string, data: Buffer): Promise<Ephemeral> {
    const lease: Lease = this.etcd.lease(this.ttlSeconds, { autoKeepAlive: true });
    const lost = lostSignal();
    lease.on('lost', (err) =>
      lost.settle(new CoordinatorError(this.name, 'ephemeral', path, 'failed', err.message)),
    );
    let watcher: Watcher | undefined;
    let revision: string;
    try {
      revision = await this.putIfAbsent(op, path, data, await lease.grant());
      // Watch from just after our put: any later put or delete of the key means it is not ours any more.
      watcher = await this.etcd
        .watch()
        .key(path)
        .startRevision(String(BigInt(revision) + 1n))
        .create();
    } catch (err) {
      await lease.revoke().catch(() => undefined);
      throw err;
    }
    const gone = () =>
      lost.settle(
        new CoordinatorError(this.name, 'ephemeral', path, 'missing', 'node was deleted or changed'),
      );
    watcher.on('put', gone).on('delete', gone);
    // A cancelled watch (e.g. compaction) means we can no longer tell: report it as lost.
    watcher.on('error', (err) =>
      lost.settle(new CoordinatorError(this.name, 'ephemeral', path, 'failed', err.message)),
    );
    void lost.promise.then(() => watcher?.cancel().catch(() => undefined));
    const handle: Ephemeral = {
      path,
      lost: lost.promise,
      close: async () => {
        if (!this.ephemerals.delete(handle)) return;
        lost.settle(null);
        await watcher?.cancel().catch(() => undefined);
        // Revoking deletes the key; if the lease is already gone, delete the key only if it is still ours.
        await lease.revoke().catch(async () => {
          await this.etcd
            .if(path, 'Create', '==', revision)
            .then(this.etcd.delete().key(path))
            .commit()
            .catch(() => undefined);
        });
      },
    };
    this.ephemerals.add(handle);
    return handle;
  }

  watchChildren(
    path: string,
    onChange: (children: string[]) => void,
    onError?: WatchErrorHandler,
  ): Promise<Unsubscribe> {
    return this.run(
      'watch-children',
      path,
      () =>
        this.watch(
          path === '/' ? '/' : `${path}/`,
          true,
          new ChangeFeed(() => this.list(path), onChange, sameList, onError),
          onError,
        ),
      true,
    );
  }

  watchNode(
    path: string,
    onChange: (data: Buffer | null) => void,
    onError?: WatchErrorHandler,
  ): Promise<Unsubscribe> {
    return this.run('watch-node', path, () =>
      this.watch(path, false, new ChangeFeed(() => this.read(path), onChange, sameData, onError), onError),
    );
  }

  /** An etcd watch whose events (and reconnects) make the feed re-read the current state. */
  private async watch<T>(
    key: string,
    prefix: boolean,
    feed: ChangeFeed<T>,
    onError?: WatchErrorHandler,
  ): Promise<Unsubscribe> {
    const builder = this.etcd.watch();
    const watcher = await (prefix ? builder.prefix(key) : builder.key(key)).create();
    const hint = () => feed.trigger();
    watcher.on('put', hint).on('delete', hint).on('connected', hint);
    watcher.on('error', (err) => onError?.(err));
    const unsubscribe: Unsubscribe = async () => {
      this.watches.delete(unsubscribe);
      feed.close();
      await watcher.cancel().catch(() => undefined);
    };
    try {
      await feed.start();
    } catch (err) {
      await unsubscribe();
      throw err;
    }
    this.watches.add(unsubscribe);
    return unsubscribe;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.all([...this.ephemerals].map((e) => e.close()));
    await Promise.all([...this.watches].map((u) => u()));
    this.closed = true;
    this.etcd.close();
  }
}
