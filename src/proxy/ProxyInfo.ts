import type { InfoFields } from './InfoText.js';
import type { SessionState } from './LocalCommands.js';

/** What INFO, HELLO and CLIENT INFO tell about the proxy (implemented by Proxy). */
export interface ProxyInfo {
  /** The Redis version clients are told (they gate features on it). */
  readonly redisVersion: string;
  /**
   * INFO text for the given sections (the default ones when empty), as Redis picks them. A
   * cluster worker answers later: it asks the others for their counters first. `keyspace` is
   * the Keyspace section, read from the backends by the caller.
   */
  infoText(
    sections: readonly string[],
    session: SessionState,
    keyspace: InfoFields,
  ): string | Promise<string>;
  /** One line in the CLIENT INFO / CLIENT LIST format. */
  clientLine(session: SessionState): string;
}
