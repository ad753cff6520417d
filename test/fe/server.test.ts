// codis-fe's server in-process: /list from a filesystem coordinator and from a dashboard-list file,
// forwarding to the right dashboard (method, path, query, body, status), 403 for unknown products,
// 502 for dashboards that do not answer, and the page's static files.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http, { type IncomingMessage, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsClient } from '../../src/coordinator/FsClient.js';
import { checkAssetsDir, defaultAssetsDir } from '../../src/fe/assets.js';
import { FeServer, forwardParam } from '../../src/fe/FeServer.js';
import { coordinatorSource, fileSource, ProductTable } from '../../src/fe/ProductTable.js';
import { groupPath, lockPath, Store } from '../../src/models/Store.js';
import { freePort } from '../helpers/ports.js';

interface Seen {
  method: string;
  url: string;
  body: string;
  contentType: string | undefined;
}

/** A stand-in dashboard that records each request and echoes it; `/conflict` answers 409. */
async function fakeDashboard(name: string): Promise<{ server: Server; addr: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = http.createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, body, contentType: req.headers['content-type'] });
      const conflict = req.url!.startsWith('/conflict');
      res.writeHead(conflict ? 409 : 200, {
        'content-type': 'application/json; charset=utf-8',
        'x-dashboard': name,
      });
      res.end(
        JSON.stringify(
          conflict ? { Cause: 'group-[1] already exists', cause: 'group-[1] already exists' } : { name },
        ),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address() as { port: number };
  return { server, addr: `127.0.0.1:${a.port}`, seen };
}

async function lock(client: FsClient, product: string, adminAddr: string): Promise<void> {
  await new Store(client, product).acquireLock({
    token: 't',
    start_time: '',
    admin_addr: adminAddr,
    product_name: product,
    pid: 1,
    pwd: '/',
    sys: '',
  });
}

async function startFe(table: ProductTable): Promise<{ fe: FeServer; base: string }> {
  const fe = new FeServer({ products: table, assetsDir: checkAssetsDir(defaultAssetsDir()) });
  const addr = await fe.listen('127.0.0.1:0');
  return { fe, base: `http://${addr}` };
}

async function getJson(url: string, init?: RequestInit): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
}

/** A raw GET, so that the path reaches the server exactly as written (fetch normalises `..`). */
function rawGet(base: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const u = new URL(base);
    http
      .get({ host: u.hostname, port: u.port, path }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      })
      .on('error', reject);
  });
}

describe('codis-fe server', () => {
  let root: string;
  let client: FsClient;
  let d1: Awaited<ReturnType<typeof fakeDashboard>>;
  let d2: Awaited<ReturnType<typeof fakeDashboard>>;
  let fe: FeServer;
  let base: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'codis-fe-test-'));
    client = new FsClient(root);
    [d1, d2] = await Promise.all([fakeDashboard('d1'), fakeDashboard('d2')]);
    await lock(client, 'zeta', d2.addr);
    await lock(client, 'alpha', d1.addr);
    // A product with data but no dashboard is not served.
    await client.update(groupPath('orphan', 1), Buffer.from('{"id": 1, "servers": []}'));
    ({ fe, base } = await startFe(new ProductTable(coordinatorSource(client), 200)));
  });

  after(async () => {
    await fe?.close();
    d1?.server.close();
    d2?.server.close();
    await client?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('lists the served products of a filesystem coordinator, sorted', async () => {
    assert.deepEqual(await getJson(`${base}/list`), { status: 200, body: ['alpha', 'zeta'] });
  });

  it('leaves out a product whose dashboard lock is unreadable, and says which', async () => {
    await client.update(lockPath('broken'), Buffer.from('{not json'));
    const skipped: string[] = [];
    try {
      const list = await coordinatorSource(client, (product) => skipped.push(product))();
      assert.deepEqual(list.map((p) => p.name).sort(), ['alpha', 'zeta']);
      assert.deepEqual(skipped, ['broken']);
    } finally {
      await client.delete(lockPath('broken'));
    }
  });

  it('reloads the list at most every reload period', async () => {
    await new Promise((r) => setTimeout(r, 250));
    assert.deepEqual((await getJson(`${base}/list`)).body, ['alpha', 'zeta']); // reloaded just now
    await lock(client, 'beta', `127.0.0.1:${await freePort()}`);
    assert.deepEqual((await getJson(`${base}/list`)).body, ['alpha', 'zeta'], 'still the cached table');
    await new Promise((r) => setTimeout(r, 250));
    assert.deepEqual((await getJson(`${base}/list`)).body, ['alpha', 'beta', 'zeta']);
    await new Store(client, 'beta').releaseLock();
    await new Promise((r) => setTimeout(r, 250));
    assert.deepEqual((await getJson(`${base}/list`)).body, ['alpha', 'zeta']);
  });

  it('forwards method, path, query and body to the product’s dashboard', async () => {
    const r = await fetch(`${base}/api/topom/stats/abc?forward=alpha`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-dashboard'), 'd1');
    assert.deepEqual(await r.json(), { name: 'd1' });
    assert.deepEqual(d1.seen.at(-1), {
      method: 'GET',
      url: '/api/topom/stats/abc?forward=alpha',
      body: '',
      contentType: undefined,
    });

    const body = JSON.stringify([{ id: 7, group_id: 2 }]);
    const put = await getJson(`${base}/api/topom/slots/assign/x?forward=zeta&y=1`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body,
    });
    assert.deepEqual(put, { status: 200, body: { name: 'd2' } });
    assert.deepEqual(d2.seen.at(-1), {
      method: 'PUT',
      url: '/api/topom/slots/assign/x?forward=zeta&y=1',
      body,
      contentType: 'application/json',
    });
    assert.equal(d1.seen.length, 1, 'nothing went to the other dashboard');
  });

  it('passes the dashboard’s error status and cause through', async () => {
    const r = await getJson(`${base}/conflict/x?forward=alpha`, { method: 'PUT' });
    assert.equal(r.status, 409);
    assert.equal((r.body as { cause: string }).cause, 'group-[1] already exists');
  });

  it('answers 403 with a JSON cause for an unknown or missing product', async () => {
    const unknown = await getJson(`${base}/topom?forward=nope`);
    assert.equal(unknown.status, 403);
    assert.match((unknown.body as { cause: string }).cause, /"nope" is unknown/);
    const orphan = await getJson(`${base}/topom?forward=orphan`);
    assert.equal(orphan.status, 403);
    const empty = await getJson(`${base}/topom?forward=`);
    assert.equal(empty.status, 403);
    assert.match((empty.body as { cause: string }).cause, /missing product/);
    const none = await getJson(`${base}/api/topom/group/create/x/1`, { method: 'PUT' });
    assert.equal(none.status, 403);
    assert.match((none.body as { cause: string }).cause, /missing \?forward/);
    const apiGet = await getJson(`${base}/api/topom/stats/x`);
    assert.equal(apiGet.status, 403);
  });

  it('answers 502 with a JSON cause when the dashboard does not answer', async () => {
    const port = await freePort();
    await lock(client, 'gone', `127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 250));
    const r = await getJson(`${base}/topom?forward=gone`);
    assert.equal(r.status, 502);
    assert.match(
      (r.body as { cause: string }).cause,
      /dashboard of product gone at 127\.0\.0\.1:\d+ unreachable/,
    );
    await new Store(client, 'gone').releaseLock();
  });

  it('serves the page and nothing outside its folder', async () => {
    const index = await fetch(`${base}/`);
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await index.text(), /<title>Codis FE<\/title>/);
    const js = await fetch(`${base}/app.js`);
    assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
    const css = await fetch(`${base}/style.css`);
    assert.match(css.headers.get('content-type') ?? '', /^text\/css/);
    assert.equal((await fetch(`${base}/nothing.js`)).status, 404);
    assert.equal(await rawGet(base, '/../../../package.json'), 404);
    assert.equal(await rawGet(base, '/%2e%2e/%2e%2e/%2e%2e/package.json'), 404);
  });

  it('reads the forward parameter', () => {
    assert.equal(forwardParam('/topom'), undefined);
    assert.equal(forwardParam('/topom?x=1'), undefined);
    assert.equal(forwardParam('/topom?forward='), '');
    assert.equal(forwardParam('/a?b=1&forward=my%2Dprod'), 'my-prod');
  });
});

describe('codis-fe with a dashboard list file', () => {
  let dir: string;
  let file: string;
  let d1: Awaited<ReturnType<typeof fakeDashboard>>;
  let fe: FeServer;
  let base: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'codis-fe-list-'));
    file = join(dir, 'dashboards.json');
    d1 = await fakeDashboard('d1');
    await writeFile(
      file,
      JSON.stringify([
        { name: 'shop', dashboard: d1.addr },
        { name: 'cache', dashboard: d1.addr },
        { name: 'idle', dashboard: '' },
      ]),
    );
    ({ fe, base } = await startFe(new ProductTable(fileSource(file), 200)));
  });

  after(async () => {
    await fe?.close();
    d1?.server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists the products that have a dashboard, sorted', async () => {
    assert.deepEqual(await getJson(`${base}/list`), { status: 200, body: ['cache', 'shop'] });
  });

  it('forwards to the listed dashboard', async () => {
    assert.deepEqual(await getJson(`${base}/topom?forward=shop`), { status: 200, body: { name: 'd1' } });
    assert.equal(d1.seen.at(-1)?.url, '/topom?forward=shop');
    assert.equal((await getJson(`${base}/topom?forward=idle`)).status, 403);
  });

  it('re-reads the file, and keeps the last good table when it breaks', async () => {
    await writeFile(file, JSON.stringify([{ name: 'new', dashboard: d1.addr }]));
    await new Promise((r) => setTimeout(r, 250));
    assert.deepEqual((await getJson(`${base}/list`)).body, ['new']);
    await writeFile(file, '{not json');
    await new Promise((r) => setTimeout(r, 250));
    assert.deepEqual(await getJson(`${base}/list`), { status: 200, body: ['new'] });
  });

  it('answers 503 when the list was never readable', async () => {
    const { fe: broken, base: b } = await startFe(new ProductTable(fileSource(join(dir, 'missing.json'))));
    try {
      const r = await getJson(`${b}/list`);
      assert.equal(r.status, 503);
      assert.match((r.body as { cause: string }).cause, /missing\.json/);
      assert.equal((await getJson(`${b}/topom?forward=x`)).status, 503);
    } finally {
      await broken.close();
    }
  });
});
