/* global document, window, location */
// codis-fe page: product list, selection (URL hash `#product`), the refresh loop, and the overview.
// Each panel (proxies, slots, groups, sentinels) lives in its own module with init() and render().
import { request } from './api.js';
import { drawOps } from './charts.js';
import { $, bytes, fill, h, thousands } from './dom.js';
import { masterTotals, proxyTotals } from './model.js';
import * as groups from './groups.js';
import * as proxies from './proxies.js';
import * as sentinels from './sentinels.js';
import { dashboardXAuth } from './sha256.js';
import * as slots from './slots.js';

const OPS_SAMPLES = 30;
const panels = [proxies, slots, groups, sentinels];

/** What every panel reads: the product, its xauth, the last overview and stats. */
const ctx = {
  product: '',
  xauth: '',
  overview: null,
  stats: null,
  ops: [],
  /** Refresh now (after a mutation). */
  refresh: () => schedule(0),
};

let products = [];
let timer = 0;
let generation = 0;
let polling = false;

function intervalMs() {
  return Number($('refresh').value) * 1000;
}

function schedule(ms = intervalMs()) {
  window.clearTimeout(timer);
  if (ctx.product) timer = window.setTimeout(poll, ms);
}

async function poll() {
  if (polling) return schedule(200);
  polling = true;
  const gen = generation;
  try {
    // The overview (config, model) once, then the stats alone.
    let stats;
    if (ctx.overview) {
      stats = await request(ctx, 'GET', '/api/topom/stats/:xauth');
    } else {
      const overview = await request(ctx, 'GET', '/topom');
      if (gen === generation) ctx.overview = overview;
      stats = overview.stats;
    }
    if (gen !== generation) return;
    ctx.stats = stats;
    ctx.ops.push({ t: Date.now(), v: proxyTotals(stats).qps });
    if (ctx.ops.length > OPS_SAMPLES) ctx.ops.shift();
    banner();
    render();
  } catch (e) {
    if (gen === generation) banner(`Dashboard of ${ctx.product}: ${e.message}`);
  } finally {
    polling = false;
    if (gen === generation) schedule();
  }
}

function banner(text) {
  const el = $('banner');
  el.hidden = !text;
  el.textContent = text ?? '';
}

function render() {
  if (!ctx.stats) return;
  renderOverview();
  for (const p of panels) p.render(ctx);
  $('updated').textContent = `updated ${new Date().toTimeString().slice(0, 8)}`;
}

function renderOverview() {
  const { stats, overview } = ctx;
  const config = overview?.config ?? {};
  const admin = overview?.model?.admin_addr ?? '';
  const { qps, sessions } = proxyTotals(stats);
  const { memory, keys } = masterTotals(stats);
  const coordinator = config.coordinator_name ?? 'coordinator';
  fill(
    'overview',
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        [
          'Product Name',
          `[${coordinator}]`,
          'Codis QPS',
          'Sessions',
          'Redis Memory',
          'Redis Keys',
          'Dashboard',
        ].map((t, i) => h('th', { class: i >= 2 && i <= 5 ? 'num' : null }, t)),
      ),
    ),
    h(
      'tbody',
      {},
      h(
        'tr',
        {},
        h('td', { class: 'product-name' }, ctx.product),
        h('td', { class: 'mono' }, config.coordinator_addr ?? ''),
        h('td', { class: 'num', id: 'ov-qps' }, thousands(qps)),
        h('td', { class: 'num', id: 'ov-sessions' }, thousands(sessions)),
        h('td', { class: 'num' }, bytes(memory)),
        h('td', { class: 'num' }, thousands(keys)),
        h(
          'td',
          {},
          admin
            ? h(
                'a',
                { href: `http://${admin}/topom`, target: '_blank', rel: 'noopener', class: 'mono' },
                admin,
              )
            : '',
          overview?.version ? h('span', { class: 'muted small' }, ` v${overview.version}`) : null,
        ),
      ),
    ),
  );
  $('ops-now').textContent = `${thousands(qps)} ops/s`;
  drawOps($('ops-chart'), ctx.ops);
}

async function loadProducts() {
  try {
    const res = await fetch('/list');
    const body = await res.json();
    if (!res.ok) throw new Error(body.cause ?? `HTTP ${res.status}`);
    products = body;
  } catch (e) {
    banner(`Product list: ${e.message}`);
  }
  renderSidebar();
  const wanted = decodeURIComponent(location.hash.slice(1));
  if (!wanted && products.length === 1) location.hash = encodeURIComponent(products[0]);
  else if (wanted !== ctx.product) void select(wanted);
}

function renderSidebar() {
  fill(
    'product-list',
    products.map((p) =>
      h(
        'a',
        {
          href: `#${encodeURIComponent(p)}`,
          class: p === ctx.product ? 'product active' : 'product',
          dataset: { product: p },
        },
        p,
      ),
    ),
  );
  $('welcome-empty').hidden = products.length > 0;
}

async function select(product) {
  generation++;
  const gen = generation;
  window.clearTimeout(timer);
  Object.assign(ctx, { product, xauth: '', overview: null, stats: null, ops: [] });
  renderSidebar();
  banner();
  $('welcome').hidden = Boolean(product);
  $('product-view').hidden = !product;
  $('jump').hidden = !product;
  $('title').textContent = product || 'No product selected';
  document.title = product ? `${product} · Codis FE` : 'Codis FE';
  if (!product) return;
  ctx.xauth = await dashboardXAuth(product);
  if (gen === generation) schedule(0);
}

function init() {
  const slider = $('refresh');
  slider.addEventListener('input', () => {
    $('refresh-value').textContent = slider.value;
    schedule();
  });
  $('reload-products').addEventListener('click', () => void loadProducts());
  window.addEventListener('hashchange', () => void select(decodeURIComponent(location.hash.slice(1))));
  window.addEventListener('resize', () => render());
  for (const a of document.querySelectorAll('[data-jump]')) {
    a.addEventListener('click', (ev) => {
      ev.preventDefault();
      $(a.dataset.jump).scrollIntoView({ behavior: 'smooth', block: 'start' });
    });
  }
  for (const p of panels) p.init(ctx);
  void loadProducts();
}

init();
