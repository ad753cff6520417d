/**
 * Dashboard mode: `codis-admin --dashboard=ADDR …` (reference §8.3). Every command first learns the
 * product from `/api/topom/model` and checks the xauth; mutations print nothing on success. The
 * slot commands (assign, actions, rebalance) are in slotsCmd.ts.
 */
import { jsonEncode } from '../models/Store.js';
import { UsageError, type ArgReader } from './args.js';
import { AdminError, DashboardClient, type ProxyModelLike, type TopomStats } from './client.js';
import { canonicalLogLevel } from './proxyCmd.js';
import { slotsMain } from './slotsCmd.js';
import {
  debug,
  groupStatusLines,
  jsonText,
  proxyStatusLines,
  type GroupRow,
  type Io,
  type ProxyRow,
  type StatsEntry,
} from './output.js';

/** The option that selects the command (the usage line guarantees at most one of them). */
const PROXY_COMMANDS = [
  '--create-proxy',
  '--online-proxy',
  '--remove-proxy',
  '--reinit-proxy',
  '--proxy-status',
];
const GROUP_COMMANDS = [
  '--create-group',
  '--remove-group',
  '--resync-group',
  '--group-add',
  '--group-del',
  '--group-status',
  '--replica-groups',
  '--promote-server',
];
const SLOT_COMMANDS = ['--slots-assign', '--slots-status', '--slot-action', '--rebalance'];
const SENTINEL_COMMANDS = ['--sentinel-add', '--sentinel-del', '--sentinel-resync'];

export async function dashboardMain(a: ArgReader, io: Io): Promise<void> {
  const c = new DashboardClient(io, a.must('--dashboard'));
  const any = (names: string[]) => names.some((n) => a.has(n));

  if (a.has('--log-level')) {
    const level = canonicalLogLevel(a.must('--log-level'));
    await c.login();
    await c.logLevel(level);
  } else if (a.has('--shutdown')) {
    await c.login();
    await c.shutdown();
  } else if (a.has('--reload')) {
    await c.login();
    await c.reload();
  } else if (any(SLOT_COMMANDS)) {
    await slotsMain(a, c, io);
  } else if (any(PROXY_COMMANDS)) {
    await proxyCommand(a, c, io);
  } else if (any(GROUP_COMMANDS)) {
    await groupCommand(a, c, io);
  } else if (any(SENTINEL_COMMANDS)) {
    await sentinelCommand(a, c);
  } else if (a.has('--sync-action')) {
    await c.login();
    const addr = a.must('--addr');
    await (a.has('--create') ? c.createSyncAction(addr) : c.removeSyncAction(addr));
  } else {
    await overview(a, c, io);
  }
}

/** The overview (`GET /topom`) or one part of it, as indented JSON. */
async function overview(a: ArgReader, c: DashboardClient, io: Io): Promise<void> {
  await c.login();
  const o = await c.overview();
  const stats = o.stats;
  let obj: unknown;
  if (a.has('--list-group')) obj = stats?.group?.models;
  else if (a.has('--list-proxy')) obj = stats?.proxy?.models;
  else {
    switch (a.args.command) {
      case undefined:
        obj = o;
        break;
      case 'slots':
      case 'group':
      case 'proxy':
        obj = stats?.[a.args.command];
        break;
      default:
        obj = o[a.args.command];
    }
  }
  io.out(jsonText(obj));
}

const proxyModels = (s: TopomStats): ProxyModelLike[] => s.proxy?.models ?? [];

/** The tokens `--addr` (admin address), `--pid` (dashboard id) or `--token` name; [] with --force when none. */
async function proxyTokens(a: ArgReader, c: DashboardClient): Promise<string[]> {
  if (a.has('--token')) return [a.must('--token')];
  let what: string;
  let hit: (p: ProxyModelLike) => boolean;
  if (a.has('--pid')) {
    const pid = a.int('--pid');
    what = `id = ${pid}`;
    hit = (p) => p.id === pid;
  } else {
    const addr = a.must('--addr');
    what = `addr = ${addr}`;
    hit = (p) => p.admin_addr === addr;
  }
  const tokens = proxyModels(await c.stats())
    .filter(hit)
    .map((p) => p.token);
  if (tokens.length === 0 && !a.has('--force'))
    throw new AdminError(`can't find specific proxy with ${what}`);
  return tokens;
}

async function proxyCommand(a: ArgReader, c: DashboardClient, io: Io): Promise<void> {
  if (a.has('--pid')) a.int('--pid'); // a bad id is a usage error before any call
  await c.login();
  if (a.has('--create-proxy')) {
    await c.createProxy(a.must('--addr'));
  } else if (a.has('--online-proxy')) {
    await c.onlineProxy(a.must('--addr'));
  } else if (a.has('--remove-proxy')) {
    for (const token of await proxyTokens(a, c)) await c.removeProxy(token, a.has('--force'));
  } else if (a.has('--reinit-proxy')) {
    if (a.has('--all')) {
      for (const p of proxyModels(await c.stats())) {
        io.out(`reinit proxy: ${jsonEncode(p).toString('utf8')}\n`);
        await c.reinitProxy(p.token);
      }
    } else {
      for (const token of await proxyTokens(a, c)) await c.reinitProxy(token);
    }
  } else {
    const s = await c.stats();
    const stats = (s.proxy?.stats ?? {}) as Record<string, StatsEntry | undefined>;
    io.out(proxyStatusLines(proxyModels(s) as unknown as ProxyRow[], stats));
  }
}

async function printGroupStatus(c: DashboardClient, io: Io): Promise<void> {
  const s = await c.stats();
  const stats = (s.group?.stats ?? {}) as Record<string, StatsEntry | undefined>;
  io.out(groupStatusLines((s.group?.models ?? []) as GroupRow[], stats));
}

async function groupCommand(a: ArgReader, c: DashboardClient, io: Io): Promise<void> {
  // Integers are checked before any call, so a typo does not half-run.
  const gid = a.has('--gid') ? a.int('--gid') : undefined;
  const needGid = () => {
    if (gid === undefined) throw new UsageError('missing option --gid');
    return gid;
  };
  if (a.has('--resync-group') && gid === undefined && !a.has('--all'))
    throw new UsageError('--resync-group needs --gid=ID or --all');
  await c.login();
  if (a.has('--create-group')) {
    await c.createGroup(needGid());
  } else if (a.has('--remove-group')) {
    await c.removeGroup(needGid());
  } else if (a.has('--resync-group')) {
    if (a.has('--all')) {
      const groups = (await c.stats()).group?.models ?? [];
      for (const g of groups) {
        debug(io, `resync group-[${g.id}]`);
        await c.resyncGroup(g.id);
      }
    } else {
      await c.resyncGroup(needGid());
    }
  } else if (a.has('--group-add')) {
    await c.groupAddServer(needGid(), a.must('--addr'), a.str('--datacenter') ?? '');
  } else if (a.has('--group-del')) {
    await c.groupDelServer(needGid(), a.must('--addr'));
  } else if (a.has('--replica-groups')) {
    await c.replicaGroups(needGid(), a.must('--addr'), a.has('--enable'));
  } else if (a.has('--promote-server')) {
    await c.promoteServer(needGid(), a.must('--addr'));
    await printGroupStatus(c, io);
  } else {
    await printGroupStatus(c, io);
  }
}

async function sentinelCommand(a: ArgReader, c: DashboardClient): Promise<void> {
  await c.login();
  if (a.has('--sentinel-add')) await c.addSentinel(a.must('--addr'));
  else if (a.has('--sentinel-del')) await c.delSentinel(a.must('--addr'), a.has('--force'));
  else await c.resyncSentinels();
}
