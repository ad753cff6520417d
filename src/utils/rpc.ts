/** JSON-over-HTTP calls between codis components (dashboard ⇄ proxy, admin → dashboard). */

export class RpcError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface RpcOptions {
  timeoutMs?: number;
}

function url(addr: string, path: string): string {
  return addr.startsWith('http://') || addr.startsWith('https://') ? addr + path : `http://${addr}${path}`;
}

async function call<T>(
  method: string,
  addr: string,
  path: string,
  body: unknown,
  opts: RpcOptions,
): Promise<T> {
  const u = url(addr, path);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  let res: Response;
  let text: string;
  try {
    res = await fetch(u, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body, null, 4),
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await res.text();
  } catch (e) {
    // The abort's own text ("The operation was aborted due to timeout") does not say how long.
    const cause =
      (e as Error).name === 'TimeoutError'
        ? `no answer within ${timeoutMs / 1000} s`
        : ((e as { cause?: Error }).cause?.message ?? (e as Error).message);
    throw new RpcError(0, `${method} ${u} failed: ${cause}`);
  }
  let data: unknown;
  try {
    data = text === '' ? undefined : JSON.parse(text);
  } catch {
    data = text;
  }
  if (res.status !== 200) {
    const d = data as { cause?: string; Cause?: string } | undefined;
    const cause =
      (typeof d === 'object' && d !== null && (d.cause ?? d.Cause)) || String(text).trim() || res.statusText;
    throw new RpcError(res.status, `[${res.status}] ${cause} - ${method} ${u}`);
  }
  return data as T;
}

export const rpc = {
  get: <T>(addr: string, path: string, opts: RpcOptions = {}) => call<T>('GET', addr, path, undefined, opts),
  put: <T>(addr: string, path: string, body?: unknown, opts: RpcOptions = {}) =>
    call<T>('PUT', addr, path, body, opts),
  post: <T>(addr: string, path: string, body?: unknown, opts: RpcOptions = {}) =>
    call<T>('POST', addr, path, body, opts),
  del: <T>(addr: string, path: string, opts: RpcOptions = {}) =>
    call<T>('DELETE', addr, path, undefined, opts),
};
