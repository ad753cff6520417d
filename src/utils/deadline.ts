/**
 * `p` or, once `ms` have passed, a rejection that says what did not finish in time. `p` keeps
 * running: this bounds how long a caller waits (a shutdown), it cancels nothing.
 */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
