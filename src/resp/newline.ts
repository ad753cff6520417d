/**
 * Finding the '\n' that ends a RESP line. Buffer#indexOf is a trip into C++ (about 20 ns on
 * Node 20); the lines of a command or reply header ("*3", "$64", "+OK") end within a few bytes,
 * where a loop takes half that. Past SHORT_LINE bytes the search goes on with indexOf.
 */
export function indexOfNewline(data: Uint8Array, from: number): number {
  const len = data.length;
  const stop = from + SHORT_LINE < len ? from + SHORT_LINE : len;
  for (let i = from; i < stop; i++) if (data[i] === 10) return i;
  return stop === len ? -1 : data.indexOf(10, stop);
}

const SHORT_LINE = 32;
