/** A cluster worker's link to the other workers, through the primary (ProxyWorker.ts). */
import type { PauseMode } from './ClientPause.js';
import type { ProcessTotals } from './ProcessTotals.js';

export interface ClusterPeers {
  /** The whole proxy's totals, for INFO. */
  gather(withOps: boolean): Promise<ProcessTotals>;
  /** This worker's client count changed: the others admit clients against the sum. */
  clientsChanged(alive: number): void;
  /** Every worker's counters cleared. */
  resetAll(): Promise<void>;
  /** Every worker paused (CLIENT PAUSE), or unpaused with a null mode. */
  pauseAll(mode: PauseMode | null, ms: number): Promise<void>;
}
