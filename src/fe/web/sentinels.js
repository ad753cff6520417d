// Sentinels panel: add, resync all (push the masters to every sentinel and proxy), and per
// sentinel its monitored masters, INFO, status summary, run-id consistency and removal.
import { act, confirmDialog, productUrl, seg } from './api.js';
import { $, fill, h } from './dom.js';
import { redisStatus, sampleCause } from './model.js';

export function init(ctx) {
  $('sentinel-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const addr = $('sentinel-addr').value.trim();
    if (!addr) return;
    const ok = await act(ctx, `Add sentinel ${addr}`, 'PUT', `/api/topom/sentinels/add/:xauth/${seg(addr)}`);
    if (ok !== undefined) $('sentinel-addr').value = '';
  });
}

export function render(ctx) {
  const { stats } = ctx;
  const model = stats.sentinels?.model ?? {};
  const servers = model.servers ?? [];
  $('sentinel-sync-note').textContent = model.out_of_sync ? '(OUT OF SYNC)' : '';
  const sync = h(
    'button',
    {
      class: `btn small ${model.out_of_sync ? 'danger' : ''}`,
      title: 'Monitor every group master on every sentinel, then push the list to every proxy',
      onclick: async () => {
        const ok = await confirmDialog({
          title: 'Sync all sentinels?',
          body: h(
            'p',
            {},
            'Every sentinel forgets this product’s masters and monitors the current ones; proxies get the list.',
          ),
        });
        if (ok) await act(ctx, 'Sync sentinels', 'PUT', '/api/topom/sentinels/resync-all/:xauth');
      },
    },
    'SYNC',
  );
  const head = h(
    'thead',
    {},
    h(
      'tr',
      {},
      h('th', {}, sync),
      h('th', {}),
      ['Sentinel', 'Status', 'Consistency', ''].map((t) => h('th', {}, t)),
    ),
  );
  const rows = servers.map((addr) => row(ctx, addr, stats.sentinels?.stats?.[addr]));
  if (rows.length === 0) rows.push(h('tr', {}, h('td', { colspan: 6, class: 'empty' }, 'No sentinel.')));
  fill('sentinel-table', head, h('tbody', {}, rows));
}

/** `masters=N,down=N,slaves=<avg>,sentinels=<avg>` over this product's masters in the sentinel's INFO. */
export function summary(product, info) {
  const n = Number(info?.sentinel_masters || 0);
  let masters = 0;
  let down = 0;
  let slaves = 0;
  let sentinels = 0;
  for (let i = 0; i < n; i++) {
    const f = Object.fromEntries(
      String(info[`master${i}`] ?? '')
        .split(',')
        .map((kv) => kv.split('=')),
    );
    if (!String(f.name ?? '').startsWith(`${product}-`)) continue;
    masters++;
    if (f.status !== 'ok') down++;
    slaves += Number(f.slaves || 0);
    sentinels += Number(f.sentinels || 0);
  }
  const avg = (x) => (masters ? +(x / masters).toFixed(2) : 0);
  return {
    masters,
    down,
    text: `masters=${masters},down=${down},slaves=${avg(slaves)},sentinels=${avg(sentinels)}`,
  };
}

/**
 * Run ids the sentinel knows for a group but the group's servers do not have ([+]), and the
 * reverse ([-]).
 */
function consistency(ctx, sample) {
  const { stats, product } = ctx;
  const out = [];
  for (const g of stats.group?.models ?? []) {
    const mon = sample?.sentinel?.[`${product}-${g.id}`];
    if (!mon) continue;
    const known = [mon.master, ...(mon.slaves ?? [])].filter(Boolean);
    const sentinelIds = new Set(known.map((x) => x.runid).filter(Boolean));
    const groupIds = new Map();
    for (const s of g.servers) {
      const id = stats.group.stats?.[s.server]?.stats?.run_id;
      if (id) groupIds.set(id, s.server);
    }
    for (const x of known)
      if (x.runid && !groupIds.has(x.runid))
        out.push(`[+]group=${g.id},server=${x.ip}:${x.port},runid=${x.runid}`);
    for (const [id, addr] of groupIds)
      if (!sentinelIds.has(id)) out.push(`[-]group=${g.id},server=${addr},runid=${id}`);
  }
  return out;
}

function row(ctx, addr, sample) {
  const status = redisStatus(sample);
  const s = status === 'OK' ? summary(ctx.product, sample.stats) : null;
  const issues = status === 'OK' ? consistency(ctx, sample) : [];
  const remove = (force) => async () => {
    const ok = await confirmDialog({
      title: `${force ? 'Force-remove' : 'Remove'} sentinel ${addr}?`,
      body: h(
        'p',
        {},
        force
          ? 'It is dropped from the list even if it cannot be told to forget this product’s masters.'
          : 'It stops monitoring this product’s masters and leaves the list.',
      ),
      danger: force,
    });
    if (ok)
      await act(
        ctx,
        `Remove sentinel ${addr}`,
        'PUT',
        `/api/topom/sentinels/del/:xauth/${seg(addr)}/${force ? 1 : 0}`,
      );
  };
  return h(
    'tr',
    {},
    h(
      'td',
      { class: 'links' },
      h(
        'a',
        {
          href: productUrl(ctx, `/api/topom/sentinels/info/${seg(addr)}/monitored`),
          target: '_blank',
          rel: 'noopener',
        },
        'WATCHED',
      ),
    ),
    h(
      'td',
      { class: 'links' },
      h(
        'a',
        {
          href: productUrl(ctx, `/api/topom/sentinels/info/${seg(addr)}`),
          target: '_blank',
          rel: 'noopener',
          title: 'INFO',
        },
        'S',
      ),
    ),
    h('td', { class: 'mono' }, addr),
    h(
      'td',
      { class: 'mono small' },
      s
        ? h('span', { class: s.down ? 'bad' : '' }, s.text)
        : h('span', { class: `badge ${status.toLowerCase()}`, title: sampleCause(sample) }, status),
    ),
    h(
      'td',
      { class: 'mono small bad' },
      issues.map((x) => h('div', {}, x)),
    ),
    h(
      'td',
      { class: 'row-actions' },
      status === 'ERROR' || status === 'TIMEOUT'
        ? h('button', { class: 'btn small danger', title: 'Force remove', onclick: remove(true) }, '✕')
        : null,
      h('button', { class: 'btn small', title: 'Remove', onclick: remove(false) }, '−'),
    ),
  );
}
