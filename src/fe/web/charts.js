// Charts drawn by hand in SVG: the OPS line of the overview and the slot map of the slots panel.
import { compact, fill, groupColor, h, ranges } from './dom.js';

const SLOTS = 1024;

function width(container, fallback) {
  return Math.max(320, Math.floor(container.clientWidth || fallback));
}

/** OPS over time: `samples` = [{t: ms, v: ops/s}], oldest first. */
export function drawOps(container, samples) {
  const W = width(container, 640);
  const H = 150;
  const pad = { l: 44, r: 12, t: 10, b: 22 };
  const iw = W - pad.l - pad.r;
  const ih = H - pad.t - pad.b;
  const max = Math.max(10, ...samples.map((s) => s.v));
  const top = niceCeil(max);
  const x = (i) => pad.l + (samples.length <= 1 ? iw : (i / (samples.length - 1)) * iw);
  const y = (v) => pad.t + ih - (v / top) * ih;
  const grid = [0, 0.25, 0.5, 0.75, 1].map((f) =>
    h(
      'g',
      {},
      h('line', { x1: pad.l, x2: W - pad.r, y1: y(top * f), y2: y(top * f), class: 'grid-line' }),
      h('text', { x: pad.l - 6, y: y(top * f) + 4, class: 'axis', 'text-anchor': 'end' }, compact(top * f)),
    ),
  );
  const pts = samples.map((s, i) => `${x(i).toFixed(1)},${y(s.v).toFixed(1)}`);
  const parts = [h('rect', { x: 0, y: 0, width: W, height: H, class: 'chart-bg' }), ...grid];
  if (samples.length > 0) {
    const area = `${pad.l + (samples.length <= 1 ? iw : 0)},${y(0)} ${pts.join(' ')} ${x(samples.length - 1)},${y(0)}`;
    parts.push(h('polygon', { points: area, class: 'ops-area' }));
    parts.push(h('polyline', { points: pts.join(' '), class: 'ops-line' }));
    samples.forEach((s, i) =>
      parts.push(
        h(
          'circle',
          { cx: x(i), cy: y(s.v), r: 2.5, class: 'ops-dot' },
          h('title', {}, `${clock(s.t)}  ${s.v.toLocaleString('en-US')} ops/s`),
        ),
      ),
    );
    const first = samples[0];
    const last = samples[samples.length - 1];
    parts.push(h('text', { x: pad.l, y: H - 6, class: 'axis' }, clock(first.t)));
    parts.push(h('text', { x: W - pad.r, y: H - 6, class: 'axis', 'text-anchor': 'end' }, clock(last.t)));
  } else {
    parts.push(
      h('text', { x: W / 2, y: H / 2, class: 'axis', 'text-anchor': 'middle' }, 'waiting for samples…'),
    );
  }
  fill(container, h('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img' }, parts));
}

function niceCeil(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function clock(t) {
  return new Date(t).toTimeString().slice(0, 8);
}

/**
 * The slot map: one row per group (plus Offline) across slots 0..1023. Owned ranges are solid;
 * ranges migrating into a group are striped in its row; tooltips name each range.
 */
export function drawSlots(container, stats) {
  const slots = stats.slots ?? [];
  const gids = new Set((stats.group?.models ?? []).map((g) => g.id));
  for (const s of slots) {
    if (s.group_id) gids.add(s.group_id);
    if (s.action?.target_id) gids.add(s.action.target_id);
  }
  const offline = slots.filter((s) => !s.group_id).map((s) => s.id);
  const rows = [{ label: 'Offline', color: '#9aa3ad', owned: offline, incoming: [] }];
  for (const gid of [...gids].sort((a, b) => a - b)) {
    rows.push({
      gid,
      label: `Group-${gid}`,
      color: groupColor(gid),
      owned: slots.filter((s) => s.group_id === gid).map((s) => s.id),
      incoming: slots.filter((s) => s.action?.state && s.action.target_id === gid).map((s) => s.id),
    });
  }

  const W = width(container, 900);
  const labelW = 150;
  const pad = { r: 14, t: 6 };
  const rowH = 24;
  const barW = W - labelW - pad.r;
  const H = pad.t + rows.length * rowH + 26;
  const sx = (slot) => labelW + (slot / SLOTS) * barW;
  const defs = h(
    'defs',
    {},
    rows.map((r, i) =>
      h(
        'pattern',
        {
          id: `stripe-${i}`,
          width: 6,
          height: 6,
          patternUnits: 'userSpaceOnUse',
          patternTransform: 'rotate(45)',
        },
        h('rect', { width: 6, height: 6, fill: r.color, 'fill-opacity': 0.25 }),
        h('rect', { width: 3, height: 6, fill: r.color }),
      ),
    ),
  );
  const parts = [defs];
  for (let t = 0; t <= SLOTS; t += 64) {
    parts.push(h('line', { x1: sx(t), x2: sx(t), y1: pad.t, y2: H - 22, class: 'grid-line' }));
    if (t % 128 === 0)
      parts.push(h('text', { x: sx(t), y: H - 8, class: 'axis', 'text-anchor': 'middle' }, String(t)));
  }
  rows.forEach((r, i) => {
    const y = pad.t + i * rowH;
    const count = r.incoming.length ? `${r.owned.length} ← ${r.incoming.length}` : String(r.owned.length);
    parts.push(
      h('rect', { x: 0, y, width: 10, height: rowH - 8, rx: 2, fill: r.color, transform: 'translate(0,4)' }),
      h('text', { x: 16, y: y + rowH / 2 + 4, class: 'row-label' }, r.label),
      h('text', { x: labelW - 8, y: y + rowH / 2 + 4, class: 'row-count', 'text-anchor': 'end' }, count),
      h('rect', { x: labelW, y: y + 4, width: barW, height: rowH - 8, class: 'bar-track' }),
    );
    const bar = (list, fillColor, what) =>
      ranges(list).map(([a, b]) =>
        h(
          'rect',
          {
            x: sx(a),
            y: y + 4,
            width: Math.max(1.5, sx(b + 1) - sx(a)),
            height: rowH - 8,
            fill: fillColor,
            class: 'slot-range',
          },
          h('title', {}, `Slot-[${a},${b}] ${what} (${b - a + 1} slot${a === b ? '' : 's'})`),
        ),
      );
    parts.push(...bar(r.owned, r.color, r.gid ? `--> Group-[${r.gid}]` : 'offline'));
    parts.push(...bar(r.incoming, `url(#stripe-${i})`, `migrating --> Group-[${r.gid}]`));
  });
  fill(container, h('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img' }, parts));
}
