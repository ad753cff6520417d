// codis-admin's command line: every usage line of §8.3 is accepted, anything else prints the usage
// and exits 2 before contacting anything.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseArgs, UsageError, type Args } from '../../src/admin/args.js';
import { usagePatterns, USAGE } from '../../src/admin/usage.js';
import { admin, adminIn } from './cli.js';

const P = '--proxy=127.0.0.1:11080';
const D = '--dashboard=127.0.0.1:18080';
const FS = '--filesystem=/tmp/x';

/** One command line per usage line, in usage order. */
const SAMPLES: string[][] = [
  [P, 'stats'],
  [P, '--auth=pw', '--start'],
  [P, '--shutdown'],
  [P, '--log-level=INFO'],
  [P, '--fillslots=slots.json', '--locked'],
  [P, '--reset-stats'],
  [P, '-a', 'pw', '--forcegc'],
  [D, 'group'],
  [D, '--shutdown'],
  [D, '--reload'],
  [D, '--log-level=WARN'],
  [D, '--slots-assign', '--beg=0', '--end=511', '--offline', '--confirm'],
  [D, '--slots-status'],
  [D, '--list-proxy'],
  [D, '--create-proxy', '-x', '127.0.0.1:11080'],
  [D, '--online-proxy', '--addr=127.0.0.1:11080'],
  [D, '--remove-proxy', '--pid=1', '--force'],
  [D, '--reinit-proxy', '--all'],
  [D, '--proxy-status'],
  [D, '--list-group'],
  [D, '--create-group', '-g3'],
  [D, '--remove-group', '--gid', '3'],
  [D, '--resync-group', '--all'],
  [D, '--group-add', '--gid=1', '--addr=127.0.0.1:6379', '--datacenter=dc'],
  [D, '--group-del', '--gid=1', '--addr=127.0.0.1:6379'],
  [D, '--group-status'],
  [D, '--replica-groups', '--gid=1', '--addr=127.0.0.1:6379', '--disable'],
  [D, '--promote-server', '--gid=1', '--addr=127.0.0.1:6380'],
  [D, '--sync-action', '--create', '--addr=127.0.0.1:6380'],
  [D, '--sync-action', '--remove', '--addr=127.0.0.1:6380'],
  [D, '--slot-action', '--create', '--sid=1', '--gid=2'],
  [D, '--slot-action', '--remove', '--sid=1'],
  [D, '--slot-action', '--create-some', '--gid-from=1', '--gid-to=2', '--num-slots=10'],
  [D, '--slot-action', '--create-range', '--beg=0', '--end=9', '--gid=2'],
  [D, '--slot-action', '--interval=1000'],
  [D, '--slot-action', '--disabled=1'],
  [D, '--rebalance', '--confirm'],
  [D, '--sentinel-add', '--addr=127.0.0.1:26379'],
  [D, '--sentinel-del', '--addr=127.0.0.1:26379', '--force'],
  [D, '--sentinel-resync'],
  ['--remove-lock', '--product=p', '--zookeeper=127.0.0.1:2181', '--zookeeper-auth=u:p'],
  ['--config-dump', '--product=p', '--etcd=127.0.0.1:2379', '-1'],
  ['--config-convert=v1.json'],
  ['--config-restore=v3.json', '--product=p', FS, '--confirm'],
  ['--dashboard-list', '--etcd=127.0.0.1:2379', '--etcd-auth=u:p'],
];

function parse(argv: string[]): Args {
  const r = parseArgs(argv);
  assert.equal(r.help, false);
  return r as Args;
}

describe('usage', () => {
  it('is Codis 3.2 usage, one sample per line', () => {
    assert.equal(usagePatterns().length, SAMPLES.length);
    assert.ok(
      USAGE.startsWith('Usage:\n\tcodis-admin [-v] --proxy=ADDR [--auth=AUTH] [config|model|stats|slots]\n'),
    );
  });

  it('accepts every usage line (each sample matches its own line)', () => {
    SAMPLES.forEach((argv, i) => assert.equal(parse(argv).line, i, argv.join(' ')));
    // Options in any order (samples with a separate value `-a pw` keep theirs).
    SAMPLES.forEach((argv, i) => {
      const units = argv.some((x) => /^[^-]/.test(x) && !['stats', 'group'].includes(x))
        ? [argv]
        : argv.map((x) => [x]);
      assert.equal(parse(['-v', ...units.reverse().flat()]).line, i, argv.join(' '));
    });
  });

  it('reads values in every docopt form', () => {
    for (const argv of [
      [D, '--create-group', '--gid=7'],
      [D, '--create-group', '--gid', '7'],
      [D, '--create-group', '-g', '7'],
      [D, '--create-group', '-g7'],
      ['--dashboard', '127.0.0.1:18080', '--create-gr', '--gid=7'],
    ]) {
      const a = parse(argv);
      assert.equal(a.opts.get('--gid'), '7', argv.join(' '));
      assert.equal(a.opts.get('--dashboard'), '127.0.0.1:18080');
      assert.equal(a.opts.get('--create-group'), true);
    }
    assert.equal(parse([P, 'model']).command, 'model');
    assert.equal(parse([D]).command, undefined);
    assert.deepEqual(parseArgs(['--help']), { help: true });
  });

  const bad: [string, string[]][] = [
    ['nothing', []],
    ['no mode', ['--start']],
    ['two modes', [P, D]],
    ['unknown option', [D, '--frobnicate']],
    ['unknown short option', [D, '-z']],
    ['ambiguous prefix', ['--dash=x']],
    ['repeated option', [D, '--create-group', '--gid=1', '--gid=2']],
    ['missing value', [D, '--create-group', '--gid']],
    ['value on a flag', [D, '--reload=1']],
    ['missing required option', [D, '--create-group']],
    ['both sides of an either', [D, '--slots-assign', '--beg=0', '--end=1', '--gid=1', '--offline']],
    ['two commands', [D, '--reload', '--shutdown']],
    ['a word the mode does not have', [P, 'group']],
    ['extra word', [P, 'stats', 'model']],
    ['auth of the other coordinator', ['--dashboard-list', '--zookeeper=z', '--etcd-auth=u:p']],
    ['two coordinators', ['--dashboard-list', '--zookeeper=z', '--etcd=e']],
    ['--force where not allowed', [D, '--create-proxy', '--addr=a', '--force']],
    ['-1 without --config-dump', ['--remove-lock', '--product=p', FS, '-1']],
  ];
  for (const [what, argv] of bad) {
    it(`refuses ${what}`, () => assert.throws(() => parseArgs(argv), UsageError));
  }
});

describe('usage errors from the binary', () => {
  it('no arguments: usage on stderr, exit 2', async () => {
    const r = await admin();
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.ok(r.stderr.startsWith(USAGE));
  });

  it('--help: usage on stdout, exit 0', async () => {
    const r = await admin('--help');
    assert.equal(r.code, 0);
    assert.equal(r.stdout, USAGE);
  });

  it('the last line says what is wrong', async () => {
    for (const [argv, why] of [
      [[D, '--frobnicate'], /unknown option --frobnicate/],
      [[D, '--create-group', '--gid=1', '--gid=2'], /--gid is given more than once/],
      [[D, '--create-group', '--gid=one'], /option --gid = one: not an integer/],
      [[P, '--log-level=LOUD'], /option --log-level = LOUD/],
      [[P, 'group'], /match no usage line/],
      [['--dashboard-list', '--zookeeper='], /option --zookeeper needs a value/],
      [['--remove-lock', '--product=', FS], /option --product needs a value/],
    ] as [string[], RegExp][]) {
      const r = await adminIn(...argv);
      assert.equal(r.code, 2, argv.join(' '));
      assert.ok(r.stderr.startsWith(USAGE));
      assert.match(r.stderr.trim().split('\n').at(-1)!, why);
    }
  });
});
