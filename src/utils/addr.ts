/** `host:port` addresses as Codis writes them (Go's net.JoinHostPort / SplitHostPort syntax). */
import { isIP } from 'node:net';

export interface HostPort {
  /** Without brackets; may be `''` when `allowEmptyHost` (a listen address such as `:19000`). */
  host: string;
  port: number;
}

export interface AddrOptions {
  /** Accept `:6379` (listen on all interfaces). Default false: a backend needs a host. */
  allowEmptyHost?: boolean;
  /** Accept port 0 (listen on a free port). Default false. */
  allowZeroPort?: boolean;
}

export class AddrError extends Error {
  constructor(
    readonly problem: string,
    readonly input: string,
  ) {
    super(`invalid address ${JSON.stringify(input)}: ${problem}`);
    this.name = 'AddrError';
  }
}

// RFC 1123 host names (labels of letters, digits, '-', '_' as seen in docker/k8s names).
const HOSTNAME_RE =
  /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?$/;

function isValidHost(host: string): boolean {
  return isIP(host) === 4 || HOSTNAME_RE.test(host);
}

/** Splits and validates `host:port`, `[v6]:port` or `:port`. Throws AddrError. */
export function parseAddr(addr: string, opts: AddrOptions = {}): HostPort {
  if (typeof addr !== 'string' || addr === '') throw new AddrError('empty', String(addr));
  let host: string;
  let portText: string;
  if (addr.startsWith('[')) {
    const end = addr.indexOf(']');
    if (end < 0 || addr[end + 1] !== ':') throw new AddrError('expected [host]:port', addr);
    host = addr.slice(1, end);
    portText = addr.slice(end + 2);
    // Zones (fe80::1%eth0) are allowed by Go; net.isIP rejects them, so check the part before '%'.
    if (isIP(host.split('%')[0]!) !== 6) throw new AddrError('bad IPv6 address', addr);
  } else {
    const colon = addr.lastIndexOf(':');
    if (colon < 0) throw new AddrError('missing port', addr);
    host = addr.slice(0, colon);
    portText = addr.slice(colon + 1);
    if (host.includes(':')) throw new AddrError('IPv6 hosts must be in brackets', addr);
    if (host === '') {
      if (!opts.allowEmptyHost) throw new AddrError('missing host', addr);
    } else if (!isValidHost(host)) {
      throw new AddrError('bad host', addr);
    }
  }
  if (!/^\d{1,5}$/.test(portText)) throw new AddrError('bad port', addr);
  const port = Number(portText);
  if (port > 65535 || (port === 0 && !opts.allowZeroPort)) throw new AddrError('port out of range', addr);
  return { host, port };
}

/** Joins a host and port, bracketing IPv6 hosts like Go's net.JoinHostPort. */
export function formatAddr(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function isValidAddr(addr: unknown, opts: AddrOptions = {}): addr is string {
  if (typeof addr !== 'string') return false;
  try {
    parseAddr(addr, opts);
    return true;
  } catch {
    return false;
  }
}

/** The reason `addr` is not valid, or undefined when it is. */
export function addrProblem(addr: string, opts: AddrOptions = {}): string | undefined {
  try {
    parseAddr(addr, opts);
    return undefined;
  } catch (e) {
    return e instanceof AddrError ? e.problem : String(e);
  }
}

/**
 * Replaces an unspecified listen host (`0.0.0.0`, `::`, empty) with `host`, as Codis does for the
 * externally visible proxy_addr/admin_addr (`--host-proxy`, `--host-admin` or the hostname).
 */
export function replaceUnspecifiedHost(addr: string, host: string): string {
  const { host: h, port } = parseAddr(addr, { allowEmptyHost: true, allowZeroPort: true });
  return h === '' || h === '0.0.0.0' || h === '::' ? formatAddr(host, port) : addr;
}
