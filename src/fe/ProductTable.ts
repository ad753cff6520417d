/**
 * The product → dashboard table of codis-fe (§9.1): read from a `--dashboard-list` JSON file
 * (`[{"name": "<product>", "dashboard": "<admin addr>"}]`) or from a coordinator (the children of
 * `/codis3` whose `topom` lock exists, with the lock's `admin_addr`). The table is reloaded on
 * demand, at most once per `reloadMs`; a failed reload keeps the last good table.
 */
import { readFile } from 'node:fs/promises';
import type { Client } from '../coordinator/Client.js';
import { isValidProductName, listProducts, Store } from '../models/Store.js';

export interface DashboardEntry {
  name: string;
  dashboard: string;
}

/** Where the table comes from: a function returning every product with its dashboard address. */
export type ProductSource = () => Promise<DashboardEntry[]>;

/**
 * Products served in a coordinator: those whose dashboard lock exists. A product whose lock can't
 * be read (corrupt JSON) is left out and reported, instead of emptying the whole table.
 */
export function coordinatorSource(
  client: Client,
  onSkip?: (product: string, e: Error) => void,
): ProductSource {
  return async () => {
    const names = (await listProducts(client)).filter(isValidProductName);
    const locks = await Promise.all(
      names.map((name) =>
        new Store(client, name).loadLock().catch((e: Error) => {
          onSkip?.(name, e);
          return undefined;
        }),
      ),
    );
    return names.flatMap((name, i) => {
      const lock = locks[i];
      return lock ? [{ name, dashboard: lock.admin_addr }] : [];
    });
  };
}

/** The `--dashboard-list` file, re-read on every reload. */
export function fileSource(file: string): ProductSource {
  return async () => {
    let value: unknown;
    try {
      value = JSON.parse(await readFile(file, 'utf8')) as unknown;
    } catch (e) {
      throw new Error(`dashboard list ${file}: ${(e as Error).message}`, { cause: e });
    }
    if (!Array.isArray(value)) throw new Error(`dashboard list ${file}: expected a JSON array`);
    return value.map((x: unknown, i) => {
      const e = (x ?? {}) as Record<string, unknown>;
      if (typeof e.name !== 'string' || (e.dashboard !== undefined && typeof e.dashboard !== 'string'))
        throw new Error(`dashboard list ${file}: entry ${i} needs "name" and "dashboard" strings`);
      return { name: e.name, dashboard: e.dashboard ?? '' };
    });
  };
}

export class ProductTable {
  private table = new Map<string, string>();
  private loadedAt = -Infinity;
  private loaded = false;
  private inflight: Promise<void> | undefined;

  constructor(
    private readonly source: ProductSource,
    private readonly reloadMs = 5000,
    private readonly onError: (e: Error) => void = () => undefined,
  ) {}

  /** Sorted names of the products that have a dashboard (reloads if the table is stale). */
  async names(): Promise<string[]> {
    await this.refresh();
    return [...this.table.keys()].sort();
  }

  /**
   * The dashboard address of a product, or undefined. An unknown name reloads a stale table
   * first, so a product started a moment ago is found without waiting for the page to list it.
   */
  async lookup(name: string): Promise<string | undefined> {
    if (!this.table.has(name)) await this.refresh();
    return this.table.get(name);
  }

  /**
   * Reloads when the table is older than reloadMs (or was never loaded: a source that was down
   * is retried on every call until it answers once); throws only while no table was ever loaded.
   */
  async refresh(): Promise<void> {
    if (!this.loaded || Date.now() - this.loadedAt >= this.reloadMs) {
      this.inflight ??= this.reload().finally(() => (this.inflight = undefined));
    }
    if (this.inflight) await this.inflight;
  }

  private async reload(): Promise<void> {
    try {
      const entries = await this.source();
      this.table = new Map(
        entries.filter((e) => e.name !== '' && e.dashboard !== '').map((e) => [e.name, e.dashboard]),
      );
      this.loaded = true;
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      this.onError(err);
      if (!this.loaded) throw err;
    } finally {
      this.loadedAt = Date.now();
    }
  }
}
