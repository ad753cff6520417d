// Migration progress in the slots panel: the slots moving now, and, when the dashboard reports
// them (`slot_action.progress`), its totals, rates, ETA, source scans and per-slot counts.
import { act, confirmDialog } from './api.js';
import { bytes, compact, fill, h, thousands } from './dom.js';
import { duration, progressFraction, slotProgress } from './model.js';

const IN_FLIGHT = new Set(['preparing', 'prepared', 'migrating', 'finished']);
/** Slot rows shown until the user asks for all of them. */
const FEW_ROWS = 10;
let showAll = false;

const num = (v) => typeof v === 'number' && Number.isFinite(v);

/** The totals line: only the figures the dashboard gives. */
function summary(p) {
  const parts = [];
  if (num(p.running)) parts.push(`${p.running} migrating`);
  if (num(p.pending)) parts.push(`${thousands(p.pending)} pending`);
  if (num(p.slots_done)) parts.push(`${thousands(p.slots_done)} done`);
  if (num(p.keys_moved)) parts.push(`${compact(p.keys_moved)} keys moved`);
  if (num(p.keys_left)) parts.push(`${compact(p.keys_left)} left`);
  if (num(p.keys_per_sec)) parts.push(`${compact(p.keys_per_sec)} keys/s`);
  if (num(p.bytes_per_sec)) parts.push(`${bytes(p.bytes_per_sec)}/s`);
  if ('eta_seconds' in p) parts.push(`ETA ${duration(p.eta_seconds)}`);
  if (num(p.longest_stall_ms)) parts.push(`longest stall ${p.longest_stall_ms} ms`);
  return parts.join(' · ');
}

function sourcesTable(sources) {
  if (!Array.isArray(sources) || sources.length === 0) return null;
  return h(
    'table',
    { class: 'grid' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['Source', 'Passes', 'Scanning', 'Longest stall', ''].map((t) => h('th', {}, t)),
      ),
    ),
    h(
      'tbody',
      {},
      sources.map((s) =>
        h(
          'tr',
          {},
          h('td', { class: 'mono' }, `Group-[${s.group_id ?? '?'}] ${s.addr ?? ''}`),
          h('td', {}, String(s.passes ?? '')),
          h(
            'td',
            { class: 'small' },
            s.scanning
              ? `db${s.scanning.db}: ${compact(s.scanning.scanned)} of ${compact(s.scanning.of)} keys`
              : '—',
          ),
          h('td', {}, num(s.longest_stall_ms) ? `${s.longest_stall_ms} ms` : ''),
          h('td', { class: 'bad small' }, s.error ?? ''),
        ),
      ),
    ),
  );
}

/** Known per-slot fields as text; anything else as key=value. */
function slotDetails(f) {
  const known = [];
  if (num(f.keys_moved)) known.push(`${thousands(f.keys_moved)} moved`);
  if (num(f.keys_left)) known.push(`${thousands(f.keys_left)} left`);
  if (num(f.keys_per_sec)) known.push(`${compact(f.keys_per_sec)} keys/s`);
  if ('eta_seconds' in f) known.push(`ETA ${duration(f.eta_seconds)}`);
  if (num(f.pass)) known.push(`pass ${f.pass}`);
  if (f.reversed) known.push('reversed');
  if (known.length > 0) return known.join(', ');
  return Object.entries(f)
    .filter(([k, v]) => !['id', 'slot', 'sid', 'state'].includes(k) && (num(v) || typeof v === 'string'))
    .map(([k, v]) => `${k}=${num(v) ? thousands(v) : v}`)
    .join(', ');
}

export function renderProgress(ctx, queued) {
  const p = ctx.stats.slot_action?.progress ?? {};
  const perSlot = new Map(slotProgress(ctx.stats).map((x) => [x.slot, x.fields]));
  const flying = queued.filter((s) => IN_FLIGHT.has(s.action.state));
  const ids = [...new Set([...flying.map((s) => s.id), ...perSlot.keys()])].sort((a, b) => a - b);
  const line = summary(p);
  const overall = num(p.keys_moved) && num(p.keys_left) ? progressFraction(p) : undefined;
  if (ids.length === 0 && !(num(p.running) && p.running > 0)) return fill('migration-progress');
  // Aborting is offered by dashboards that report per-slot progress (they have the abort call).
  const canAbort = Array.isArray(p.slots);
  const shown = showAll ? ids : ids.slice(0, FEW_ROWS);
  const rows = shown.map((sid) => {
    const s = ctx.stats.slots?.[sid];
    const f = perSlot.get(sid) ?? {};
    const frac = progressFraction(f);
    const from = f.from ?? s?.group_id ?? '?';
    const to = f.to ?? s?.action?.target_id ?? '?';
    return h(
      'tr',
      { dataset: { slot: sid } },
      h('td', {}, String(sid)),
      h('td', { class: 'nowrap' }, `Group-[${from}] → Group-[${to}]`),
      h('td', {}, f.state || s?.action?.state || ''),
      h(
        'td',
        { class: 'progress-cell' },
        frac === undefined
          ? null
          : h(
              'div',
              { class: 'progress', title: `${(frac * 100).toFixed(1)}%` },
              h('div', { style: `width:${(frac * 100).toFixed(1)}%` }),
            ),
        h('span', { class: 'small' }, slotDetails(f)),
      ),
      h(
        'td',
        { class: 'row-actions' },
        canAbort
          ? h(
              'button',
              { class: 'btn small', title: 'Stop and move the slot back', onclick: () => abort(ctx, sid) },
              'Abort',
            )
          : null,
      ),
    );
  });
  fill(
    'migration-progress',
    h('h3', {}, 'Migration in progress'),
    line
      ? h(
          'div',
          { class: 'migration-summary' },
          overall === undefined
            ? null
            : h(
                'div',
                { class: 'progress wide', title: `${(overall * 100).toFixed(1)}% of the keys moved` },
                h('div', { style: `width:${(overall * 100).toFixed(1)}%` }),
              ),
          h('span', { class: 'small', id: 'migration-summary' }, line),
        )
      : null,
    p.stalled ? h('p', { class: 'bad small' }, `Stalled: ${p.stalled}`) : null,
    Array.isArray(p.errors) ? p.errors.map((e) => h('p', { class: 'bad small' }, e)) : null,
    sourcesTable(p.sources),
    rows.length
      ? h(
          'table',
          { class: 'grid' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Slot', 'Move', 'State', 'Progress', ''].map((t) => h('th', {}, t)),
            ),
          ),
          h('tbody', {}, rows),
        )
      : null,
    ids.length > FEW_ROWS
      ? h(
          'button',
          {
            class: 'btn small',
            onclick: () => {
              showAll = !showAll;
              renderProgress(ctx, queued);
            },
          },
          showAll ? 'Show fewer' : `Show all ${ids.length} slots`,
        )
      : null,
  );
}

async function abort(ctx, sid) {
  const ok = await confirmDialog({
    title: `Abort the migration of slot ${sid}?`,
    body: h('p', {}, 'The slot goes back to its source group; keys already moved are moved back.'),
    danger: true,
  });
  if (ok) await act(ctx, `Abort slot-[${sid}]`, 'PUT', `/api/topom/slots/action/abort/:xauth/${sid}`);
}
