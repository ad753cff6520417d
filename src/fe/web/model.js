// Reading the dashboard's Stats JSON (reference §4.13): statuses, sums and INFO fields.

/** A proxy sample → HEALTHY, PENDING, ERROR or TIMEOUT (no sample yet, or not online: PENDING). */
export function proxyStatus(sample) {
  if (!sample) return 'PENDING';
  if (sample.timeout) return 'TIMEOUT';
  if (sample.error) return 'ERROR';
  if (sample.stats?.online) return 'HEALTHY';
  return 'PENDING';
}

/** A redis or sentinel sample → OK, PENDING, ERROR or TIMEOUT. */
export function redisStatus(sample) {
  if (!sample) return 'PENDING';
  if (sample.timeout) return 'TIMEOUT';
  if (sample.error) return 'ERROR';
  return sample.stats ? 'OK' : 'PENDING';
}

/** The cause of a failed sample, for tooltips. */
export function sampleCause(sample) {
  if (!sample) return 'no sample yet';
  if (sample.timeout) return 'no answer within 1 s';
  return sample.error?.cause ?? sample.error?.Cause ?? '';
}

/** `db0:keys=1,expires=0,avg_ttl=0` INFO lines → [{db: 'db0', keys, expires, avg_ttl, text}]. */
export function keyspace(info) {
  const out = [];
  for (const [k, v] of Object.entries(info ?? {})) {
    if (!/^db\d+$/.test(k)) continue;
    const fields = Object.fromEntries(
      String(v)
        .split(',')
        .map((kv) => kv.split('='))
        .map(([a, b]) => [a, Number(b) || 0]),
    );
    out.push({
      db: k,
      keys: fields.keys ?? 0,
      expires: fields.expires ?? 0,
      avg_ttl: fields.avg_ttl ?? 0,
      text: v,
    });
  }
  return out.sort((a, b) => Number(a.db.slice(2)) - Number(b.db.slice(2)));
}

/** Sums over the masters (first server of each group) that have a sample. */
export function masterTotals(stats) {
  let memory = 0;
  let keys = 0;
  for (const g of stats.group?.models ?? []) {
    const master = g.servers?.[0]?.server;
    const info = master && stats.group.stats?.[master]?.stats;
    if (!info) continue;
    memory += Number(info.used_memory || 0);
    for (const db of keyspace(info)) keys += db.keys;
  }
  return { memory, keys };
}

/** Sums over the proxies that answered. */
export function proxyTotals(stats) {
  let qps = 0;
  let sessions = 0;
  for (const p of stats.proxy?.models ?? []) {
    const s = stats.proxy.stats?.[p.token]?.stats;
    if (!s) continue;
    qps += Number(s.ops?.qps || 0);
    sessions += Number(s.sessions?.alive || 0);
  }
  return { qps, sessions };
}

/** The sentinel's current master of a group ("ip:port"), or undefined. */
export function haMaster(stats, gid) {
  return stats.sentinels?.masters?.[String(gid)];
}

/**
 * How a server relates to what sentinel says (Codis' classes): ha_master, ha_not_master (index 0
 * but sentinel names another), ha_real_master (a replica sentinel made master), ha_slave,
 * ha_undefined (sentinel does not know the group).
 */
export function haClass(stats, gid, index, addr) {
  const m = haMaster(stats, gid);
  if (!m) return 'ha_undefined';
  if (index === 0) return m === addr ? 'ha_master' : 'ha_not_master';
  return m === addr ? 'ha_real_master' : 'ha_slave';
}

/** A group's server that sentinel made master but the group has as a replica, if any. */
export function haRealMaster(stats, group) {
  return group.servers.find((s, i) => haClass(stats, group.id, i, s.server) === 'ha_real_master');
}

/**
 * Per-slot migration progress, when the dashboard reports it (newer dashboards put it in
 * `slot_action.progress.slots`: [{id, state, from, to, keys_moved, keys_left, keys_per_sec,
 * eta_seconds, …}]). An object keyed by slot id, or entries naming the slot `slot`/`sid`, are read
 * too. Returns [{slot, fields}] sorted by slot.
 */
export function slotProgress(stats) {
  const sa = stats.slot_action ?? {};
  const raw = sa.progress?.slots ?? sa.migrations;
  if (!raw || typeof raw !== 'object') return [];
  const entries = Array.isArray(raw)
    ? raw.map((e) => [e?.id ?? e?.slot ?? e?.sid, e])
    : Object.entries(raw).map(([k, e]) => [k, e]);
  return entries
    .filter(([sid, e]) => sid !== undefined && e && typeof e === 'object')
    .map(([sid, e]) => ({ slot: Number(sid), fields: e }))
    .sort((a, b) => a.slot - b.slot);
}

/** A fraction 0..1 from a progress entry when it says enough (percent, moved vs left or total). */
export function progressFraction(f) {
  const n = (k) => (typeof f[k] === 'number' && Number.isFinite(f[k]) ? f[k] : undefined);
  if (n('percent') !== undefined) return Math.min(1, n('percent') / 100);
  const done = n('keys_moved') ?? n('moved') ?? n('done');
  const left = n('keys_left') ?? n('remaining');
  const total = n('total') ?? (done !== undefined && left !== undefined ? done + left : undefined);
  if (done !== undefined && total) return Math.min(1, done / total);
  if (done !== undefined && left === 0) return 1;
  return undefined;
}

/** Seconds → "1m05s", null → "?". */
export function duration(s) {
  if (s === null || s === undefined) return '?';
  s = Math.round(s);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
