// Codis models.Topom: the dashboard's identity, stored at /codis3/{product}/topom, which is also the
// ownership lock. No omitempty field: everything is always written.

export interface Topom {
  /** md5 token of the dashboard. */
  token: string;
  /** Human-readable start time. */
  start_time: string;
  /** Externally reachable admin address. */
  admin_addr: string;
  product_name: string;
  pid: number;
  /** Working directory. */
  pwd: string;
  /** Output of `uname -a`. */
  sys: string;
}

/** The stored JSON object, in Codis field order. */
export function topomToJson(t: Topom): Record<string, unknown> {
  return {
    token: t.token,
    start_time: t.start_time,
    admin_addr: t.admin_addr,
    product_name: t.product_name,
    pid: t.pid,
    pwd: t.pwd,
    sys: t.sys,
  };
}
