// Codis models.SlotMapping: the stored per-slot state at /codis3/{product}/slots/slot-NNNN, and the
// action state constants (§5.7). A missing node means offline and idle.

export { MaxSlotNum } from './Slot.js';

export const ActionNothing = '';
export const ActionPending = 'pending';
export const ActionPreparing = 'preparing';
export const ActionPrepared = 'prepared';
export const ActionMigrating = 'migrating';
export const ActionFinished = 'finished';
export const ActionSyncing = 'syncing';
/** Results of a group server's sync action, written by the dashboard as literal strings. */
export const ActionSynced = 'synced';
export const ActionSyncedFailed = 'synced_failed';

/** States of a slot's migration action. */
export type SlotActionState =
  | typeof ActionNothing
  | typeof ActionPending
  | typeof ActionPreparing
  | typeof ActionPrepared
  | typeof ActionMigrating
  | typeof ActionFinished;

/** The action object is always present; idle (all fields absent or zero) it is stored as `{}`. */
export interface SlotMappingAction {
  /** Queue position: actions run in index order. */
  index?: number;
  state?: SlotActionState;
  /** The group the slot moves to. */
  target_id?: number;
}

export interface SlotMapping {
  id: number;
  /** 0 = offline. */
  group_id: number;
  action: SlotMappingAction;
}

export function newSlotMapping(id: number, groupId = 0): SlotMapping {
  return { id, group_id: groupId, action: {} };
}

/** The stored JSON object in Codis field order, with Go's omitempty inside `action`. */
export function slotMappingToJson(m: SlotMapping): Record<string, unknown> {
  const action: Record<string, unknown> = {};
  if (m.action.index) action.index = m.action.index;
  if (m.action.state) action.state = m.action.state;
  if (m.action.target_id) action.target_id = m.action.target_id;
  return { id: m.id, group_id: m.group_id, action };
}
