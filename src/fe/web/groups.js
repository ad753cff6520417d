// Group panel: new group, add server, sync all, replicas on/off for all; one table per group with
// promote / sync, INFO link, master link, replica-group flag, sync action (SLAVEOF), memory, keys.
import { act, confirmDialog, productUrl, seg } from './api.js';
import { $, bytes, fill, h, thousands } from './dom.js';
import { haClass, haMaster, haRealMaster, keyspace, redisStatus, sampleCause } from './model.js';

export function init(ctx) {
  $('group-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const gid = Number($('group-id').value);
    const ok = await act(ctx, `New group ${gid}`, 'PUT', `/api/topom/group/create/:xauth/${gid}`);
    if (ok !== undefined) $('group-id').value = '';
  });
  $('server-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const dc = $('server-dc').value.trim();
    const addr = $('server-addr').value.trim();
    const gid = Number($('server-gid').value);
    const path = `/api/topom/group/add/:xauth/${gid}/${seg(addr)}${dc ? `/${seg(dc)}` : ''}`;
    const ok = await act(ctx, `Add ${addr} to group ${gid}`, 'PUT', path);
    if (ok !== undefined) $('server-addr').value = '';
  });
  const confirmed = (title, text, method, path) => async () => {
    if (await confirmDialog({ title, body: h('p', {}, text) })) await act(ctx, title, method, path);
  };
  $('resync-all').addEventListener(
    'click',
    confirmed(
      'Sync all groups?',
      'Every group’s slots are pushed to every proxy again.',
      'PUT',
      '/api/topom/group/resync-all/:xauth',
    ),
  );
  $('replicas-on').addEventListener(
    'click',
    confirmed(
      'Enable replica reads for all servers?',
      'Every server joins its group’s replica group (proxies use them after a group sync).',
      'PUT',
      '/api/topom/group/replica-groups-all/:xauth/1',
    ),
  );
  $('replicas-off').addEventListener(
    'click',
    confirmed(
      'Disable replica reads for all servers?',
      'No server stays in a replica group (proxies stop using them after a group sync).',
      'PUT',
      '/api/topom/group/replica-groups-all/:xauth/0',
    ),
  );
}

const COLUMNS = ['', '', 'Server', 'Data Center', 'Master', 'Replica', 'Sync Action', 'Memory', 'Keys', ''];

/** One table for all groups (so their columns line up): a body per group, led by its title row. */
export function render(ctx) {
  const models = ctx.stats.group?.models ?? [];
  if (models.length === 0)
    return fill('groups', h('p', { class: 'empty' }, 'No group yet: create one above.'));
  fill(
    'groups',
    h(
      'table',
      { class: 'grid servers' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          COLUMNS.map((t) => h('th', {}, t)),
        ),
      ),
      models.map((g) => groupBody(ctx, g)),
    ),
  );
}

function groupBody(ctx, g) {
  const { stats } = ctx;
  const promoting = g.promoting?.state;
  const ha = haMaster(stats, g.id);
  const haOutside = ha && !g.servers.some((s) => s.server === ha);
  const owned = (stats.slots ?? []).filter((s) => s.group_id === g.id).length;
  const title = h(
    'div',
    { class: 'group-head' },
    h('h3', { class: promoting ? 'bad' : '' }, promoting ? `[ Group-${g.id} ]` : `Group-${g.id}`),
    h('span', { class: 'muted small' }, `${thousands(owned)} slots · ${g.servers.length} server(s)`),
    promoting ? h('span', { class: 'badge error' }, `promoting: ${promoting}`) : null,
    g.out_of_sync
      ? h(
          'span',
          { class: 'badge error', title: 'Proxies may not have this group’s latest servers: press SYNC' },
          'OUT OF SYNC',
        )
      : null,
    haOutside
      ? h('span', { class: 'badge error', title: 'Sentinel’s master is not in this group' }, `HA: ${ha}`)
      : null,
    g.servers.length === 0
      ? h(
          'button',
          {
            class: 'btn small danger push-right',
            title: 'Remove this empty group',
            onclick: async () => {
              if (
                await confirmDialog({
                  title: `Remove group ${g.id}?`,
                  body: h('p', {}, 'The group has no server left.'),
                })
              )
                await act(ctx, `Remove group ${g.id}`, 'PUT', `/api/topom/group/remove/:xauth/${g.id}`);
            },
          },
          'Remove group',
        )
      : null,
  );
  const rows = g.servers.map((s, i) => serverRow(ctx, g, s, i));
  if (rows.length === 0)
    rows.push(h('tr', {}, h('td', { colspan: COLUMNS.length, class: 'empty' }, 'No server: add one above.')));
  return h(
    'tbody',
    { class: 'group', dataset: { gid: g.id } },
    h('tr', { class: 'group-row' }, h('td', { colspan: COLUMNS.length }, title)),
    rows,
  );
}

function serverRow(ctx, g, s, i) {
  const { stats } = ctx;
  const sample = stats.group?.stats?.[s.server];
  const status = redisStatus(sample);
  const info = sample?.stats;
  const cls = haClass(stats, g.id, i, s.server);
  const promoting = g.promoting?.state;
  const master = g.servers[0]?.server;
  const expected = i === 0 ? 'NO:ONE' : master;

  let left = null;
  if (i === 0 && !promoting) {
    left = h(
      'button',
      {
        class: `btn small ${g.out_of_sync ? 'danger' : ''}`,
        title: 'Push this group’s slots to every proxy',
        onclick: () => resync(ctx, g),
      },
      'SYNC',
    );
  } else if (i > 0 && (!promoting || g.promoting.index === i)) {
    left = h(
      'button',
      {
        class: `btn small ${cls === 'ha_real_master' ? 'ok' : 'warn'}`,
        title: promoting ? 'Resume the promotion' : 'Make this server the master',
        onclick: () => promote(ctx, g, s),
      },
      'PROMOTE',
    );
  }

  let masterText = '';
  let masterBad = false;
  if (info) {
    const link = info.master_link_status;
    masterText = info.master_addr ? `${info.master_addr}:${link ?? '?'}` : 'NO:ONE';
    masterBad = i === 0 ? Boolean(info.master_addr) : info.master_addr !== expected || link !== 'up';
  }

  const act_ = s.action?.state ?? '';
  const actionText = act_ === 'pending' ? `pending:${s.action.index ?? ''}` : act_;
  const maxmemory = Number(info?.maxmemory || 0);
  const dbs = keyspace(info);
  return h(
    'tr',
    { dataset: { server: s.server } },
    h('td', {}, left),
    h(
      'td',
      { class: 'links' },
      h(
        'a',
        {
          href: productUrl(ctx, `/api/topom/group/info/${seg(s.server)}`),
          target: '_blank',
          rel: 'noopener',
          title: 'INFO',
        },
        'S',
      ),
    ),
    h(
      'td',
      { class: `mono ${cls}` },
      s.server,
      cls === 'ha_real_master' ? ' [HA]' : '',
      i === 0 ? h('span', { class: 'tag' }, 'master') : null,
    ),
    h('td', {}, s.datacenter || ''),
    h('td', { class: `mono small ${masterBad ? 'bad' : ''}`, title: `expected ${expected}` }, masterText),
    h(
      'td',
      {},
      h('input', {
        type: 'checkbox',
        checked: s.replica_group,
        disabled: Boolean(promoting),
        title: 'Serve reads from this server (replica group)',
        onchange: (ev) =>
          act(
            ctx,
            `Replica group of ${s.server}`,
            'PUT',
            `/api/topom/group/replica-groups/:xauth/${g.id}/${seg(s.server)}/${ev.target.checked ? 1 : 0}`,
          ),
      }),
    ),
    h(
      'td',
      {},
      act_ === 'pending'
        ? h(
            'button',
            {
              class: 'btn small',
              title: 'CANCEL ACTION',
              onclick: () =>
                act(
                  ctx,
                  `Cancel sync of ${s.server}`,
                  'PUT',
                  `/api/topom/group/action/remove/:xauth/${seg(s.server)}`,
                ),
            },
            'Cancel',
          )
        : h(
            'button',
            {
              class: 'btn small',
              title: `SLAVEOF ${expected}`,
              onclick: () =>
                act(ctx, `Sync ${s.server}`, 'PUT', `/api/topom/group/action/create/:xauth/${seg(s.server)}`),
            },
            'SLAVEOF',
          ),
      h('span', { class: `action-state small ${act_ === 'synced_failed' ? 'bad' : ''}` }, actionText),
    ),
    h(
      'td',
      { class: 'small nowrap' },
      info ? `${bytes(info.used_memory)} / ${maxmemory ? bytes(maxmemory) : 'INF.'}` : '',
    ),
    h(
      'td',
      { class: 'mono small' },
      status === 'OK'
        ? dbs.length
          ? dbs.map((d) =>
              h(
                'div',
                {},
                `${d.db}: keys=${thousands(d.keys)}, expires=${thousands(d.expires)}, avg_ttl=${d.avg_ttl}`,
              ),
            )
          : h('span', { class: 'muted' }, 'no keys')
        : h('span', { class: `badge ${status.toLowerCase()}`, title: sampleCause(sample) }, status),
    ),
    h(
      'td',
      { class: 'row-actions' },
      i > 0 || g.servers.length === 1
        ? h(
            'button',
            {
              class: 'btn small',
              title: 'Remove this server from the group',
              onclick: () => removeServer(ctx, g, s, cls),
            },
            '−',
          )
        : null,
    ),
  );
}

async function resync(ctx, g) {
  const real = haRealMaster(ctx.stats, g);
  const ok = await confirmDialog({
    title: `Sync group ${g.id}?`,
    body: h(
      'p',
      {},
      real
        ? `Sentinel says ${real.server} is this group’s master, but the stored master is ${g.servers[0].server}. Syncing pushes the stored one to every proxy.`
        : 'The group’s slots are pushed to every proxy again.',
    ),
    danger: Boolean(real),
  });
  if (ok) await act(ctx, `Sync group ${g.id}`, 'PUT', `/api/topom/group/resync/:xauth/${g.id}`);
}

async function promote(ctx, g, s) {
  const real = haRealMaster(ctx.stats, g);
  const ok = await confirmDialog({
    title: `Promote ${s.server} in group ${g.id}?`,
    body: h(
      'p',
      {},
      `${s.server} becomes the master of group ${g.id}; ${g.servers[0].server} becomes a replica.`,
      real && real.server !== s.server ? ` Sentinel says the master is ${real.server}, not this one.` : '',
    ),
    danger: Boolean(real && real.server !== s.server),
  });
  if (ok)
    await act(ctx, `Promote ${s.server}`, 'PUT', `/api/topom/group/promote/:xauth/${g.id}/${seg(s.server)}`);
}

async function removeServer(ctx, g, s, cls) {
  const ok = await confirmDialog({
    title: `Remove ${s.server} from group ${g.id}?`,
    body: h(
      'p',
      {},
      cls === 'ha_real_master'
        ? 'Sentinel says this server is the group’s real master.'
        : 'The server leaves the group (its data stays on it).',
    ),
    danger: cls === 'ha_real_master',
  });
  if (ok) await act(ctx, `Remove ${s.server}`, 'PUT', `/api/topom/group/del/:xauth/${g.id}/${seg(s.server)}`);
}
