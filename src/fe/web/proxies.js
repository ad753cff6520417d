// Proxy panel: add a proxy by its admin address; per proxy its links, addresses, SYNC (reinit),
// data center, sessions, commands and status; remove, or force-remove one that does not answer.
import { act, confirmDialog, seg } from './api.js';
import { $, fill, h, thousands } from './dom.js';
import { haRealMaster, proxyStatus, sampleCause } from './model.js';

export function init(ctx) {
  $('proxy-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const addr = $('proxy-addr').value.trim();
    if (!addr) return;
    const ok = await act(ctx, `New proxy ${addr}`, 'PUT', `/api/topom/proxy/create/:xauth/${seg(addr)}`);
    if (ok !== undefined) $('proxy-addr').value = '';
  });
}

export function render(ctx) {
  const { stats } = ctx;
  const models = stats.proxy?.models ?? [];
  const head = h(
    'thead',
    {},
    h(
      'tr',
      {},
      ['ID', 'Stats', 'Proxy', 'Admin', '', 'Data Center', 'Sessions', 'Commands', 'Status', ''].map((t) =>
        h('th', {}, t),
      ),
    ),
  );
  const rows = models.map((p) => row(ctx, p, stats.proxy.stats?.[p.token]));
  if (rows.length === 0) rows.push(h('tr', {}, h('td', { colspan: 10, class: 'empty' }, 'No proxy yet.')));
  fill('proxy-table', head, h('tbody', {}, rows));
}

function row(ctx, p, sample) {
  const status = proxyStatus(sample);
  const s = sample?.stats;
  const switched = Boolean(s?.sentinels?.switched);
  const primaryOnly = Boolean(s?.backend?.primary_only);
  const addrAttrs = switched ? { class: 'mono switched', title: 'HA: MASTER SWITCHED' } : { class: 'mono' };
  const syncClass =
    status === 'HEALTHY' && !switched
      ? 'btn small ok'
      : status === 'PENDING' || switched
        ? 'btn small danger'
        : 'btn small';
  return h(
    'tr',
    { dataset: { token: p.token } },
    h('td', {}, String(p.id ?? '')),
    h(
      'td',
      { class: 'links' },
      h(
        'a',
        { href: `http://${p.admin_addr}/proxy`, target: '_blank', rel: 'noopener', title: 'Proxy overview' },
        'F',
      ),
      h(
        'a',
        {
          href: `http://${p.admin_addr}/proxy/stats`,
          target: '_blank',
          rel: 'noopener',
          class: primaryOnly ? 'primary-only' : null,
          title: primaryOnly ? 'BACKEND: PRIMARY ONLY' : 'Proxy stats',
        },
        'S',
      ),
    ),
    h('td', addrAttrs, p.proxy_addr),
    h('td', addrAttrs, p.admin_addr),
    h(
      'td',
      {},
      h(
        'button',
        {
          class: syncClass,
          title: 'Push every slot to this proxy again (reinit)',
          onclick: () => reinit(ctx, p),
        },
        'SYNC',
      ),
    ),
    h('td', {}, p.datacenter || ''),
    h(
      'td',
      { class: 'mono small' },
      s ? `total=${thousands(s.sessions?.total)}, alive=${thousands(s.sessions?.alive)}` : '',
    ),
    h(
      'td',
      { class: 'mono small' },
      s && status === 'HEALTHY'
        ? `total=${thousands(s.ops?.total)}, fails=${thousands(s.ops?.fails)}, rsp.errs=${thousands(s.ops?.redis?.errors)}, qps=${thousands(s.ops?.qps)}`
        : '',
    ),
    h(
      'td',
      {},
      h(
        'span',
        {
          class: `badge ${status.toLowerCase()} proxy-status`,
          title: status === 'HEALTHY' ? 'online' : sampleCause(sample),
        },
        status,
      ),
    ),
    h(
      'td',
      { class: 'row-actions' },
      status === 'ERROR' || status === 'TIMEOUT'
        ? h(
            'button',
            {
              class: 'btn small danger',
              title: 'Force remove: forget it even if it cannot be shut down',
              onclick: () => remove(ctx, p, true),
            },
            '✕',
          )
        : null,
      h(
        'button',
        {
          class: 'btn small',
          title: 'Shut the proxy down and remove it',
          onclick: () => remove(ctx, p, false),
        },
        '−',
      ),
    ),
  );
}

async function reinit(ctx, p) {
  const conflicts = (ctx.stats.group?.models ?? []).filter((g) => haRealMaster(ctx.stats, g));
  if (conflicts.length > 0) {
    const ok = await confirmDialog({
      title: `Sync proxy-[${p.id}] ${p.proxy_addr}?`,
      body: h(
        'p',
        {},
        `Sentinel reports a different master for group(s) ${conflicts.map((g) => g.id).join(', ')}. `,
        'Syncing pushes the stored masters to this proxy, undoing its switch.',
      ),
      danger: true,
    });
    if (!ok) return;
  }
  await act(ctx, `Sync proxy-[${p.id}]`, 'PUT', `/api/topom/proxy/reinit/:xauth/${seg(p.token)}`);
}

async function remove(ctx, p, force) {
  const ok = await confirmDialog({
    title: `${force ? 'Force-remove' : 'Remove'} proxy-[${p.id}]?`,
    body: h(
      'p',
      {},
      h('span', { class: 'mono' }, `${p.proxy_addr} (admin ${p.admin_addr})`),
      force
        ? ' is forgotten by the dashboard even though it cannot be shut down.'
        : ' is shut down and removed from the product.',
    ),
    danger: force,
  });
  if (!ok) return;
  await act(
    ctx,
    `Remove proxy-[${p.id}]`,
    'PUT',
    `/api/topom/proxy/remove/:xauth/${seg(p.token)}/${force ? 1 : 0}`,
  );
}
