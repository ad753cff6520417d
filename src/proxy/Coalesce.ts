/**
 * Multi-key commands that the proxy splits: MGET, MSET, DEL, UNLINK, EXISTS, TOUCH.
 * Keys are grouped by the backend connection they route to, so a 100-key MGET over two
 * groups costs two backend commands, not a hundred. Slots that are held or migrating get a
 * sub-command of their own so their usual handling (hold, MIGRATE first) applies.
 * Replies are merged in key order.
 */
import { Buffer } from 'node:buffer';
import { arrayBodyStart, integerReply, ReplyScanner } from '../resp/ReplyScanner.js';
import { error, headerLength, integer, OK, writeBulkRange, writeHeader } from '../resp/encode.js';
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

/** The command being split, when not handed over decoded: offsets into its bytes, no argument views. */
const ARGS = new RawCommand();

/** `decoded`: the request's command as the decoder left it, if still there (saves decoding it again). */
export function dispatchMulti(
  router: Router,
  req: Request,
  kind: MultiKind,
  decoded: RawCommand | null,
): void {
  const step = kind === MultiKind.Pairs ? 2 : 1;
  const cmd =
    decoded !== null && decoded.data === req.payload && decoded.start === req.payloadStart
      ? decoded
      : ARGS.load(req.payload, req.payloadStart);
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
    sub.proto = req.proto;
    sub.primaryOnly = req.primaryOnly;
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
    // Never index -1: a negative index is a named-property load, slow and megamorphic.
    const slots = g.slots;
    if (slots.length === 0 || (slots[slots.length - 1] !== slot && !slots.includes(slot))) slots.push(slot);
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
  // Sized exactly: no view of a larger buffer to make afterwards.
  const out = Buffer.allocUnsafe(headerLength(n) + headerLength(nameLen) + nameLen + 2 + g.bytes);
  let p = writeHeader(out, 0, 0x2a, n);
  p = writeBulkRange(out, p, data, cmd.argStart(0), cmd.argEnd(0));
  const keys = g.keys;
  for (let k = 0; k < keys.length;) {
    const first = keys[k]!;
    let last = first;
    while (++k < keys.length && keys[k] === last + step) last = keys[k]!;
    p += copyBytes(data, cmd.argEnd(first - 1) + 2, cmd.argEnd(last + step - 1) + 2, out, p);
  }
  return out;
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

// The merges read the sub-replies where they landed: no view and no string is made of them.

function firstError(req: Request): Buffer | null {
  for (const s of req.subs!) if (s.replyType() === 0x2d) return s.reply!;
  return null;
}

/** Finds the MGET values in the sub-replies; reset before each, as a bad reply may stop it midway. */
const VALUES = new ReplyScanner();

/** The values in key order, copied once into the reply. */
function mergeValues(req: Request): Buffer {
  const err = firstError(req);
  if (err !== null) return err;
  const subs = req.subs!;
  let n = 0;
  for (const s of subs) n += s.keyIndex!.length;
  // The value for key k is from[k][at[2k], at[2k + 1]).
  const from = new Array<Buffer>(n);
  const at = new Int32Array(2 * n);
  let bytes = 0;
  for (const s of subs) {
    const data = s.replyData!;
    const keys = s.keyIndex!;
    let p = arrayBodyStart(data, s.replyStart, s.replyEnd, keys.length);
    if (p < 0) throw new Error(`bad mget resp: ${data.toString('latin1', s.replyStart, s.replyStart + 16)}`);
    VALUES.reset();
    for (let j = 0; j < keys.length; j++) {
      const end = VALUES.scan(data, p);
      if (end < 0 || end > s.replyEnd) throw new Error('bad mget resp: truncated');
      // keyIndex holds argument indices: key k is argument k + 1.
      const k = keys[j]! - 1;
      from[k] = data;
      at[2 * k] = p;
      at[2 * k + 1] = end;
      bytes += end - p;
      p = end;
    }
  }
  const out = Buffer.allocUnsafe(headerLength(n) + bytes);
  let p = writeHeader(out, 0, 0x2a, n);
  for (let k = 0; k < n; k++) p += copyBytes(from[k]!, at[2 * k]!, at[2 * k + 1]!, out, p);
  return out;
}

function mergeSum(req: Request): Buffer {
  const err = firstError(req);
  if (err !== null) return err;
  let sum = 0;
  for (const s of req.subs!) {
    const v = integerReply(s.replyData!, s.replyStart, s.replyEnd);
    if (Number.isNaN(v)) throw new Error(`bad ${req.info.name.toLowerCase()} resp: not an integer`);
    sum += v;
  }
  return integer(sum);
}

function mergePairs(req: Request): Buffer {
  const err = firstError(req);
  if (err !== null) return err;
  for (const s of req.subs!) {
    if (s.replyType() !== 0x2b) return error('ERR handle response, bad mset resp');
  }
  return OK;
}
