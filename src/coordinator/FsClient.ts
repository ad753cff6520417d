// Filesystem coordinator: single host, embedded default (Codis `fs`), now with ephemerals and watches.
//
// Layout: node `/a/b` is the directory `<root>/a/b/`; its data, when it has any, is the file
// `<root>/a/b/.data`; its children are the sub-directories. So a node can hold data and children,
// `cat <root>/codis3/demo/topom/.data` shows the lock, and a recursive delete is `rm -rf`.
// Names starting with "." are reserved (never nodes). Temp files live in `<root>/.tmp/` (same
// filesystem, so rename/link are atomic).
//
// Writes: data goes to a temp file (fsynced), then `rename` (update) or `link` (create: fails with
// EEXIST, so two dashboards cannot both take the lock, and readers never see a half-written file).
// Ephemerals are removed by close() and, best effort, at process exit; after a crash (SIGKILL) they
// stay behind, as nothing can notice that their owner died: use etcd or zookeeper for Jodis.
// Watches use fs.watch (inotify) for speed plus a poll timer, which also re-arms a watcher whose
// directory was deleted and re-created.

import { watch as fsWatch, rmSync, statSync, type FSWatcher } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as nodePath from 'node:path';
import {
  ChangeFeed,
  CoordinatorError,
  checkPath,
  childPath,
  formatSequence,
  lostSignal,
  nextSequence,
  sameData,
  sameList,
  splitSequentialPrefix,
  type Client,
  type Ephemeral,
  type Unsubscribe,
  type WatchErrorHandler,
} from './Client.js';

const DATA_FILE = '.data';
const TEMP_DIR = '.tmp';

let tempCounter = 0;

// Ephemeral node directories of every open client, removed at process exit (one hook for all).
const ephemeralDirs = new Set<string>();
process.on('exit', () => ephemeralDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

export interface FsClientOptions {
  /** Poll interval of watches (the safety net under fs.watch). */
  pollMs?: number;
}

export class FsClient implements Client {
  readonly name = 'filesystem' as const;
  private readonly pollMs: number;
  private readonly ephemerals = new Set<Ephemeral>();
  private readonly feeds = new Set<() => void>();
  private closed = false;

  constructor(
    readonly addr: string,
    options: FsClientOptions = {},
  ) {
    if (!addr) throw new CoordinatorError('filesystem', 'open', '', 'invalid', 'empty root directory');
    this.pollMs = options.pollMs ?? 500;
  }

  private dir(path: string): string {
    return path === '/' ? this.addr : nodePath.join(this.addr, ...path.slice(1).split('/'));
  }

  private dataFile(path: string): string {
    return nodePath.join(this.dir(path), DATA_FILE);
  }

  private check(op: string, path: string, allowRoot = false): string {
    if (this.closed) throw new CoordinatorError(this.name, op, path, 'closed', 'client is closed');
    checkPath(this.name, op, path, allowRoot);
    if (path.split('/').some((p) => p.startsWith('.')))
      throw new CoordinatorError(
        this.name,
        op,
        path,
        'invalid',
        'invalid path (names starting with "." are reserved)',
      );
    return path;
  }

  private fail(op: string, path: string, err: unknown): CoordinatorError {
    if (err instanceof CoordinatorError) return err;
    const reason = err instanceof Error ? err.message : String(err);
    return new CoordinatorError(this.name, op, path, 'failed', reason, { cause: err });
  }

  /** Writes data to a fresh fsynced temp file and returns its name. */
  private async writeTemp(data: Buffer): Promise<string> {
    const dir = nodePath.join(this.addr, TEMP_DIR);
    await fs.mkdir(dir, { recursive: true });
    const tmp = nodePath.join(dir, `${process.pid}.${++tempCounter}.${Date.now()}`);
    const fh = await fs.open(tmp, 'wx');
    try {
      await fh.writeFile(data);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    return tmp;
  }

  /**
   * Moves a temp file into place: `link` fails if the node exists (create), `rename` replaces.
   * Retries when a concurrent delete removed the node's directory between mkdir and the move.
   */
  private async place(op: string, path: string, data: Buffer, exclusive: boolean): Promise<void> {
    const tmp = await this.writeTemp(data);
    try {
      for (let attempt = 0; ; attempt++) {
        await fs.mkdir(this.dir(path), { recursive: true });
        try {
          if (exclusive) await fs.link(tmp, this.dataFile(path));
          else await fs.rename(tmp, this.dataFile(path));
          return;
        } catch (err) {
          if (errno(err) === 'EEXIST' && exclusive)
            throw new CoordinatorError(this.name, op, path, 'exists', 'node already exists');
          if (errno(err) !== 'ENOENT' || attempt >= 3) throw err;
        }
      }
    } finally {
      await fs.rm(tmp, { force: true }); // a no-op after a successful rename
    }
  }

  async create(path: string, data: Buffer): Promise<void> {
    this.check('create', path);
    try {
      await this.place('create', path, data, true);
    } catch (err) {
      throw this.fail('create', path, err);
    }
  }

  async update(path: string, data: Buffer): Promise<void> {
    this.check('update', path);
    try {
      await this.place('update', path, data, false);
    } catch (err) {
      throw this.fail('update', path, err);
    }
  }

  async delete(path: string): Promise<void> {
    this.check('delete', path);
    try {
      await fs.rm(this.dir(path), { recursive: true, force: true });
    } catch (err) {
      throw this.fail('delete', path, err);
    }
  }

  async read(path: string, mustExist = false): Promise<Buffer | null> {
    this.check('read', path);
    try {
      return await fs.readFile(this.dataFile(path));
    } catch (err) {
      if (errno(err) !== 'ENOENT' && errno(err) !== 'ENOTDIR') throw this.fail('read', path, err);
      if (mustExist) throw new CoordinatorError(this.name, 'read', path, 'missing', 'node does not exist');
      return null;
    }
  }

  async list(path: string, mustExist = false): Promise<string[]> {
    this.check('list', path, true);
    try {
      const entries = await fs.readdir(this.dir(path), { withFileTypes: true });
      return entries
        .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
        .map((e) => e.name)
        .sort()
        .map((name) => childPath(path, name));
    } catch (err) {
      if (errno(err) !== 'ENOENT' && errno(err) !== 'ENOTDIR') throw this.fail('list', path, err);
      if (mustExist) throw new CoordinatorError(this.name, 'list', path, 'missing', 'node does not exist');
      return [];
    }
  }

  async createEphemeral(path: string, data: Buffer): Promise<Ephemeral> {
    await this.create(path, data);
    return this.track(path, data);
  }

  async createEphemeralInOrder(prefix: string, data: Buffer): Promise<Ephemeral> {
    const [parent, namePrefix] = splitSequentialPrefix(this.name, prefix);
    this.check('create-in-order', parent, true);
    // A race with another creator just moves on to the next number.
    for (let seq = nextSequence(await this.list(parent), namePrefix); ; seq++) {
      const path = `${prefix}${formatSequence(seq)}`;
      try {
        await this.create(path, data);
        return this.track(path, data);
      } catch (err) {
        if (!(err instanceof CoordinatorError && err.kind === 'exists')) throw err;
      }
    }
  }

  /** Keeps an ephemeral's handle: lost when its data changes or it disappears, removed on close. */
  private async track(path: string, data: Buffer): Promise<Ephemeral> {
    const lost = lostSignal();
    const dir = this.dir(path);
    const forget = () => this.ephemerals.delete(handle) && ephemeralDirs.delete(dir);
    const handle: Ephemeral = {
      path,
      lost: lost.promise,
      close: async () => {
        if (!forget()) return;
        lost.settle(null);
        await fs.rm(dir, { recursive: true, force: true });
      },
    };
    this.ephemerals.add(handle);
    ephemeralDirs.add(dir);
    const unwatch = await this.watchNode(path, (now) => {
      if (sameData(now, data)) return;
      forget();
      lost.settle(
        new CoordinatorError(this.name, 'ephemeral', path, 'missing', 'node was deleted or changed'),
      );
    });
    void lost.promise.then(unwatch); // whatever ended it, stop watching
    return handle;
  }

  async watchChildren(
    path: string,
    onChange: (children: string[]) => void,
    onError?: WatchErrorHandler,
  ): Promise<Unsubscribe> {
    this.check('watch-children', path, true);
    return this.watchDir(path, new ChangeFeed(() => this.list(path), onChange, sameList, onError));
  }

  async watchNode(
    path: string,
    onChange: (data: Buffer | null) => void,
    onError?: WatchErrorHandler,
  ): Promise<Unsubscribe> {
    this.check('watch-node', path);
    return this.watchDir(path, new ChangeFeed(() => this.read(path), onChange, sameData, onError));
  }

  /**
   * Feeds hints from fs.watch and from a poll timer. fs.watch follows the node's directory, or while
   * that is missing its nearest existing ancestor (to see it appear); any event re-aims the watcher.
   */
  private async watchDir<T>(path: string, feed: ChangeFeed<T>): Promise<Unsubscribe> {
    const dir = this.dir(path);
    let watcher: FSWatcher | undefined;
    let watched: { dir: string; ino: number } | undefined;
    const disarm = () => {
      watcher?.close();
      watcher = undefined;
      watched = undefined;
    };
    // Synchronous, so that two events cannot race to install two watchers.
    const aim = (hint: boolean) => {
      if (feed.isClosed) return;
      let target = dir;
      let st = statSync(target, { throwIfNoEntry: false });
      while (!st?.isDirectory() && target !== this.addr && target.startsWith(this.addr)) {
        target = nodePath.dirname(target);
        st = statSync(target, { throwIfNoEntry: false });
      }
      if (!(watcher && st && watched?.dir === target && watched.ino === st.ino)) {
        disarm();
        try {
          if (st?.isDirectory()) {
            watcher = fsWatch(target, { persistent: false }, () => aim(true));
            watcher.on('error', disarm);
            watched = { dir: target, ino: st.ino };
          }
        } catch {
          disarm(); // vanished meanwhile: the next event or tick retries
        }
      }
      if (hint) feed.trigger(); // re-read after every hint, and after re-aiming (changes before it)
    };
    const timer = setInterval(() => aim(true), this.pollMs);
    timer.unref();
    const stop = () => {
      clearInterval(timer);
      feed.close();
      disarm();
    };
    aim(false);
    await feed.start().catch((err) => {
      stop();
      throw err;
    });
    this.feeds.add(stop);
    return async () => {
      this.feeds.delete(stop);
      stop();
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const e of [...this.ephemerals]) await e.close();
    for (const stop of this.feeds) stop();
    this.feeds.clear();
    this.closed = true;
  }
}
