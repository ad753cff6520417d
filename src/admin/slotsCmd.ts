/**
 * Dashboard-mode slot commands (reference §8.3, §4.7, §4.8): `--slots-status`, `--slots-assign`
 * (printed, then applied with `--confirm`), `--slot-action …` and `--rebalance [--confirm]`.
 */
import { MaxSlotNum } from '../models/Slot.js';
import { UsageError, type ArgReader } from './args.js';
import type { DashboardClient, SlotMappingBody } from './client.js';
import { jsonText, rebalanceLines, type Io } from './output.js';

/** `--beg..--end` (inclusive) as SlotMappings to `gid` (0 = offline), checked before any call. */
export function slotRange(beg: number, end: number, gid: number): SlotMappingBody[] {
  if (beg < 0 || end >= MaxSlotNum || beg > end)
    throw new UsageError(`invalid slot range [${beg},${end}]: need 0 <= beg <= end <= ${MaxSlotNum - 1}`);
  return Array.from({ length: end - beg + 1 }, (_, i) => ({ id: beg + i, group_id: gid, action: {} }));
}

export async function slotsMain(a: ArgReader, c: DashboardClient, io: Io): Promise<void> {
  if (a.has('--slots-assign')) {
    const offline = a.has('--offline');
    const slots = slotRange(a.int('--beg'), a.int('--end'), offline ? 0 : a.int('--gid'));
    await c.login();
    if (!a.has('--confirm')) {
      io.out(jsonText(slots));
      return;
    }
    await (offline ? c.slotsAssignOffline(slots) : c.slotsAssign(slots));
  } else if (a.has('--slots-status')) {
    await c.login();
    io.out(jsonText(await c.slots()));
  } else if (a.has('--rebalance')) {
    await c.login();
    const plan = await c.rebalance(a.has('--confirm'));
    io.out(rebalanceLines(plan ?? {}));
  } else {
    await slotAction(a, c);
  }
}

async function slotAction(a: ArgReader, c: DashboardClient): Promise<void> {
  let run: () => Promise<unknown>;
  if (a.has('--create')) {
    const [sid, gid] = [a.int('--sid'), a.int('--gid')];
    run = () => c.createSlotAction(sid, gid);
  } else if (a.has('--remove')) {
    const sid = a.int('--sid');
    run = () => c.removeSlotAction(sid);
  } else if (a.has('--create-some')) {
    const [src, dst, num] = [a.int('--gid-from'), a.int('--gid-to'), a.int('--num-slots')];
    run = () => c.createSlotActionSome(src, dst, num);
  } else if (a.has('--create-range')) {
    const [beg, end, gid] = [a.int('--beg'), a.int('--end'), a.int('--gid')];
    run = () => c.createSlotActionRange(beg, end, gid);
  } else if (a.has('--interval')) {
    const us = a.int('--interval');
    run = () => c.setSlotActionInterval(us);
  } else {
    const disabled = a.int('--disabled') !== 0;
    run = () => c.setSlotActionDisabled(disabled);
  }
  await c.login();
  await run();
}
