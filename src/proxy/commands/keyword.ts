/** Whether argument `b` is the option keyword `upper` (given in upper case), in any case, without a string of it. */
export function isKeyword(b: Buffer, upper: string): boolean {
  if (b.length !== upper.length) return false;
  for (let i = 0; i < upper.length; i++) {
    let c = b[i]!;
    if (c >= 97 && c <= 122) c -= 32;
    if (c !== upper.charCodeAt(i)) return false;
  }
  return true;
}
