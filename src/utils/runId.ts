/**
 * INFO's `run_id`: 40 hex digits naming one run of a server, which tools compare to tell a
 * restart from a reconnect. Workers of one proxy share their primary's, given at fork.
 */
import { randomBytes } from 'node:crypto';

export const RUN_ID_ENV = 'CODIS_PROXY_RUN_ID';

const inherited = process.env[RUN_ID_ENV];

export const RUN_ID: string =
  inherited !== undefined && /^[0-9a-f]{40}$/.test(inherited) ? inherited : randomBytes(20).toString('hex');
