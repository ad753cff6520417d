/**
 * An integer argument as Redis reads one (string2ll): an optional `-`, then digits with no
 * leading zero, nothing else (no `+`, spaces, `0x` or exponent, which Number() would take).
 * NaN otherwise, or past what a double holds exactly (Redis's limit is int64; ids and counts
 * stay far below either).
 */
export function integerArg(arg: Buffer | string): number {
  const text = typeof arg === 'string' ? arg : arg.toString('latin1');
  if (!/^(0|-?[1-9]\d{0,17})$/.test(text)) return NaN;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : NaN;
}
