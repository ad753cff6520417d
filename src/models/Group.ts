// Codis models.Group and models.GroupServer, stored at /codis3/{product}/group/group-NNNN.
// `promoting` and each server's `action` are always present and stored as `{}` when idle (their
// fields are omitempty, so index 0 is never written); `servers` is always written, `[]` when empty.

import type {
  ActionFinished,
  ActionNothing,
  ActionPending,
  ActionPrepared,
  ActionPreparing,
  ActionSynced,
  ActionSyncedFailed,
  ActionSyncing,
} from './SlotMapping.js';

export const MaxGroupId = 9999;

/** Valid group ids are 1..MaxGroupId. */
export function isValidGroupId(gid: number): boolean {
  return Number.isInteger(gid) && gid > 0 && gid <= MaxGroupId;
}

/** States of a master promotion. */
export type PromotingState =
  typeof ActionNothing | typeof ActionPreparing | typeof ActionPrepared | typeof ActionFinished;

/** States of a server's sync action (re-pointing a replica). */
export type ServerActionState =
  | typeof ActionNothing
  | typeof ActionPending
  | typeof ActionSyncing
  | typeof ActionSynced
  | typeof ActionSyncedFailed;

export interface GroupPromoting {
  /** Index in `servers` of the server being promoted. */
  index?: number;
  state?: PromotingState;
}

export interface GroupServerAction {
  index?: number;
  state?: ServerActionState;
}

export interface GroupServer {
  /** "host:port". */
  server: string;
  datacenter: string;
  action: GroupServerAction;
  /** Serves reads for replica groups. */
  replica_group: boolean;
}

export interface Group {
  id: number;
  /** servers[0] is the master. */
  servers: GroupServer[];
  promoting: GroupPromoting;
  out_of_sync: boolean;
}

export function newGroup(id: number): Group {
  return { id, servers: [], promoting: {}, out_of_sync: false };
}

export function newGroupServer(server: string, datacenter = ''): GroupServer {
  return { server, datacenter, action: {}, replica_group: false };
}

/** `{index, state}` with Go's omitempty. */
function indexState(a: { index?: number; state?: string }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (a.index) out.index = a.index;
  if (a.state) out.state = a.state;
  return out;
}

export function groupServerToJson(s: GroupServer): Record<string, unknown> {
  return {
    server: s.server,
    datacenter: s.datacenter,
    action: indexState(s.action),
    replica_group: s.replica_group,
  };
}

/** The stored JSON object, in Codis field order. */
export function groupToJson(g: Group): Record<string, unknown> {
  return {
    id: g.id,
    servers: g.servers.map(groupServerToJson),
    promoting: indexState(g.promoting),
    out_of_sync: g.out_of_sync,
  };
}
