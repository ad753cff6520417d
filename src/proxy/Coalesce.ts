/**
 * Multi-key commands that the proxy splits: MGET, MSET, DEL, UNLINK, EXISTS, TOUCH.
 * Keys are grouped by the backend connection they route to, so a 100-key MGET over two
 * groups costs two backend commands, not a hundred. Slots that are held or migrating get a
 * sub-command of their own so their usual handling (hold, MIGRATE first) applies.
 * Replies are merged in key order.
 */
import { encodeMultiBulk } from '../resp/RequestDecoder.js';
import { integerReply, splitArrayReply } from '../resp/ReplyScanner.js';
import { arrayHeader, error, integer, OK } from '../resp/encode.js';
import { slotOfRange } from './hash.js';
import { Request } from './Request.js';
import type { Router } from './Router.js';
import { SlotSet, type Slot } from './Slot.js';

export const enum MultiKind {
  /** MGET: array of values in key order. */
  Values,
  /** DEL, UNLINK, EXISTS, TOUCH: the sum of the integer replies. */
  Sum,
  /** MSET: OK when every part is OK. */
  Pairs,
}

interface Group {
  /** Argument indices of the keys in this group (values follow keys for MSET). */
  keys: number[];
  slots: Slot[];
  /** The slot to dispatch through when the group is a single non-plain slot. */
  via: Slot | null;
}

export function multiKind(name: string): MultiKind {
  return name === 'MGET' ? MultiKind.Values : name === 'MSET' ? MultiKind.Pairs : MultiKind.Sum;
}

export function dispatchMulti(router: Router, req: Request, kind: MultiKind): void {
  const args = req.args;
  const step = kind === MultiKind.Pairs ? 2 : 1;
  const groups = new Map<object, Group>();
  for (let i = 1; i < args.length; i += step) {
    const key = args[i]!;
    const slot = router.slots[slotOfRange(key, 0, key.length)]!;
    let groupKey: object;
    if (slot.plain) {
      groupKey = router.pick(slot, req);
    } else if (slot.backend === null && !slot.blocked) {
      req.fail('ERR handle request, slot is not ready, may be offline');
      return;
    } else {
      groupKey = slot;
    }
    let g = groups.get(groupKey);
    if (g === undefined) {
      g = { keys: [], slots: [], via: groupKey === slot ? slot : null };
      groups.set(groupKey, g);
    }
    g.keys.push(i);
    if (!g.slots.includes(slot)) g.slots.push(slot);
  }
  if (groups.size === 1) {
    const [target, g] = groups.entries().next().value as [object, Group];
    send(router, req, target, g);
    return;
  }
  const subs: Request[] = [];
  const targets: object[] = [];
  for (const [target, g] of groups) {
    const subArgs: Buffer[] = [args[0]!];
    for (const i of g.keys) {
      subArgs.push(args[i]!);
      if (step === 2) subArgs.push(args[i + 1]!);
    }
    const sub = new Request(null, subArgs, encodeMultiBulk(subArgs), req.db, req.info, req.start);
    sub.seed = req.seed;
    sub.keyIndex = g.keys;
    subs.push(sub);
    targets.push(target);
  }
  req.split(subs, kind === MultiKind.Values ? mergeValues : kind === MultiKind.Sum ? mergeSum : mergePairs);
  for (let i = 0; i < subs.length; i++) {
    const g = groups.get(targets[i]!)!;
    send(router, subs[i]!, targets[i]!, g);
  }
}

function send(router: Router, req: Request, target: object, g: Group): void {
  if (g.via !== null) {
    router.dispatch(req, g.via.id);
    return;
  }
  if (g.slots.length === 1) g.slots[0]!.track(req);
  else req.counter = new SlotSet(g.slots);
  (target as { push(r: Request): void }).push(req);
}

function firstError(req: Request): Buffer | null {
  for (const s of req.subs!) if (s.reply![0] === 0x2d) return s.reply!;
  return null;
}

function mergeValues(req: Request): Buffer {
  const err = firstError(req);
  if (err !== null) return err;
  const n = req.args.length - 1;
  const out = new Array<Buffer>(n + 1);
  out[0] = arrayHeader(n);
  for (const s of req.subs!) {
    const values = splitArrayReply(s.reply!);
    if (values === null || values.length !== s.keyIndex!.length) {
      throw new Error(`bad mget resp: ${s.reply!.toString('latin1', 0, 16)}`);
    }
    for (let j = 0; j < values.length; j++) out[s.keyIndex![j]!] = values[j]!;
  }
  return Buffer.concat(out);
}

function mergeSum(req: Request): Buffer {
  const err = firstError(req);
  if (err !== null) return err;
  let sum = 0;
  for (const s of req.subs!) {
    const v = integerReply(s.reply!);
    if (Number.isNaN(v)) throw new Error(`bad ${req.info.name.toLowerCase()} resp: not an integer`);
    sum += v;
  }
  return integer(sum);
}

function mergePairs(req: Request): Buffer {
  const err = firstError(req);
  if (err !== null) return err;
  for (const s of req.subs!) {
    if (s.reply![0] !== 0x2b) return error('ERR handle response, bad mset resp');
  }
  return OK;
}
