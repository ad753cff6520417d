import type { ProxyModel } from '../models/Proxy.js';
import type { SlotJson } from '../models/Slot.js';
import type { ProxyConfig } from './Config.js';

/**
 * What the admin API drives: one Proxy in this process, or a ProxyCluster whose workers
 * each run one. Every change resolves only when all of them applied it.
 */
export interface ProxyControl {
  readonly config: ProxyConfig;
  readonly model: ProxyModel;
  readonly xauth: string;
  readonly closed: boolean;
  readonly numDatabases: number;
  readonly sentinels: string[];
  setSentinels(servers: string[]): void | Promise<void>;
  start(): void | Promise<void>;
  fillSlots(slots: SlotJson[]): Promise<void>;
  slots(): SlotJson[];
  /** Codis stats JSON; `flags` as `/api/proxy/stats/:xauth/:flags`. */
  stats(flags: number): Record<string, unknown> | Promise<Record<string, unknown>>;
  resetStats(): void | Promise<void>;
  holdKey(slot: number, db: number, key: Buffer): Promise<void>;
  releaseKey(slot: number, db: number, key: Buffer): void | Promise<void>;
  /** Throws `invalid loglevel` before changing anything when the name is not a level. */
  setLogLevel(name: string): void | Promise<void>;
  close(): Promise<void>;
}
