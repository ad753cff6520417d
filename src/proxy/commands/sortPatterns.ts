/**
 * SORT and SORT_RO read other keys through their BY and GET patterns (`weight_*`,
 * `obj_*->field`). The backend forms those keys and reads them from its own keyspace, so a
 * pattern whose keys may hash to another slot would silently read nothing there: it is refused,
 * as Redis Cluster refuses it. A pattern is accepted when every key it can form shares the
 * sorted key's slot: its hash tag `{…}` comes whole before the first `*`.
 */
import { slotOfRange } from '../hash.js';
import { isKeyword } from './keyword.js';

const ASTERISK = 0x2a;
const OPEN = 0x7b;
const CLOSE = 0x7d;

/** Why this SORT / SORT_RO call is refused, or undefined to forward it. */
export function sortCheck(args: readonly Buffer[]): string | undefined {
  if (args.length < 2) return undefined; // Redis answers the arity error
  const key = args[1]!;
  const keySlot = slotOfRange(key, 0, key.length);
  for (let i = 2; i < args.length; i++) {
    const opt = args[i]!;
    if (isKeyword(opt, 'LIMIT')) {
      i += 2;
      continue;
    }
    if (isKeyword(opt, 'STORE')) {
      i += 1;
      continue;
    }
    const kind = isKeyword(opt, 'BY') ? 'BY' : isKeyword(opt, 'GET') ? 'GET' : undefined;
    if (kind === undefined) continue; // ASC, DESC, ALPHA
    const pattern = args[i + 1];
    if (pattern === undefined) return undefined; // syntax error: Redis answers
    i += 1;
    if (kind === 'GET' && pattern.length === 1 && pattern[0] === 0x23 /* # */) continue;
    const slot = patternSlot(pattern);
    if (slot !== NO_KEYS && slot !== keySlot) {
      return `the keys its ${kind} pattern forms may live on another backend; put the sorted key's {hash tag} before the '*'`;
    }
  }
  return undefined;
}

/** The pattern forms no key (no `*`): Redis then reads nothing, or does not sort. */
const NO_KEYS = -1;
/** The keys the pattern forms may hash to any slot. */
const ANY_SLOT = -2;

/**
 * The slot of every key the pattern can form: the first `*` is replaced by an element, so the
 * slot is fixed only when the first `{` and the first `}` after it both come before that `*`
 * (Codis hashes between the first `{` and the first `}` after it).
 */
export function patternSlot(p: Buffer): number {
  const star = p.indexOf(ASTERISK);
  if (star < 0) return NO_KEYS;
  const open = p.indexOf(OPEN);
  if (open < 0 || open > star) return ANY_SLOT;
  const close = p.indexOf(CLOSE, open + 1);
  if (close < 0 || close > star) return ANY_SLOT;
  return slotOfRange(p, 0, star);
}
