/**
 * Codis xauth and token rules (pkg/utils/rpc): they must match byte for byte so that Codis tools and
 * codis-ts processes accept each other's admin calls.
 */
import { createHash } from 'node:crypto';
import { networkInterfaces } from 'node:os';

/** `"Codis-XAuth"` + `-[seg]` per segment, SHA-256, hex of the first 16 bytes (32 lower-case chars). */
export function newXAuth(...segs: string[]): string {
  let text = 'Codis-XAuth';
  for (const s of segs) text += `-[${s}]`;
  return createHash('sha256').update(text, 'utf8').digest().subarray(0, 16).toString('hex');
}

/** The xauth path segment of the proxy admin API. */
export function proxyXAuth(product: string, auth: string, token: string): string {
  return newXAuth(product, auth, token);
}

/** The xauth path segment of the dashboard admin API (does not include product_auth). */
export function topomXAuth(product: string): string {
  return newXAuth(product);
}

/**
 * Hardware addresses as Go's net.Interfaces lists them: one per interface, all-zero ones (loopback)
 * left out, sorted. os.networkInterfaces() only lists interfaces that have an IP address, so an
 * interface that is down may count in Go and not here.
 */
export function macAddresses(): string[] {
  const list: string[] = [];
  for (const entries of Object.values(networkInterfaces())) {
    const mac = entries?.find((e) => e.mac && e.mac !== '00:00:00:00:00:00')?.mac;
    if (mac) list.push(mac.toLowerCase());
  }
  return list.sort();
}

/** md5 hex of `Codis-Token@[mac1 mac2]` + `-{seg}` per segment, as Go's `fmt "%v"` prints the list. */
export function newToken(segs: string[], macs: string[] = macAddresses()): string {
  let text = `Codis-Token@[${[...macs].sort().join(' ')}]`;
  for (const s of segs) text += `-{${s}}`;
  return createHash('md5').update(text, 'utf8').digest('hex');
}

/** Proxy identity; the addresses are the raw bound listen addresses (e.g. `0.0.0.0:19000`). */
export function proxyToken(product: string, proxyAddr: string, adminAddr: string, macs?: string[]): string {
  return newToken([product, proxyAddr, adminAddr], macs);
}

/** Dashboard identity. */
export function topomToken(product: string, adminAddr: string, macs?: string[]): string {
  return newToken([product, adminAddr], macs);
}
