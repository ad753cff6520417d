import type { ServersInfo } from './EveryBackend.js';
import type { SessionState } from './LocalCommands.js';
import type { PauseMode } from './ClientPause.js';
import type { Request } from './Request.js';

/** One INFO call: its sections, the session asking, and what was read from the servers. */
export interface InfoAsk {
  readonly sections: readonly string[];
  readonly session: SessionState;
  readonly servers: ServersInfo;
}

/** What INFO, HELLO and CLIENT INFO tell about the proxy (implemented by Proxy). */
export interface ProxyInfo {
  /** The Redis version clients are told (they gate features on it). */
  readonly redisVersion: string;
  /**
   * INFO text for the asked sections (the default ones when none), as Redis picks them. A
   * cluster worker answers later: it asks the others for their counters first.
   */
  infoText(ask: InfoAsk): string | Promise<string>;
  /** The clients of this process, for CLIENT LIST. */
  clients(): readonly SessionState[];
  /** This process's client with that id (CLIENT UNBLOCK, TRACKING … REDIRECT). */
  client(id: number): SessionState | undefined;
  /** One line in the CLIENT INFO / CLIENT LIST format; `asking` is the request of the client that asks. */
  clientLine(session: SessionState, asking?: Request): string;
  /** CONFIG RESETSTAT: the proxy's counters cleared, in every worker. */
  resetAllStats(): Promise<void>;
  /** CLIENT PAUSE, in every worker; a null mode is UNPAUSE. */
  pauseClients(mode: PauseMode | null, ms: number): Promise<void>;
  /** Each command's latency histogram (LatencyHistogram.ts), summed over workers. */
  latencies(): Promise<Record<string, number[]>>;
}
