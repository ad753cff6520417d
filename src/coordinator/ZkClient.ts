// ZooKeeper coordinator (node-zookeeper-client, pure JS).
//
// Parents are created on demand with empty data. Every node gets ALL permissions for the digest user
// (`auth` = "user:password") or for anyone: Codis gave leaves ADMIN|READ|WRITE only, which forbids
// children under a node that holds data, and our contract allows both.
// The library's removeRecursive() only sees depth 1 with async 3, so delete walks the tree itself.
// The session timeout is the timeout argument (default 5 s; the server clamps it to 2..20 ticks).
// The connection, its sessions and the time limits of calls are ZkSession's; this client reports
// the ephemerals lost when a session is, and re-arms watches on every (re)connect.

import { createHash } from 'node:crypto';
import zookeeper from 'node-zookeeper-client';
import {
  ChangeFeed,
  CoordinatorError,
  checkPath,
  childPath,
  lostSignal,
  parentPath,
  parseAuth,
  sameData,
  sameList,
  type Client,
  type Ephemeral,
  type Unsubscribe,
  type WatchErrorHandler,
} from './Client.js';
import { ZkSession } from './ZkSession.js';

const { Exception, CreateMode } = zookeeper;

function zkCode(err: unknown): number | undefined {
  return err instanceof Exception ? err.getCode() : undefined;
}

export class ZkClient implements Client {
  readonly name = 'zookeeper' as const;
  readonly timeoutMs: number;
  private readonly session: ZkSession;
  private readonly acls: zookeeper.ACL[];
  private readonly ephemerals = new Map<Ephemeral, (why: Error) => void>();
  private readonly feeds = new Set<ChangeFeed<unknown>>();
  private closed = false;

  constructor(
    readonly addr: string,
    auth?: string,
    timeoutMs = 5000,
  ) {
    this.timeoutMs = timeoutMs > 0 ? timeoutMs : 5000;
    const credentials = parseAuth(this.name, auth);
    const { ACL, Id, Permission } = zookeeper;
    let authInfo: Buffer | undefined;
    if (credentials) {
      const secret = `${credentials.user}:${credentials.password}`;
      const digest = createHash('sha1').update(secret).digest('base64');
      this.acls = [new ACL(Permission.ALL, new Id('digest', `${credentials.user}:${digest}`))];
      authInfo = Buffer.from(secret);
    } else {
      this.acls = [new ACL(Permission.ALL, new Id('world', 'anyone'))];
    }
    this.session = new ZkSession(addr, this.timeoutMs, authInfo, {
      connected: () => this.feeds.forEach((f) => f.trigger()),
      lost: (why) => this.loseEphemerals(why),
    });
  }

  private loseEphemerals(why: string): void {
    for (const [handle, lose] of this.ephemerals) {
      this.ephemerals.delete(handle);
      lose(new CoordinatorError(this.name, 'ephemeral', handle.path, 'failed', why));
    }
  }

  private fail(op: string, path: string, err: unknown): CoordinatorError {
    if (err instanceof CoordinatorError) return err;
    const code = zkCode(err);
    const kind =
      code === Exception.NODE_EXISTS ? 'exists' : code === Exception.NO_NODE ? 'missing' : 'failed';
    const reason =
      err instanceof Exception ? err.getName() : err instanceof Error ? err.message : String(err);
    return new CoordinatorError(this.name, op, path, kind, reason, { cause: err });
  }

  /** Checks the path, refuses work once closed, and turns library errors into errors naming the path. */
  private async run<T>(op: string, path: string, fn: () => Promise<T>, allowRoot = false): Promise<T> {
    if (this.closed) throw new CoordinatorError(this.name, op, path, 'closed', 'client is closed');
    checkPath(this.name, op, path, allowRoot);
    try {
      return await fn();
    } catch (err) {
      throw this.fail(op, path, err);
    }
  }

  private mkdirp(path: string): Promise<unknown> {
    if (path === '/') return Promise.resolve();
    return this.session.call<string>((zk, cb) => zk.mkdirp(path, this.acls, cb));
  }

  /** Creates a node after its parents; retries when a concurrent delete removed a parent. */
  private async createNode(path: string, data: Buffer, mode: number): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      await this.mkdirp(parentPath(path));
      try {
        return await this.session.call<string>((zk, cb) => zk.create(path, data, this.acls, mode, cb));
      } catch (err) {
        if (zkCode(err) !== Exception.NO_NODE || attempt >= 3) throw err;
      }
    }
  }

  create(path: string, data: Buffer): Promise<void> {
    return this.run(
      'create',
      path,
      async () => void (await this.createNode(path, data, CreateMode.PERSISTENT)),
    );
  }

  update(path: string, data: Buffer): Promise<void> {
    return this.run('update', path, async () => {
      for (;;) {
        try {
          await this.session.call((zk, cb) => zk.setData(path, data, -1, cb));
          return;
        } catch (err) {
          if (zkCode(err) !== Exception.NO_NODE) throw err;
        }
        try {
          await this.createNode(path, data, CreateMode.PERSISTENT);
          return;
        } catch (err) {
          if (zkCode(err) !== Exception.NODE_EXISTS) throw err; // created meanwhile: set it
        }
      }
    });
  }

  delete(path: string): Promise<void> {
    return this.run('delete', path, () => this.removeTree(path));
  }

  private async removeTree(path: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      let children: string[];
      try {
        children = await this.session.call<string[]>((zk, cb) => zk.getChildren(path, cb));
      } catch (err) {
        if (zkCode(err) === Exception.NO_NODE) return;
        throw err;
      }
      await Promise.all(children.map((name) => this.removeTree(childPath(path, name))));
      try {
        await this.session.call((zk, cb) => zk.remove(path, -1, cb));
        return;
      } catch (err) {
        if (zkCode(err) === Exception.NO_NODE) return;
        if (zkCode(err) !== Exception.NOT_EMPTY || attempt >= 5) throw err; // a child appeared: again
      }
    }
  }

  read(path: string, mustExist = false): Promise<Buffer | null> {
    return this.run('read', path, async () => {
      try {
        // The library gives null for a node without data; report it as empty data.
        return (await this.session.call<Buffer | null>((zk, cb) => zk.getData(path, cb))) ?? Buffer.alloc(0);
      } catch (err) {
        if (zkCode(err) !== Exception.NO_NODE || mustExist) throw err;
        return null;
      }
    });
  }

  list(path: string, mustExist = false): Promise<string[]> {
    return this.run('list', path, () => this.children(path, mustExist), true);
  }

  private async children(path: string, mustExist: boolean, watcher?: () => void): Promise<string[]> {
    try {
      const names = await this.session.call<string[]>((zk, cb) =>
        watcher ? zk.getChildren(path, watcher, cb) : zk.getChildren(path, cb),
      );
      return names.sort().map((name) => childPath(path, name));
    } catch (err) {
      if (zkCode(err) !== Exception.NO_NODE || mustExist) throw err;
      return [];
    }
  }

  createEphemeral(path: string, data: Buffer): Promise<Ephemeral> {
    return this.run('create-ephemeral', path, () => this.ephemeral(path, data, CreateMode.EPHEMERAL));
  }

  createEphemeralInOrder(prefix: string, data: Buffer): Promise<Ephemeral> {
    // ZooKeeper appends the 10-digit sequence itself.
    return this.run('create-in-order', prefix, () =>
      this.ephemeral(prefix, data, CreateMode.EPHEMERAL_SEQUENTIAL),
    );
  }

  private async ephemeral(path: string, data: Buffer, mode: number): Promise<Ephemeral> {
    const real = await this.createNode(path, data, mode);
    const lost = lostSignal();
    const handle: Ephemeral = {
      path: real,
      lost: lost.promise,
      close: async () => {
        if (!this.ephemerals.delete(handle)) return;
        lost.settle(null);
        await this.session.call((zk, cb) => zk.remove(real, -1, cb)).catch(() => undefined);
      },
    };
    this.ephemerals.set(handle, lost.settle);
    // A one-shot data watch: any change or delete means the node is not ours any more (as Codis GetW).
    const gone = () => {
      if (!this.ephemerals.delete(handle)) return;
      lost.settle(
        new CoordinatorError(this.name, 'ephemeral', real, 'missing', 'node was deleted or changed'),
      );
    };
    await this.session.call((zk, cb) => zk.getData(real, gone, cb)).catch(gone);
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
      () => {
        const feed: ChangeFeed<string[]> = new ChangeFeed(
          () => this.existing(path, () => this.children(path, true, hint), [] as string[], hint),
          onChange,
          sameList,
          onError,
        );
        const hint = () => feed.trigger();
        return this.watch(feed);
      },
      true,
    );
  }

  watchNode(
    path: string,
    onChange: (data: Buffer | null) => void,
    onError?: WatchErrorHandler,
  ): Promise<Unsubscribe> {
    return this.run('watch-node', path, () => {
      const feed: ChangeFeed<Buffer | null> = new ChangeFeed(
        () =>
          this.existing<Buffer | null>(
            path,
            async () =>
              (await this.session.call<Buffer | null>((zk, cb) => zk.getData(path, hint, cb))) ??
              Buffer.alloc(0),
            null,
            hint,
          ),
        onChange,
        sameData,
        onError,
      );
      const hint = () => feed.trigger();
      return this.watch(feed);
    });
  }

  /**
   * Reads a node with a watch; while it is missing, sets an existence watch instead (so its creation
   * is seen) and returns `missing`. Loops if it was created between the two calls.
   */
  private async existing<T>(
    path: string,
    get: () => Promise<T>,
    missing: T,
    watcher: () => void,
  ): Promise<T> {
    for (;;) {
      try {
        return await get();
      } catch (err) {
        if (zkCode(err) !== Exception.NO_NODE) throw err;
      }
      const stat = await this.session.call<zookeeper.Stat | null>((zk, cb) => zk.exists(path, watcher, cb));
      if (!stat) return missing;
    }
  }

  private async watch<T>(feed: ChangeFeed<T>): Promise<Unsubscribe> {
    await feed.start();
    const entry = feed as ChangeFeed<unknown>;
    this.feeds.add(entry);
    return async () => {
      this.feeds.delete(entry);
      feed.close();
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.all([...this.ephemerals.keys()].map((e) => e.close()));
    this.feeds.forEach((f) => f.close());
    this.feeds.clear();
    this.closed = true;
    await this.session.close();
  }
}
