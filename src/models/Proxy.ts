/**
 * Codis models.Proxy (stored at /codis3/{product}/proxy/proxy-{token}, answered by /api/proxy/model)
 * and models.Sentinel. JSON field names are part of the storage and API contract.
 */

export interface ProxyModel {
  /** Assigned by the dashboard (max+1); absent (omitempty) in the proxy's own answer. */
  id?: number;
  token: string;
  /** Human-readable start time. */
  start_time: string;
  /** Externally reachable admin address (unspecified host replaced). */
  admin_addr: string;
  proto_type: string;
  /** Client-facing address. */
  proxy_addr: string;
  /** Set only when jodis_addr is configured (omitempty). */
  jodis_path?: string;
  product_name: string;
  pid: number;
  pwd: string;
  sys: string;
  hostname: string;
  datacenter: string;
}

export interface SentinelModel {
  /** `host:port` of each sentinel (omitempty). */
  servers?: string[];
  out_of_sync: boolean;
}

/** Codis's Go names, for code that mirrors the original. */
export type Proxy = ProxyModel;
export type Sentinel = SentinelModel;

/** The stored JSON object in Codis field order, with Go's omitempty applied to id and jodis_path. */
export function proxyModelToJson(p: ProxyModel): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (p.id) out.id = p.id;
  out.token = p.token;
  out.start_time = p.start_time;
  out.admin_addr = p.admin_addr;
  out.proto_type = p.proto_type;
  out.proxy_addr = p.proxy_addr;
  if (p.jodis_path) out.jodis_path = p.jodis_path;
  out.product_name = p.product_name;
  out.pid = p.pid;
  out.pwd = p.pwd;
  out.sys = p.sys;
  out.hostname = p.hostname;
  out.datacenter = p.datacenter;
  return out;
}

export function sentinelModelToJson(s: SentinelModel): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (s.servers && s.servers.length > 0) out.servers = s.servers;
  out.out_of_sync = s.out_of_sync;
  return out;
}
