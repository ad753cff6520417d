/**
 * The admin API clients codis-admin uses: the proxy's (§3.2) and the dashboard's (§4.2). Each call
 * is logged with `-v` as Codis does (`call rpc <name> to <kind> <addr>`), and a failure becomes one
 * AdminError line: `call rpc <name> to <kind> <addr> failed: [Remote Error] <cause>`.
 */
import { RpcError, rpc } from '../utils/rpc.js';
import { proxyXAuth, topomXAuth } from '../utils/xauth.js';
import { debug, type Io } from './output.js';

/** A failure to report on one line and exit 1. */
export class AdminError extends Error {}

/** The readable part of an RpcError: the remote cause, or the transport problem. */
export function describeError(e: unknown): string {
  if (e instanceof RpcError) {
    if (e.status === 0) return e.message;
    const m = /^\[\d+\] ([\s\S]*) - [A-Z]+ \S+$/.exec(e.message);
    return `[Remote Error] ${(m ? m[1]! : e.message).trim()}`;
  }
  return e instanceof Error ? e.message : String(e);
}

/** A path segment: addresses stay readable (`host:port`), anything that would break the path is escaped. */
export const seg = (v: string | number) => encodeURIComponent(String(v)).replace(/%3A/gi, ':');
const flag = (b: boolean) => (b ? 1 : 0);

abstract class ApiClient {
  protected xauth = '';

  constructor(
    protected readonly io: Io,
    readonly addr: string,
    private readonly kind: 'proxy' | 'dashboard',
  ) {}

  /** Runs one call with Codis's debug lines and error message. */
  protected async call<T>(name: string, fn: () => Promise<T>): Promise<T> {
    debug(this.io, `call rpc ${name} to ${this.kind} ${this.addr}`);
    try {
      const result = await fn();
      debug(this.io, `call rpc ${name} OK`);
      return result;
    } catch (e) {
      throw new AdminError(`call rpc ${name} to ${this.kind} ${this.addr} failed: ${describeError(e)}`, {
        cause: e,
      });
    }
  }

  protected get<T>(name: string, path: string): Promise<T> {
    return this.call(name, () => rpc.get<T>(this.addr, path));
  }

  protected put<T = unknown>(name: string, path: string, body?: unknown): Promise<T> {
    return this.call(name, () => rpc.put<T>(this.addr, path, body));
  }
}

export interface ProxyModelLike {
  token: string;
  product_name: string;
  [key: string]: unknown;
}

export class ProxyClient extends ApiClient {
  constructor(
    io: Io,
    addr: string,
    private readonly auth: string,
  ) {
    super(io, addr, 'proxy');
  }

  /** `GET /proxy`: the unauthenticated overview. */
  overview(): Promise<Record<string, unknown>> {
    return this.get('overview', '/proxy');
  }

  /** Learns product and token from the model, builds the xauth with `--auth` and checks it. */
  async login(): Promise<void> {
    const model = await this.get<ProxyModelLike>('model', '/api/proxy/model');
    this.xauth = proxyXAuth(model.product_name, this.auth, model.token);
    await this.get('xping', `/api/proxy/xping/${this.xauth}`);
  }

  start = () => this.put('start', `/api/proxy/start/${this.xauth}`);
  shutdown = () => this.put('shutdown', `/api/proxy/shutdown/${this.xauth}`);
  logLevel = (level: string) => this.put('loglevel', `/api/proxy/loglevel/${this.xauth}/${seg(level)}`);
  fillSlots = (slots: unknown[]) => this.put('fillslots', `/api/proxy/fillslots/${this.xauth}`, slots);
  resetStats = () => this.put('resetstats', `/api/proxy/stats/reset/${this.xauth}`);
  forceGC = () => this.put('forcegc', `/api/proxy/forcegc/${this.xauth}`);
}

/** The parts of the dashboard's Stats (§4.13) that codis-admin reads. */
export interface TopomStats {
  slots?: unknown[];
  group?: { models?: GroupModelLike[]; stats?: Record<string, unknown> };
  proxy?: { models?: ProxyModelLike[]; stats?: Record<string, unknown> };
  [key: string]: unknown;
}

export interface GroupModelLike {
  id: number;
  servers: { server: string; [key: string]: unknown }[];
  [key: string]: unknown;
}

/** `GET /api/topom/slots/progress` (the parts codis-admin reads). */
export interface SlotsProgress {
  disabled?: boolean;
  progress?: {
    status?: string;
    stalled?: string;
    keys_moved?: number;
    keys_left?: number;
    keys_per_sec?: number;
    eta_seconds?: number | null;
    slots?: { id: number; [key: string]: unknown }[];
  };
  actions?: { id: number; state: string; from: number; to: number }[];
}

export interface SlotMappingBody {
  id: number;
  group_id: number;
  action: Record<string, unknown>;
}

export class DashboardClient extends ApiClient {
  constructor(io: Io, addr: string) {
    super(io, addr, 'dashboard');
  }

  /** Learns the product name from the model, builds the dashboard xauth and checks it. */
  async login(): Promise<void> {
    const model = await this.get<{ product_name: string }>('model', '/api/topom/model');
    this.xauth = topomXAuth(model.product_name);
    await this.get('xping', `/api/topom/xping/${this.xauth}`);
  }

  overview = () => this.get<{ stats?: TopomStats; [key: string]: unknown }>('overview', '/topom');
  stats = () => this.get<TopomStats>('stats', `/api/topom/stats/${this.xauth}`);
  slots = () => this.get<unknown[]>('slots', `/api/topom/slots/${this.xauth}`);
  reload = () => this.put('reload', `/api/topom/reload/${this.xauth}`);
  shutdown = () => this.put('shutdown', `/api/topom/shutdown/${this.xauth}`);
  logLevel = (level: string) => this.put('loglevel', `/api/topom/loglevel/${this.xauth}/${seg(level)}`);

  createProxy = (addr: string) =>
    this.put('create-proxy', `/api/topom/proxy/create/${this.xauth}/${seg(addr)}`);
  onlineProxy = (addr: string) =>
    this.put('online-proxy', `/api/topom/proxy/online/${this.xauth}/${seg(addr)}`);
  reinitProxy = (token: string) =>
    this.put('reinit-proxy', `/api/topom/proxy/reinit/${this.xauth}/${seg(token)}`);
  removeProxy = (token: string, force: boolean) =>
    this.put('remove-proxy', `/api/topom/proxy/remove/${this.xauth}/${seg(token)}/${flag(force)}`);

  createGroup = (gid: number) => this.put('create-group', `/api/topom/group/create/${this.xauth}/${gid}`);
  removeGroup = (gid: number) => this.put('remove-group', `/api/topom/group/remove/${this.xauth}/${gid}`);
  resyncGroup = (gid: number) => this.put('resync-group', `/api/topom/group/resync/${this.xauth}/${gid}`);
  groupAddServer = (gid: number, addr: string, datacenter: string) =>
    this.put(
      'group-add-server',
      `/api/topom/group/add/${this.xauth}/${gid}/${seg(addr)}${datacenter ? `/${seg(datacenter)}` : ''}`,
    );
  groupDelServer = (gid: number, addr: string) =>
    this.put('group-del-server', `/api/topom/group/del/${this.xauth}/${gid}/${seg(addr)}`);
  promoteServer = (gid: number, addr: string) =>
    this.put('group-promote-server', `/api/topom/group/promote/${this.xauth}/${gid}/${seg(addr)}`);
  replicaGroups = (gid: number, addr: string, on: boolean) =>
    this.put(
      'replica-groups',
      `/api/topom/group/replica-groups/${this.xauth}/${gid}/${seg(addr)}/${flag(on)}`,
    );
  createSyncAction = (addr: string) =>
    this.put('create-sync-action', `/api/topom/group/action/create/${this.xauth}/${seg(addr)}`);
  removeSyncAction = (addr: string) =>
    this.put('remove-sync-action', `/api/topom/group/action/remove/${this.xauth}/${seg(addr)}`);

  createSlotAction = (sid: number, gid: number) =>
    this.put('create-slot-action', `/api/topom/slots/action/create/${this.xauth}/${sid}/${gid}`);
  removeSlotAction = (sid: number) =>
    this.put('remove-slot-action', `/api/topom/slots/action/remove/${this.xauth}/${sid}`);
  createSlotActionSome = (src: number, dst: number, num: number) =>
    this.put(
      'create-slot-action-some',
      `/api/topom/slots/action/create-some/${this.xauth}/${src}/${dst}/${num}`,
    );
  createSlotActionRange = (beg: number, end: number, gid: number) =>
    this.put(
      'create-slot-action-range',
      `/api/topom/slots/action/create-range/${this.xauth}/${beg}/${end}/${gid}`,
    );
  setSlotActionInterval = (us: number) =>
    this.put('slot-action-interval', `/api/topom/slots/action/interval/${this.xauth}/${us}`);
  setSlotActionDisabled = (disabled: boolean) =>
    this.put('slot-action-disabled', `/api/topom/slots/action/disabled/${this.xauth}/${flag(disabled)}`);
  abortSlotAction = (sid: number) =>
    this.put<string>('abort-slot-action', `/api/topom/slots/action/abort/${this.xauth}/${sid}`);
  setSlotActionRate = (body: Record<string, unknown>) =>
    this.put<Record<string, number>>('slot-action-rate', `/api/topom/slots/action/rate/${this.xauth}`, body);
  progress = () => this.get<SlotsProgress>('slots-progress', `/api/topom/slots/progress/${this.xauth}`);
  slotsAssign = (slots: SlotMappingBody[]) =>
    this.put('slots-assign', `/api/topom/slots/assign/${this.xauth}`, slots);
  slotsAssignOffline = (slots: SlotMappingBody[]) =>
    this.put('slots-assign', `/api/topom/slots/assign/${this.xauth}/offline`, slots);
  rebalance = (confirm: boolean) =>
    this.put<Record<string, number>>(
      'slot-rebalance',
      `/api/topom/slots/rebalance/${this.xauth}/${flag(confirm)}`,
    );

  addSentinel = (addr: string) =>
    this.put('add-sentinel', `/api/topom/sentinels/add/${this.xauth}/${seg(addr)}`);
  delSentinel = (addr: string, force: boolean) =>
    this.put('del-sentinel', `/api/topom/sentinels/del/${this.xauth}/${seg(addr)}/${flag(force)}`);
  resyncSentinels = () => this.put('resync-sentinels', `/api/topom/sentinels/resync-all/${this.xauth}`);
}
