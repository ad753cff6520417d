// The page in a real browser against a real product: a dashboard on a filesystem coordinator,
// two groups of stock redis-servers, a proxy online, every slot assigned, and codis-fe (the real
// binary). The page selects the product, shows it and the proxy HEALTHY, creates a group and
// migrates slots through its forms, and reports a refused call in its error dialog.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startDashboard, type DashboardProcess } from '../helpers/dashboard.js';
import { freePort } from '../helpers/ports.js';
import { ROOT, startProxy, waitForPort, type ProxyProcess } from '../helpers/proxy.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { assignAll, setupGroups, stats, until, waitProxiesOnline } from '../topom/flow.js';

const PRODUCT = 'fe-ui';
const SCREENSHOT = '/tmp/codis-fe.png';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe('codis-fe page in Chromium', { timeout: 60_000 }, () => {
  let root: string;
  let profile: string;
  let servers: RedisServer[] = [];
  let d: DashboardProcess;
  let proxy: ProxyProcess;
  let fe: ChildProcess;
  let feLog = '';
  let base: string;
  let browser: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  const outside: string[] = [];

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'codis-fe-ui-'));
    profile = await mkdtemp(join(tmpdir(), 'pw-profile-'));
    servers = await Promise.all([startRedis(), startRedis(), startRedis()]);
    d = await startDashboard({ coordinator: { name: 'filesystem', addr: root }, product: PRODUCT });
    await setupGroups(d, [[servers[0]!, servers[1]!], [servers[2]!]]);
    await assignAll(d, 2);
    proxy = await startProxy({ offline: true, config: { product_name: PRODUCT } });
    await d.call('PUT', `/api/topom/proxy/create/:xauth/${proxy.admin}`);
    await waitProxiesOnline(d, 1);

    const port = await freePort();
    fe = spawn(
      process.execPath,
      [join(ROOT, 'bin/codis-fe'), `--listen=127.0.0.1:${port}`, `--filesystem=${root}`, '--log-level=WARN'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    fe.stderr!.on('data', (b: Buffer) => (feLog += b.toString()));
    await waitForPort(port);
    base = `http://127.0.0.1:${port}`;

    browser = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1400, height: 900 },
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.on('pageerror', (e) => pageErrors.push(e.message));
    // Only the page's own server may be contacted: anything else is blocked and reported.
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(base)) return route.continue();
      outside.push(url);
      return route.abort('blockedbyclient');
    });
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    fe?.kill('SIGTERM');
    await proxy?.kill();
    await d?.stop();
    await Promise.all(servers.map((s) => s.stop()));
    await rm(root, { recursive: true, force: true });
    await rm(profile, { recursive: true, force: true });
  });

  it('lists the product and shows its overview and a HEALTHY proxy', async () => {
    await page.goto(`${base}/`);
    const link = page.locator('#product-list a', { hasText: PRODUCT });
    await link.waitFor();
    await link.click();
    await page.waitForURL(`${base}/#${PRODUCT}`);
    await page.locator('#overview .product-name', { hasText: PRODUCT }).waitFor();
    assert.equal(await page.locator('#overview .product-name').textContent(), PRODUCT);
    assert.match((await page.locator('#overview').textContent()) ?? '', /\/codis-fe-ui-/); // coordinator dir
    await page.locator('.proxy-status', { hasText: 'HEALTHY' }).waitFor({ timeout: 10_000 });
    const proxyRow = (await page.locator('#proxy-table tbody tr').first().textContent()) ?? '';
    assert.match(proxyRow, new RegExp(`127\\.0\\.0\\.1:${proxy.port}`));
    // Both groups with their servers, and the slot map rows.
    for (const s of servers) await page.locator(`tr[data-server="${s.addr}"]`).waitFor();
    assert.equal(await page.locator('#slots-chart svg .row-label').count(), 3); // Offline, Group-1, Group-2
    // Refresh every second from now on.
    await page.locator('#refresh').fill('1');
    assert.equal(await page.locator('#refresh-value').textContent(), '1');
  });

  it('creates a group through the form', async () => {
    await page.locator('#group-id').fill('3');
    await page.getByRole('button', { name: 'New Group' }).click();
    await page.locator('.group[data-gid="3"]').waitFor({ timeout: 10_000 });
    const st = await stats(d);
    assert.ok(
      st.group.models.some((g) => g.id === 3 && g.servers.length === 0),
      'group 3 exists in the dashboard',
    );
    assert.equal(await page.locator('#group-id').inputValue(), '', 'the form is cleared');
  });

  it('queues a slot range migration after a confirmation', async () => {
    await page.locator('#mr-beg').fill('0');
    await page.locator('#mr-end').fill('3');
    await page.locator('#mr-gid').fill('2');
    await page.locator('#migrate-range-form button[type="submit"]').click();
    await page.locator('#confirm-dialog[open]').waitFor();
    assert.match((await page.locator('#confirm-body').textContent()) ?? '', /Slots-\[0 ~ 3\].*Group-\[2\]/);
    await page.locator('#confirm-ok').click();
    await until('slots 0..3 to move to group 2', async () => {
      const st = await stats(d);
      return st.slots.slice(0, 4).every((s) => s.group_id === 2 || s.action.target_id === 2);
    });
    await until(
      'the page to show slots 0..3 in group 2',
      async () => ((await page.locator('#slots-chart').innerHTML()) ?? '').includes('Slot-[0,3]'),
      10_000,
    );
    await page.mouse.wheel(0, -100_000);
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  it('shows per-slot migration progress when the stats report it', async () => {
    // The dashboard's own progress depends on its migration worker; here the stats are the
    // dashboard's real answer with a progress report added, as a newer dashboard sends it.
    const pattern = '**/api/topom/stats/**';
    await page.route(pattern, async (route) => {
      const res = await route.fetch();
      const st = (await res.json()) as {
        slots: { action: Record<string, unknown> }[];
        slot_action: { progress: Record<string, unknown> };
      };
      st.slots[10]!.action = { state: 'migrating', index: 9, target_id: 2 };
      st.slot_action.progress = {
        status: '[OK] migrating 1 slot(s)',
        running: 1,
        keys_moved: 750,
        keys_left: 250,
        keys_per_sec: 300,
        eta_seconds: 1,
        slots: [
          { id: 10, state: 'migrating', from: 1, to: 2, keys_moved: 750, keys_left: 250, eta_seconds: 1 },
        ],
      };
      await route.fulfill({ response: res, json: st });
    });
    try {
      const row = page.locator('#migration-progress tr[data-slot="10"]');
      await row.waitFor({ timeout: 10_000 });
      assert.match(
        (await row.textContent()) ?? '',
        /Group-\[1\] → Group-\[2\].*migrating.*750 moved, 250 left/,
      );
      const bar = row.locator('.progress div');
      assert.equal(await bar.getAttribute('style'), 'width:75.0%');
      assert.match(
        (await page.locator('#migration-summary').textContent()) ?? '',
        /750 keys moved · 250 left/,
      );
    } finally {
      await page.unroute(pattern);
    }
  });

  it('shows a refused call in the error dialog', async () => {
    await page.locator('#group-id').fill('1');
    await page.getByRole('button', { name: 'New Group' }).click();
    const dialog = page.locator('#error-dialog[open]');
    await dialog.waitFor();
    assert.match((await dialog.locator('.error-cause').textContent()) ?? '', /group-\[1\] already exists/);
    await dialog.getByRole('button', { name: 'Close' }).click();
    await page.locator('#error-dialog[open]').waitFor({ state: 'detached' });
    assert.deepEqual(pageErrors, [], `no script errors (${feLog})`);
    assert.deepEqual(outside, [], 'no request left codis-fe');
  });
});
