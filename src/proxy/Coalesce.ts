/**
 * Multi-key commands that the proxy splits: MGET, MSET, DEL, UNLINK, EXISTS, TOUCH.
 * Keys are grouped by the backend connection they route to, so a 100-key MGET over two
 * groups costs two backend commands, not a hundred. Slots that are held or migrating get a
 * sub-command of their own so their usual handling (hold, MIGRATE first) applies.
 * Replies are merged in key order.
 */
import { integerReply, splitArrayReply } from '../resp/ReplyScanner.js';
import { arrayHeader, error, integer, OK, writeBulkRange, writeHeader } from '../resp/encode.js';
import { copyBytes } from '../utils/copyBytes.js';
import { RawCommand } from '../resp/RawCommand.js';
import { slotOfRange } from './hash.js';
import { Request } from './Request.js';
import type { Router } from './Router.js';
import { SlotSet, type Slot } from './Slot.js';
import { BackendConn } from './BackendConn.js';

export const enum MultiKind {
  /** MGET: array of values in key order. */
  Values,
  /** DEL, UNLINK, EXISTS, TOUCH: the sum of the integer replies. */
  Sum,
  /** MSET: OK when every part is OK. */
  Pairs,
}

interface Group {
  /** A BackendConn for plain slots, or the Slot itself when it is held or migrating. */
  target: object;
  /** Argument indices of the keys in this group (values follow keys for MSET). */
  keys: number[];
  slots: Slot[];
  /** Bytes of its keys (and values) as the client encoded them, `$len` headers included. */
  bytes: number;
}

export function multiKind(name: string): MultiKind {
  return name === 'MGET' ? MultiKind.Values : name === 'MSET' ? MultiKind.Pairs : MultiKind.Sum;
}

/** The command being split: offsets into its bytes, so no argument views are made. */
const ARGS = new RawCommand();

export function dispatchMulti(router: Router, req: Request, kind: MultiKind): void {
  const step = kind === MultiKind.Pairs ? 2 : 1;
  const cmd = ARGS.load(req.payload, req.payloadStart);
  const groups = groupKeys(router, req, cmd, step);
  const payloads = groups !== null && groups.length > 1 ? groups.map((g) => encodeSub(cmd, g, step)) : null;
  ARGS.release();
  if (groups === null) {
    req.fail('ERR handle request, slot is not ready, may be offline');
    return;
  }
  if (payloads === null) {
    send(router, req, groups[0]!);
    return;
  }
  const subs = payloads.map((payload, i) => {
    // A sub-request's arguments, if ever needed, are read from its own bytes.
    const sub = new Request(null, null, payload, 0, payload.length, req.db, req.info, req.start);
    sub.seed = req.seed;
    sub.keyIndex = groups[i]!.keys;
    return sub;
  });
  req.split(subs, kind === MultiKind.Values ? mergeValues : kind === MultiKind.Sum ? mergeSum : mergePairs);
  for (let i = 0; i < subs.length; i++) send(router, subs[i]!, groups[i]!);
}

/** The keys grouped by where they go, or null when a slot has nowhere to go. */
function groupKeys(router: Router, req: Request, cmd: RawCommand, step: number): Group[] | null {
  const data = cmd.data;
  // Few backends per command: a linear scan beats a Map here.
  const groups: Group[] = [];
  for (let i = 1; i < cmd.argc; i += step) {
    const ks = cmd.argStart(i);
    const ke = cmd.argEnd(i);
    const slot = router.slots[slotOfRange(data, ks, ke)]!;
    let target: object;
    if (slot.plain) target = router.pick(slot, req);
    else if (slot.backend === null && !slot.blocked) return null;
    else target = slot;
    let g: Group | undefined;
    for (let j = 0; j < groups.length; j++) {
      if (groups[j]!.target === target) {
        g = groups[j];
        break;
      }
    }
    if (g === undefined) groups.push((g = { target, keys: [], slots: [], bytes: 0 }));
    g.keys.push(i);
    // Argument i's header starts just past argument i-1's CRLF.
    g.bytes += cmd.argEnd(i + step - 1) - cmd.argEnd(i - 1);
    if (g.slots[g.slots.length - 1] !== slot && !g.slots.includes(slot)) g.slots.push(slot);
  }
  return groups;
}

/**
 * The sub-command for one group, made from the client's bytes: each key (and its value) is
 * copied with its `$len` header as the client encoded it, and keys next to each other in the
 * command are copied as one run.
 */
function encodeSub(cmd: RawCommand, g: Group, step: number): Buffer {
  const data = cmd.data;
  const nameLen = cmd.argEnd(0) - cmd.argStart(0);
  const n = 1 + g.keys.length * step;
  // Two `*n`/`$n` headers of up to 14 bytes each, the name, then the arguments as they came.
  const out = Buffer.allocUnsafe(28 + nameLen + 2 + g.bytes);
  let p = writeHeader(out, 0, 0x2a, n);
  p = writeBulkRange(out, p, data, cmd.argStart(0), cmd.argEnd(0));
  const keys = g.keys;
  for (let k = 0; k < keys.length;) {
    const first = keys[k]!;
    let last = first;
    while (++k < keys.length && keys[k] === last + step) last = keys[k]!;
    p += copyBytes(data, cmd.argEnd(first - 1) + 2, cmd.argEnd(last + step - 1) + 2, out, p);
  }
  return out.subarray(0, p);
}

function send(router: Router, req: Request, g: Group): void {
  if (!(g.target instanceof BackendConn)) {
    router.dispatch(req, (g.target as Slot).id);
    return;
  }
  if (g.slots.length === 1) g.slots[0]!.track(req);
  else req.counter = new SlotSet(g.slots);
  g.target.push(req);
}

function firstError(req: Request): Buffer | null {
  for (const s of req.subs!) if (s.reply![0] === 0x2d) return s.reply!;
  return null;
}

function mergeValues(req: Request): Buffer {
  const err = firstError(req);
  if (err !== null) return err;
  let n = 0;
  for (const s of req.subs!) n += s.keyIndex!.length;
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
