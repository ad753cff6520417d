/**
 * The rebalance plan of Codis's SlotsRebalance (§4.8), as a pure function: which idle slots move to
 * which group so that every group with servers gets floor(1024/n) or ceil(1024/n) slots, moving as
 * few slots as possible. Offline slots go to the smallest groups first; a group gives away its
 * highest-numbered slots.
 */
import { ActionNothing, ActionPending, MaxSlotNum, type SlotMapping } from '../models/SlotMapping.js';

export class RebalanceError extends Error {}

/**
 * `groupIds`: the groups that have at least one server. Returns sid → gid (ascending sid order).
 * Throws RebalanceError when there is no such group.
 */
export function planRebalance(
  slots: readonly SlotMapping[],
  groupIds: readonly number[],
): Map<number, number> {
  const gids = [...groupIds].sort((a, b) => a - b);
  if (gids.length === 0) throw new RebalanceError('no valid group could be found');
  const assigned = new Map<number, number>();
  const pendings = new Map<number, number[]>();
  const moveout = new Map<number, number>();
  let docking: number[] = [];
  const get = (m: Map<number, number>, g: number) => m.get(g) ?? 0;
  const inc = (m: Map<number, number>, g: number, d: number) => m.set(g, get(m, g) + d);
  const size = (g: number) => get(assigned, g) + (pendings.get(g)?.length ?? 0) - get(moveout, g);
  const busy = (m: SlotMapping) => (m.action.state ?? ActionNothing) !== ActionNothing;

  // Slots being migrated count for their target and are not moved again.
  for (const m of slots) if (busy(m)) inc(assigned, m.action.target_id ?? 0, 1);

  const lowerBound = Math.floor(MaxSlotNum / gids.length);
  // A group keeps its first lowerBound slots; the rest may move.
  for (const m of slots) {
    if (busy(m) || m.group_id === 0) continue;
    if (size(m.group_id) < lowerBound) inc(assigned, m.group_id, 1);
    else {
      const list = pendings.get(m.group_id) ?? [];
      list.push(m.id);
      pendings.set(m.group_id, list);
    }
  }

  // An ordered set keyed by (size, gid), as Codis's red-black tree.
  const tree = new Set<number>(gids);
  const order = () => [...tree].sort((a, b) => size(a) - size(b) || a - b);
  const smallest = () => order()[0]!;
  const largest = () => order()[tree.size - 1]!;

  // Offline slots go to the currently smallest group.
  for (const m of slots) {
    if (busy(m) || m.group_id !== 0) continue;
    const dest = smallest();
    docking.push(m.id);
    inc(moveout, dest, -1);
  }

  const upperBound = Math.ceil(MaxSlotNum / gids.length);
  while (tree.size >= 2) {
    const from = largest();
    tree.delete(from);
    if ((pendings.get(from)?.length ?? 0) === get(moveout, from)) continue;
    const dest = smallest();
    tree.delete(dest);
    const fromSize = size(from);
    const destSize = size(dest);
    if (fromSize <= lowerBound || destSize >= upperBound || fromSize - destSize <= 1) break;
    inc(moveout, from, 1);
    inc(moveout, dest, -1);
    tree.add(from);
    tree.add(dest);
  }

  // Groups giving slots away give their highest-numbered movable ones.
  for (const [gid, n] of moveout) {
    if (n <= 0) continue;
    const sids = (pendings.get(gid) ?? []).sort((a, b) => b - a);
    docking.push(...sids.slice(0, n));
    pendings.set(gid, sids.slice(n));
    moveout.delete(gid);
  }
  docking = docking.sort((a, b) => a - b);

  const plan = new Map<number, number>();
  for (const gid of gids) {
    const incoming = -get(moveout, gid);
    for (let i = 0; i < incoming && docking.length > 0; i++) plan.set(docking.shift()!, gid);
  }
  return new Map([...plan].sort((a, b) => a[0] - b[0]));
}

/**
 * Codis's round (§4.4, §4.6): past-pending slots first by index, then (unless disabled) pending
 * ones; a slot whose source or target group is already in the round is skipped. (The Migrator
 * has its own pick, without that restriction.)
 */
export function pickRound(slots: readonly SlotMapping[], parallel: number, disabled: boolean): number[] {
  const marks = new Set<number>();
  const plans: number[] = [];
  const picked = new Set<number>();
  const accept = (m: SlotMapping) =>
    !picked.has(m.id) && !marks.has(m.group_id) && !marks.has(m.action.target_id ?? 0);
  const minIndex = (pending: boolean): SlotMapping | undefined => {
    let best: SlotMapping | undefined;
    for (const m of slots) {
      const state = m.action.state ?? ActionNothing;
      if (state === ActionNothing || (state === ActionPending) !== pending || !accept(m)) continue;
      if (!best || (m.action.index ?? 0) < (best.action.index ?? 0)) best = m;
    }
    return best;
  };
  const max = Math.max(1, parallel);
  while (plans.length < max) {
    const m = minIndex(false) ?? (disabled ? undefined : minIndex(true));
    if (!m) break;
    if (m.group_id !== 0) marks.add(m.group_id);
    marks.add(m.action.target_id ?? 0);
    picked.add(m.id);
    plans.push(m.id);
  }
  return plans;
}
