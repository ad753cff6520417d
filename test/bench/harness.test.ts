/**
 * `npm run bench` end to end, in a tiny run: its own redis-servers and proxy, a --vs target,
 * interleaved rounds, the table of medians and the proxy's memory; and bad options refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cpuCap } from '../../bench/cpuCap.js';
import { startRedis } from '../helpers/redis.js';
import { runNode, type RunResult } from '../helpers/run.js';

const RUN = fileURLToPath(new URL('../../bench/run.js', import.meta.url));

const bench = (args: string[]): Promise<RunResult> => runNode(RUN, args, 120_000);

test('a quick run measures direct, proxy and a --vs target in interleaved rounds, with median ratios', async () => {
  const other = await startRedis();
  try {
    const r = await bench([
      ...['--quick', '--only', 'get-p1', '--rounds', '2', '--requests-scale', '0.05'],
      ...['--idle-conns', '100', '--vs', `other=${other.addr}`],
    ]);
    assert.equal(r.code, 0, r.stderr);
    // Every round runs each target once, and the order turns from round to round.
    const order = (round: number) =>
      [...r.stderr.matchAll(new RegExp(`^\\[round ${round}/2\\] get-p1 +(\\w+) +([\\d,]+) rps`, 'gm'))].map(
        (m) => ({ target: m[1]!, rps: Number(m[2]!.replace(/,/g, '')) }),
      );
    const [one, two] = [order(1), order(2)];
    assert.deepEqual(one.map((x) => x.target).sort(), ['direct', 'other', 'proxy']);
    assert.deepEqual(two.map((x) => x.target).sort(), ['direct', 'other', 'proxy']);
    assert.notDeepEqual(
      one.map((x) => x.target),
      two.map((x) => x.target),
    );
    // The --vs target was driven: the preload wrote its keys there.
    assert.ok(Number(await other.call('DBSIZE')) > 0);
    // x direct is the median (of two: the mean) of the per-round ratios, and the range their extremes.
    const rps = (rows: typeof one, t: string) => rows.find((x) => x.target === t)!.rps;
    const near = (shown: string, want: number, what: string) =>
      assert.ok(Math.abs(Number(shown) - want) <= 0.011, `${what}: ${shown} against ${want}`);
    for (const t of ['proxy', 'other']) {
      const ratios = [rps(one, t) / rps(one, 'direct'), rps(two, t) / rps(two, 'direct')];
      const row = new RegExp(
        `^\\s*(?:GET -P 1 c50)?\\s+${t} +[\\d,]+ +(\\d+\\.\\d\\d) +(\\d+\\.\\d\\d)–(\\d+\\.\\d\\d) .* 2/2$`,
        'm',
      ).exec(r.stdout);
      assert.ok(row, `${t} row in:\n${r.stdout}`);
      near(row[1]!, (ratios[0]! + ratios[1]!) / 2, `${t} x direct`);
      near(row[2]!, Math.min(...ratios), `${t} lowest round`);
      near(row[3]!, Math.max(...ratios), `${t} highest round`);
    }
    // read/write calls per request. At -P 1 each request costs a read and a write of whoever serves
    // it; the servers behind the proxy see fewer, as it pipelines many clients into one connection.
    const calls = (t: string) => {
      const m = new RegExp(`^\\s*(?:GET -P 1 c50)?\\s+${t} .* (\\S+) +(\\S+) +2/2$`, 'm').exec(r.stdout);
      assert.ok(m, `${t} row in:\n${r.stdout}`);
      return { own: m[1]!, servers: m[2]! };
    };
    const [direct, proxy] = [calls('direct'), calls('proxy')];
    assert.ok(Number(direct.own) >= 1.9 && Number(direct.own) <= 2.2, `direct: ${direct.own} calls/req`);
    // The other server idles through direct's runs.
    assert.ok(
      Math.abs(Number(direct.servers) - Number(direct.own)) <= 0.02,
      `direct's servers: ${direct.servers}`,
    );
    assert.ok(Number(proxy.own) >= 1.9, `proxy: ${proxy.own} calls/req`);
    assert.ok(Number(proxy.servers) < Number(direct.servers), `servers behind the proxy: ${proxy.servers}`);
    assert.deepEqual(calls('other'), { own: '-', servers: '-' });
    // The kernel's part of a process's CPU: some, not all, with a read and a write per request.
    const inKernel = (t: string) =>
      new RegExp(`^\\s*(?:GET -P 1 c50)?\\s+${t} .* (\\d+)% `, 'm').exec(r.stdout)?.[1];
    for (const t of ['direct', 'proxy']) {
      const share = Number(inKernel(t));
      assert.ok(share > 0 && share < 100, `${t}: ${inKernel(t)}% in kernel`);
    }
    assert.equal(inKernel('other'), undefined, 'not measured for a --vs target');
    assert.match(r.stdout, /^proxy peak RSS during the run: \d+\.\d MB/m);
    // The proxy's collections, from its stats: its GETs alone (2 rounds of 5,000) allocate more
    // than its young generation holds.
    const gc =
      /^proxy garbage collection over the run: [\d.]+ collections per 100,000 commands \((\d+) for ([\d,]+), (\d+) of them full\)/m.exec(
        r.stdout,
      );
    assert.ok(gc, r.stdout);
    assert.ok(Number(gc[1]) >= 1 && Number(gc[3]) <= Number(gc[1]), gc[0]);
    assert.ok(Number(gc[2]!.replace(/,/g, '')) >= 10_000, gc[0]);
    assert.match(r.stdout, /^RSS growth at 100 idle connections: -?\d+\.\d\d MB per 1,000/m);
  } finally {
    await other.stop();
  }
});

test('bad options exit 2 naming the option, before anything starts', async () => {
  for (const [args, reason] of [
    [['--vs', 'nohostport'], /--vs wants NAME=HOST:PORT/],
    [['--vs', 'proxy=127.0.0.1:1'], /--vs name proxy is taken/],
    [['--only', 'no-such'], /unknown workload\(s\) in --only: no-such/],
    [['--rounds', '0'], /--rounds/],
    [['--ncpu', '2,65'], /--ncpu must be an integer of at most 64, got 65/],
    [['--core-share', '0.2'], /--core-share not used by mode throughput/],
    [['scaling', '--core-share', '0.05'], /--core-share must be 0 \(no cap\) or from 0.1 to 1, got 0.05/],
    [['scaling', '--core-share', 'half'], /--core-share must be 0 \(no cap\) or from 0.1 to 1, got half/],
    [['scaling', '--twemproxy'], /--twemproxy not used by mode scaling/],
    [['scaling', '--ncpu', '2,2'], /--ncpu values must be distinct/],
    [['scaling', '--proxy-accept', 'kernel'], /--proxy-accept must be primary or workers, got "kernel"/],
    [['migration', '--proxy-accept', 'workers'], /--proxy-accept not used by mode migration/],
    [['no-such-mode'], /unknown mode "no-such-mode"/],
  ] as const) {
    const r = await bench([...args]);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, reason);
    assert.doesNotMatch(r.stderr, /starting/);
  }
});

test('the scaling mode runs one proxy per --ncpu in interleaved rounds, with ratios to the fewest workers', async () => {
  // Capped where this machine lets a cgroup do it (root, a cpu controller), as on a small box by default.
  const share = cannotCap() === undefined ? '0.5' : '0';
  const capsBefore = leftCaps();
  const r = await bench([
    ...[
      'scaling',
      '--quick',
      '--only',
      'get-p1',
      '--ncpu',
      '2,1',
      '--rounds',
      '2',
      '--requests-scale',
      '0.05',
    ],
    ...['--core-share', share],
  ]);
  assert.equal(r.code, 0, r.stderr);
  for (const round of [1, 2]) {
    const ran = [
      ...r.stderr.matchAll(new RegExp(`^\\[round ${round}/2\\] get-p1 +(ncpu-\\d) +[\\d,]+ rps`, 'gm')),
    ];
    assert.deepEqual(ran.map((m) => m[1]).sort(), ['ncpu-1', 'ncpu-2']);
  }
  // The fewest workers are the base, whatever order --ncpu named them in.
  assert.match(r.stdout, /^workload +target +rps \(median\) +x ncpu-1 /m);
  assert.match(r.stdout, /^GET -P 1 c50 +ncpu-1 +[\d,]+ +1\.00 +- /m);
  assert.match(r.stdout, /^ +ncpu-2 +[\d,]+ +\d+\.\d\d +\d+\.\d\d–\d+\.\d\d .* 2\/2$/m);
  const cap = share === '0' ? '' : ' of a cap of 1\\.00';
  assert.match(
    r.stdout,
    new RegExp(`^GET -P 1 c50, ncpu-2: 2 workers and their primary used \\d+\\.\\d\\d cores${cap}$`, 'm'),
  );
  // Every cgroup it made is gone with its processes.
  assert.deepEqual(leftCaps(), capsBefore);
});

/** Why caps cannot be made here, or undefined when they can. */
function cannotCap(): string | undefined {
  try {
    cpuCap(0.5).remove();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** cgroups named as the bench names its caps, under any cpu hierarchy mounted here. */
function leftCaps(): string[] {
  return ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup'].flatMap((dir) => {
    try {
      return readdirSync(dir).filter((n) => n.startsWith('codis-bench-'));
    } catch {
      return [];
    }
  });
}

test('get-reconnect opens a connection per request: a read for the command, one for the close, and a write', async () => {
  const r = await bench([
    '--quick',
    '--only',
    'get-reconnect',
    '--requests-scale',
    '0.05',
    '--idle-conns',
    '10',
  ]);
  assert.equal(r.code, 0, r.stderr);
  // direct is one redis-server: its own r/w calls per request. A kept connection costs 2.
  const m = /^GET new conn c50\s+direct .* (\S+) +(\S+) +1\/1$/m.exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.ok(Number(m[1]) >= 2.8, `direct made ${m[1]} r/w calls per request`);
  assert.match(r.stdout, /^\s+proxy +[\d,]+ +\d+\.\d\d .* 1\/1$/m);
});
