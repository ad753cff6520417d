/* global document */
// Slots panel: the slot map, migrate range / migrate some, the action queue (enable/disable,
// interval, status, the list of queued slots with cancel), migration progress, and rebalance.
import { act, confirmDialog, infoDialog, request, showError } from './api.js';
import { drawSlots } from './charts.js';
import { $, fill, h, ranges, thousands } from './dom.js';
import { renderProgress } from './progress.js';

export function init(ctx) {
  $('migrate-range-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const [beg, end, gid] = ['mr-beg', 'mr-end', 'mr-gid'].map((id) => Number($(id).value));
    const ok = await confirmDialog({
      title: 'Migrate a range of slots?',
      body: h('p', {}, `Slots-[${beg} ~ ${end}] (${end - beg + 1} slots) will be moved to Group-[${gid}].`),
    });
    if (ok)
      await act(
        ctx,
        'Migrate range',
        'PUT',
        `/api/topom/slots/action/create-range/:xauth/${beg}/${end}/${gid}`,
      );
  });
  $('migrate-some-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const [num, src, dst] = ['ms-num', 'ms-src', 'ms-dst'].map((id) => Number($(id).value));
    const ok = await confirmDialog({
      title: 'Migrate some slots?',
      body: h('p', {}, `Up to ${num} slots of Group-[${src}] will be moved to Group-[${dst}].`),
    });
    if (ok)
      await act(
        ctx,
        'Migrate some',
        'PUT',
        `/api/topom/slots/action/create-some/:xauth/${src}/${dst}/${num}`,
      );
  });
  $('rebalance').addEventListener('click', () => rebalance(ctx));
  $('show-actions').addEventListener('change', () => renderActionList(ctx));

  // The action controls are built once, so that typing in the interval box survives refreshes.
  const interval = h('input', { id: 'action-interval', type: 'number', min: 0, max: 1000000, step: 1000 });
  fill(
    'slot-actions',
    h(
      'tbody',
      {},
      h(
        'tr',
        {},
        h('th', {}, 'Action'),
        h(
          'td',
          {},
          h('span', { id: 'action-state', class: 'badge' }),
          h(
            'button',
            { class: 'btn small', id: 'action-enable', onclick: () => setDisabled(ctx, 0) },
            'Enable',
          ),
          h(
            'button',
            { class: 'btn small', id: 'action-disable', onclick: () => setDisabled(ctx, 1) },
            'Disable',
          ),
        ),
      ),
      h(
        'tr',
        {},
        h('th', {}, 'Action Interval (µs)'),
        h(
          'td',
          {},
          interval,
          h(
            'button',
            {
              class: 'btn small',
              onclick: () => {
                const v = Math.max(0, Math.min(1000000, Math.trunc(Number(interval.value) || 0)));
                void act(ctx, 'Action interval', 'PUT', `/api/topom/slots/action/interval/:xauth/${v}`);
                interval.dataset.shown = '';
              },
            },
            'Update',
          ),
        ),
      ),
      h('tr', {}, h('th', {}, 'Action Status'), h('td', { id: 'action-status', class: 'mono small' })),
      h('tr', {}, h('th', {}, 'Queue'), h('td', { id: 'action-queue' })),
    ),
  );
}

export function render(ctx) {
  const { stats } = ctx;
  drawSlots($('slots-chart'), stats);
  const sa = stats.slot_action ?? {};
  const state = $('action-state');
  state.textContent = sa.disabled ? 'DISABLED' : 'ENABLED';
  state.className = `badge ${sa.disabled ? 'error' : 'healthy'}`;
  $('action-enable').disabled = !sa.disabled;
  $('action-disable').disabled = Boolean(sa.disabled);
  const interval = $('action-interval');
  if (document.activeElement !== interval && interval.dataset.shown !== String(sa.interval)) {
    interval.value = sa.interval ?? 0;
    interval.dataset.shown = String(sa.interval);
  }
  const status = sa.progress?.status ?? '';
  const statusEl = $('action-status');
  statusEl.textContent = status || '—';
  statusEl.classList.toggle('bad', status.startsWith('[ERROR]'));
  const queued = (stats.slots ?? []).filter((s) => s.action?.state);
  const pending = queued.filter((s) => s.action.state === 'pending').length;
  const flying = queued.length - pending;
  fill(
    'action-queue',
    queued.length === 0
      ? 'empty'
      : `${thousands(pending)} pending, ${thousands(flying)} in progress, ${sa.executor ?? 0} executor(s) running`,
  );
  renderProgress(ctx, queued);
  renderActionList(ctx);
}

function renderActionList(ctx) {
  const table = $('action-list');
  table.hidden = !$('show-actions').checked;
  if (table.hidden || !ctx.stats) return;
  const queued = (ctx.stats.slots ?? []).filter((s) => s.action?.state);
  const rows = queued.map((s) =>
    h(
      'tr',
      {},
      h('td', {}, String(s.id)),
      h('td', {}, `Group-[${s.group_id}]`),
      h('td', {}, `Group-[${s.action.target_id ?? ''}]`),
      h('td', {}, String(s.action.index ?? '')),
      h('td', { class: s.action.state === 'pending' ? '' : 'bad' }, s.action.state),
      h(
        'td',
        {},
        s.action.state === 'pending'
          ? h(
              'button',
              {
                class: 'btn small',
                title: 'Cancel this pending action',
                onclick: () =>
                  act(ctx, `Cancel slot-[${s.id}]`, 'PUT', `/api/topom/slots/action/remove/:xauth/${s.id}`),
              },
              '−',
            )
          : null,
      ),
    ),
  );
  if (rows.length === 0) rows.push(h('tr', {}, h('td', { colspan: 6, class: 'empty' }, 'No slot action.')));
  fill(
    table,
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['Slot', 'Group', 'Target', 'Index', 'Status', ''].map((t) => h('th', {}, t)),
      ),
    ),
    h('tbody', {}, rows),
  );
}

function setDisabled(ctx, value) {
  return act(
    ctx,
    value ? 'Disable actions' : 'Enable actions',
    'PUT',
    `/api/topom/slots/action/disabled/:xauth/${value}`,
  );
}

async function rebalance(ctx) {
  let plan;
  try {
    plan = await request(ctx, 'PUT', '/api/topom/slots/rebalance/:xauth/0');
  } catch (e) {
    return showError('Rebalance', e);
  }
  const byGroup = new Map();
  for (const [sid, gid] of Object.entries(plan ?? {})) {
    if (!byGroup.has(gid)) byGroup.set(gid, []);
    byGroup.get(gid).push(Number(sid));
  }
  if (byGroup.size === 0)
    return infoDialog('Rebalance', h('p', {}, 'The slots are balanced already: nothing to move.'));
  const lines = [...byGroup.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([gid, sids]) =>
      h(
        'li',
        { class: 'mono small' },
        `group-[${gid}] <== ${ranges(sids)
          .map(([a, b]) => `[${a},${b}]`)
          .join(', ')}  (${sids.length} slots)`,
      ),
    );
  const ok = await confirmDialog({
    title: 'Rebalance all slots?',
    body: [h('p', {}, 'These slots will be queued for migration:'), h('ul', { class: 'plan' }, lines)],
    ok: 'Rebalance',
  });
  if (ok) await act(ctx, 'Rebalance', 'PUT', '/api/topom/slots/rebalance/:xauth/1');
}
