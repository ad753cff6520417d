// codis-admin --dashboard against a recording stand-in of the §4.2 API: the exact calls each command
// makes, what it prints (JSON, --proxy-status, --group-status, --rebalance), and its errors.
// dashboard-real.test.ts runs the same workflows against a real codis-dashboard.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { freePort } from '../helpers/ports.js';
import { admin, adminInOk, adminOk, lastLine } from './cli.js';
import { startFakeDashboard, type FakeDashboard } from './fake-dashboard.js';

let d: FakeDashboard;
const dash = (...args: string[]) => admin(`--dashboard=${d.addr}`, ...args);
const dashOk = (...args: string[]) => adminOk(`--dashboard=${d.addr}`, ...args);
/** In process: the long tables of cases. */
const dashIn = (...args: string[]) => adminInOk(`--dashboard=${d.addr}`, ...args);

before(async () => {
  d = await startFakeDashboard();
});
after(() => d.close());
beforeEach(() => {
  d.calls.length = 0;
  d.failures.clear();
});

describe('dashboard mode: overview', () => {
  it('prints the whole overview with 4-space JSON, after model and xping', async () => {
    const out = await dashOk();
    const o = JSON.parse(out) as Record<string, unknown>;
    assert.deepEqual(Object.keys(o), ['version', 'compile', 'config', 'model', 'stats']);
    assert.match(out, /^\{\n {4}"version": "fake",\n/);
    assert.ok(out.endsWith('}\n'));
    assert.deepEqual(
      d.calls.map((c) => c.path.replace(/[0-9a-f]{32}/, 'X')),
      ['/api/topom/model', '/api/topom/xping/X', '/topom'],
    );
  });

  it('prints one part: config, model, stats, slots, group, proxy, --list-group, --list-proxy', async () => {
    assert.equal(JSON.parse(await dashOk('model')).product_name, 'fake');
    assert.equal(JSON.parse(await dashIn('config')).admin_addr, d.addr);
    assert.equal(JSON.parse(await dashIn('stats')).closed, false);
    const slots = JSON.parse(await dashIn('slots')) as { id: number; group_id: number }[];
    assert.equal(slots.length, 1024);
    assert.deepEqual(slots[600], { id: 600, group_id: 2, action: {} });
    assert.deepEqual(Object.keys(JSON.parse(await dashIn('group'))), ['models', 'stats']);
    assert.deepEqual(Object.keys(JSON.parse(await dashIn('proxy'))), ['models', 'stats']);
    const groups = JSON.parse(await dashIn('--list-group')) as { id: number }[];
    assert.deepEqual(
      groups.map((g) => g.id),
      [1, 12],
    );
    const proxies = JSON.parse(await dashIn('--list-proxy')) as { token: string }[];
    assert.deepEqual(
      proxies.map((p) => p.token),
      ['aaaa', 'bbbb', 'cccc'],
    );
  });

  it('--slots-status prints the proxy-format slots', async () => {
    const out = JSON.parse(await dashIn('--slots-status')) as unknown[];
    assert.deepEqual(out, [{ id: 0, backend_addr: '127.0.0.1:6379', backend_addr_group_id: 1 }]);
  });
});

describe('dashboard mode: status tables', () => {
  it('--proxy-status: one padded line per proxy with [ ], [T], [?]', async () => {
    const out = await dashOk('--proxy-status');
    assert.equal(
      out,
      '[ ] proxy-01 [T] aaaa [A] 127.0.0.1:11080  [P] 127.0.0.1:19000 \n' +
        '[T] proxy-02 [T] bbbb [A] 127.0.0.1:211080 [P] 127.0.0.1:19001 \n' +
        '[?] proxy-10 [T] cccc [A] 127.0.0.1:11082  [P] 127.0.0.1:219002\n',
    );
  });

  it('--group-status: expected vs actual master links', async () => {
    const out = await dashOk('--group-status');
    assert.equal(
      out,
      '[ ] group-01 [0] 127.0.0.1:6379       ==> NO:ONE\n' +
        '[ ] group-01 [1] 127.0.0.1:6380       ==> 127.0.0.1:6379:up\n' +
        '[X] group-12 [0] 127.0.0.1:16379      ==> 127.0.0.1:1:down\n' +
        '[E] group-12 [1] 127.0.0.1:16380\n' +
        '[?] group-12 [2] 10.0.0.1:7000  \n',
    );
  });

  it('--promote-server promotes, then prints the group status', async () => {
    const out = await dashOk('--promote-server', '--gid=1', '--addr=127.0.0.1:6380');
    assert.deepEqual(d.puts(), ['/api/topom/group/promote/X/1/127.0.0.1:6380']);
    assert.match(out, /^\[ \] group-01 \[0\] 127\.0\.0\.1:6379 {7}==> NO:ONE$/m);
  });
});

describe('dashboard mode: mutations call the §4.2 paths and print nothing', () => {
  const cases: [string[], string[]][] = [
    [['--shutdown'], ['/api/topom/shutdown/X']],
    [['--reload'], ['/api/topom/reload/X']],
    [['--log-level=warning'], ['/api/topom/loglevel/X/WARN']],
    [['--create-proxy', '--addr=127.0.0.1:11080'], ['/api/topom/proxy/create/X/127.0.0.1:11080']],
    [['--online-proxy', '-x', '127.0.0.1:11080'], ['/api/topom/proxy/online/X/127.0.0.1:11080']],
    [['--remove-proxy', '--addr=127.0.0.1:11080'], ['/api/topom/proxy/remove/X/aaaa/0']],
    [['--remove-proxy', '--pid=10', '--force'], ['/api/topom/proxy/remove/X/cccc/1']],
    [['--remove-proxy', '-t', 'zzzz'], ['/api/topom/proxy/remove/X/zzzz/0']],
    [['--remove-proxy', '--addr=127.0.0.1:1', '--force'], []],
    [['--reinit-proxy', '--token=bbbb'], ['/api/topom/proxy/reinit/X/bbbb']],
    [['--reinit-proxy', '--pid=2'], ['/api/topom/proxy/reinit/X/bbbb']],
    [['--create-group', '--gid=3'], ['/api/topom/group/create/X/3']],
    [['--remove-group', '-g', '3'], ['/api/topom/group/remove/X/3']],
    [['--resync-group', '--gid=12'], ['/api/topom/group/resync/X/12']],
    [
      ['--resync-group', '--all'],
      ['/api/topom/group/resync/X/1', '/api/topom/group/resync/X/12'],
    ],
    [['--group-add', '--gid=1', '--addr=127.0.0.1:7000'], ['/api/topom/group/add/X/1/127.0.0.1:7000']],
    [
      ['--group-add', '--gid=1', '--addr=127.0.0.1:7000', '--datacenter=dc1'],
      ['/api/topom/group/add/X/1/127.0.0.1:7000/dc1'],
    ],
    [['--group-del', '--gid=1', '--addr=127.0.0.1:7000'], ['/api/topom/group/del/X/1/127.0.0.1:7000']],
    [
      ['--replica-groups', '--gid=1', '--addr=127.0.0.1:6380', '--enable'],
      ['/api/topom/group/replica-groups/X/1/127.0.0.1:6380/1'],
    ],
    [
      ['--replica-groups', '--gid=1', '--addr=127.0.0.1:6380', '--disable'],
      ['/api/topom/group/replica-groups/X/1/127.0.0.1:6380/0'],
    ],
    [
      ['--sync-action', '--create', '--addr=127.0.0.1:6380'],
      ['/api/topom/group/action/create/X/127.0.0.1:6380'],
    ],
    [
      ['--sync-action', '--remove', '--addr=127.0.0.1:6380'],
      ['/api/topom/group/action/remove/X/127.0.0.1:6380'],
    ],
    [['--slot-action', '--create', '--sid=5', '--gid=2'], ['/api/topom/slots/action/create/X/5/2']],
    [['--slot-action', '--remove', '--sid=5'], ['/api/topom/slots/action/remove/X/5']],
    [
      ['--slot-action', '--create-some', '--gid-from=1', '--gid-to=2', '--num-slots=10'],
      ['/api/topom/slots/action/create-some/X/1/2/10'],
    ],
    [
      ['--slot-action', '--create-range', '--beg=0', '--end=9', '--gid=2'],
      ['/api/topom/slots/action/create-range/X/0/9/2'],
    ],
    [['--slot-action', '--interval=100'], ['/api/topom/slots/action/interval/X/100']],
    [['--slot-action', '--disabled=1'], ['/api/topom/slots/action/disabled/X/1']],
    [['--slot-action', '--disabled=0'], ['/api/topom/slots/action/disabled/X/0']],
    [['--sentinel-add', '--addr=127.0.0.1:26379'], ['/api/topom/sentinels/add/X/127.0.0.1:26379']],
    [['--sentinel-del', '--addr=127.0.0.1:26379'], ['/api/topom/sentinels/del/X/127.0.0.1:26379/0']],
    [
      ['--sentinel-del', '--addr=127.0.0.1:26379', '--force'],
      ['/api/topom/sentinels/del/X/127.0.0.1:26379/1'],
    ],
    [['--sentinel-resync'], ['/api/topom/sentinels/resync-all/X']],
  ];
  for (const [args, puts] of cases) {
    it(args.join(' '), async () => {
      d.calls.length = 0;
      const out = await dashIn(...args);
      assert.equal(out, '');
      assert.deepEqual(d.puts(), puts);
    });
  }

  it('--reinit-proxy --all prints each proxy and reinits it', async () => {
    const out = await dashIn('--reinit-proxy', '--all');
    assert.deepEqual(d.puts(), [
      '/api/topom/proxy/reinit/X/aaaa',
      '/api/topom/proxy/reinit/X/bbbb',
      '/api/topom/proxy/reinit/X/cccc',
    ]);
    assert.equal(out.match(/^reinit proxy: \{$/gm)?.length, 3);
    assert.match(out, /^ {4}"token": "cccc",$/m);
  });
});

describe('dashboard mode: slots', () => {
  it('--slots-assign without --confirm prints the mappings and changes nothing', async () => {
    const out = await dashOk('--slots-assign', '--beg=0', '--end=2', '--gid=1');
    assert.deepEqual(JSON.parse(out), [
      { id: 0, group_id: 1, action: {} },
      { id: 1, group_id: 1, action: {} },
      { id: 2, group_id: 1, action: {} },
    ]);
    assert.deepEqual(d.puts(), []);
  });

  it('--slots-assign --confirm sends them; --offline uses the offline route', async () => {
    await dashIn('--slots-assign', '--beg=10', '--end=11', '--gid=2', '--confirm');
    await dashIn('--slots-assign', '--beg=10', '--end=10', '--offline', '--confirm');
    assert.deepEqual(d.puts(), ['/api/topom/slots/assign/X', '/api/topom/slots/assign/X/offline']);
    const bodies = d.calls.filter((c) => c.method === 'PUT').map((c) => c.body);
    assert.deepEqual(bodies, [
      [
        { id: 10, group_id: 2, action: {} },
        { id: 11, group_id: 2, action: {} },
      ],
      [{ id: 10, group_id: 0, action: {} }],
    ]);
  });

  it('--slots-assign checks the range before any call', async () => {
    const r = await dash('--slots-assign', '--beg=5', '--end=1024', '--gid=1');
    assert.equal(r.code, 2);
    assert.match(lastLine(r.stderr), /invalid slot range \[5,1024\]/);
    assert.deepEqual(d.calls, []);
  });

  it('--rebalance prints the plan as ranges; --confirm queues it', async () => {
    d.plan = { '6': 3, '0': 2, '1': 2, '2': 2, '5': 2 };
    assert.equal(await dashOk('--rebalance'), '[0000,0002] => 2\n[0005,0005] => 2\n[0006,0006] => 3\ndone\n');
    await dashIn('--rebalance', '--confirm');
    assert.deepEqual(d.puts(), ['/api/topom/slots/rebalance/X/0', '/api/topom/slots/rebalance/X/1']);
    d.plan = {};
    assert.equal(await dashIn('--rebalance'), 'nothing changes\n');
  });
});

describe('dashboard mode: errors', () => {
  it('a remote error is one line and exit 1', async () => {
    d.failures.set('group/create/', 'group-[3] already exists');
    const r = await dash('--create-group', '--gid=3');
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `codis-admin: call rpc create-group to dashboard ${d.addr} failed: [Remote Error] group-[3] already exists\n`,
    );
    assert.equal(r.stdout, '');
  });

  it('an unknown proxy is an error unless --force', async () => {
    const r = await dash('--remove-proxy', '--addr=127.0.0.1:1');
    assert.equal(r.code, 1);
    assert.equal(lastLine(r.stderr), "codis-admin: can't find specific proxy with addr = 127.0.0.1:1");
    assert.deepEqual(d.puts(), []);
  });

  it('bad values are usage errors before any call', async () => {
    for (const args of [
      ['--log-level=LOUD'],
      ['--create-group', '--gid=x'],
      ['--slot-action', '--interval=1.5'],
    ]) {
      const r = await dash(...args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, /^Usage:/);
    }
    assert.deepEqual(d.calls, []);
  });

  it('--resync-group needs --gid or --all', async () => {
    const r = await dash('--resync-group');
    assert.equal(r.code, 2);
    assert.match(lastLine(r.stderr), /--gid=ID or --all/);
  });

  it('an unreachable dashboard is one line and exit 1', async () => {
    const port = await freePort();
    const r = await admin(`--dashboard=127.0.0.1:${port}`, '--create-group', '--gid=1');
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(
      r.stderr,
      new RegExp(`^codis-admin: call rpc model to dashboard 127.0.0.1:${port} failed: .*ECONNREFUSED`),
    );
  });
});
