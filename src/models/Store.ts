// Codis pkg/models/store.go: the coordinator paths of a product, the JSON codec, and a Store that
// loads and saves each model. Layout (§4.12):
//   /codis3/{product}/topom                  Topom; also the dashboard's ownership lock (create, not update)
//   /codis3/{product}/slots/slot-NNNN        SlotMapping (missing = offline and idle)
//   /codis3/{product}/group/group-NNNN       Group
//   /codis3/{product}/proxy/proxy-{token}    Proxy
//   /codis3/{product}/sentinel               Sentinel (missing = no servers)
//   /jodis/{product}/proxy-{token}           Jodis node (or /zk/codis/db_{product}/proxy/{token})

import { baseName, type Client } from '../coordinator/Client.js';
import { groupToJson, type Group } from './Group.js';
import { proxyModelToJson, sentinelModelToJson, type ProxyModel, type SentinelModel } from './Proxy.js';
import { MaxSlotNum, newSlotMapping, slotMappingToJson, type SlotMapping } from './SlotMapping.js';
import { topomToJson, type Topom } from './Topom.js';

export const CodisDir = '/codis3';

const productNamePattern = /^\w[\w.-]*$/;

export function isValidProductName(name: string): boolean {
  return productNamePattern.test(name);
}

export function validateProductName(name: string): void {
  if (!isValidProductName(name)) throw new Error(`bad product name = ${name}`);
}

const pad4 = (n: number) => String(n).padStart(4, '0');

export const productDir = (product: string) => `${CodisDir}/${product}`;
export const lockPath = (product: string) => `${productDir(product)}/topom`;
export const slotDir = (product: string) => `${productDir(product)}/slots`;
export const slotPath = (product: string, sid: number) => `${slotDir(product)}/slot-${pad4(sid)}`;
export const groupDir = (product: string) => `${productDir(product)}/group`;
export const groupPath = (product: string, gid: number) => `${groupDir(product)}/group-${pad4(gid)}`;
export const proxyDir = (product: string) => `${productDir(product)}/proxy`;
export const proxyPath = (product: string, token: string) => `${proxyDir(product)}/proxy-${token}`;
export const sentinelPath = (product: string) => `${productDir(product)}/sentinel`;

/** Where a proxy registers for Jodis clients; `compatible` is the Codis 2 layout (jodis_compatible). */
export function jodisDir(product: string, compatible = false): string {
  return compatible ? `/zk/codis/db_${product}/proxy` : `/jodis/${product}`;
}

export function jodisPath(product: string, token: string, compatible = false): string {
  return `${jodisDir(product, compatible)}/${compatible ? token : `proxy-${token}`}`;
}

// Go's encoder escapes these inside strings; JSON.stringify writes <>& and U+2028/9 raw and \b \f short.
const goEscapes: Record<string, string> = {
  '\\b': '\\u0008',
  '\\f': '\\u000c',
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

/**
 * Go's json.MarshalIndent(v, "", "    ") byte for byte (no trailing newline). The regex also consumes
 * an escaped backslash pair, so `\\b` (backslash, then b) is left alone.
 */
export function jsonEncode(value: unknown): Buffer {
  const text = JSON.stringify(value, null, 4).replace(
    /\\[\\bf]|[<>&\u2028\u2029]/g,
    (m) => goEscapes[m] ?? m,
  );
  return Buffer.from(text, 'utf8');
}

type Template = string | number | boolean | Template[] | { [key: string]: Template };

/**
 * Go's json.Unmarshal into a zero value: absent or null fields keep the template's zero value (an
 * array template holds its element template), unknown fields are ignored, wrong types are errors.
 */
function fill(template: Template, value: unknown, where: string): unknown {
  if (value === undefined || value === null)
    value = Array.isArray(template) ? [] : typeof template === 'object' ? {} : template;
  if (Array.isArray(template)) {
    if (!Array.isArray(value)) throw new Error(`${where}: expected an array`);
    return value.map((v: unknown, i) => fill(template[0], v, `${where}[${i}]`));
  }
  if (typeof template === 'object') {
    if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${where}: expected an object`);
    const src = value as Record<string, unknown>;
    return Object.fromEntries(
      Object.entries(template).map(([k, t]) => [k, fill(t, src[k], `${where}.${k}`)]),
    );
  }
  if (typeof value !== typeof template) throw new Error(`${where}: expected a ${typeof template}`);
  if (typeof value === 'number' && !Number.isSafeInteger(value))
    throw new Error(`${where}: expected an integer`);
  return value;
}

const zeroIndexState = { index: 0, state: '' };
const zeroTopom = { token: '', start_time: '', admin_addr: '', product_name: '', pid: 0, pwd: '', sys: '' };
const zeroSlot = { id: 0, group_id: 0, action: { ...zeroIndexState, target_id: 0 } };
const zeroServer = { server: '', datacenter: '', action: zeroIndexState, replica_group: false };
const zeroGroup = { id: 0, servers: [zeroServer], promoting: zeroIndexState, out_of_sync: false };
const zeroSentinel = { servers: [''], out_of_sync: false };
const zeroProxy = {
  id: 0,
  token: '',
  start_time: '',
  admin_addr: '',
  proto_type: '',
  proxy_addr: '',
  jodis_path: '',
  product_name: '',
  pid: 0,
  pwd: '',
  sys: '',
  hostname: '',
  datacenter: '',
};

/**
 * Decodes stored JSON (Buffer, string or parsed value): Go's Unmarshal, then the model's own
 * encoder, which drops zero-valued omitempty fields, so that optional fields are absent, not zero.
 */
function decoder<T>(what: string, zero: Template, toJson: (x: T) => Record<string, unknown>) {
  return (data: Buffer | string | unknown): T => {
    const value: unknown =
      Buffer.isBuffer(data) || typeof data === 'string' ? JSON.parse(data.toString()) : data;
    return toJson(fill(zero, value, what) as T) as unknown as T;
  };
}

export const decodeTopom = decoder<Topom>('topom', zeroTopom, topomToJson);
export const decodeSlotMapping = decoder<SlotMapping>('slot', zeroSlot, slotMappingToJson);
export const decodeGroup = decoder<Group>('group', zeroGroup, groupToJson);
export const decodeProxy = decoder<ProxyModel>('proxy', zeroProxy, proxyModelToJson);
export const decodeSentinel = decoder<SentinelModel>('sentinel', zeroSentinel, sentinelModelToJson);

export const encodeTopom = (t: Topom) => jsonEncode(topomToJson(t));
export const encodeSlotMapping = (m: SlotMapping) => jsonEncode(slotMappingToJson(m));
export const encodeGroup = (g: Group) => jsonEncode(groupToJson(g));
export const encodeProxy = (p: ProxyModel) => jsonEncode(proxyModelToJson(p));
export const encodeSentinel = (s: SentinelModel) => jsonEncode(sentinelModelToJson(s));

/** Product names: the children of /codis3, sorted (a product is served when its topom node exists). */
export async function listProducts(client: Client): Promise<string[]> {
  return (await client.list(CodisDir)).map(baseName).sort();
}

export class Store {
  constructor(
    readonly client: Client,
    readonly product: string,
  ) {
    validateProductName(product);
  }

  /** Reads and decodes one node; null when missing (or an error when mustExist). */
  private async load<T>(path: string, decode: (data: Buffer) => T, mustExist: boolean): Promise<T | null> {
    const data = await this.client.read(path, mustExist);
    if (data === null) return null;
    try {
      return decode(data);
    } catch (err) {
      throw new Error(`store: bad JSON at ${path}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Decodes every child of dir. */
  private async loadAll<T>(dir: string, decode: (data: Buffer) => T): Promise<T[]> {
    const all = await Promise.all((await this.client.list(dir)).map((p) => this.load(p, decode, false)));
    return all.filter((x): x is Awaited<T> => x !== null);
  }

  /** Takes ownership of the product: creates the lock node, failing if another dashboard holds it. */
  async acquireLock(topom: Topom): Promise<void> {
    try {
      await this.client.create(lockPath(this.product), encodeTopom(topom));
    } catch (err) {
      throw new Error(`store: acquire lock of ${this.product} failed`, { cause: err });
    }
  }

  async releaseLock(): Promise<void> {
    try {
      await this.client.delete(lockPath(this.product));
    } catch (err) {
      throw new Error(`store: release lock of ${this.product} failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /** The lock holder (Codis LoadTopom); null when the product is not served. */
  loadLock(mustExist = false): Promise<Topom | null> {
    return this.load(lockPath(this.product), decodeTopom, mustExist);
  }

  /** All 1024 slots; a missing node reads as offline and idle. */
  async slotMappings(): Promise<SlotMapping[]> {
    const slots: SlotMapping[] = [];
    for (let i = 0; i < MaxSlotNum; i += 64) {
      const ids = Array.from({ length: Math.min(64, MaxSlotNum - i) }, (_, k) => i + k);
      slots.push(...(await Promise.all(ids.map((sid) => this.loadSlotMapping(sid)))));
    }
    return slots;
  }

  async loadSlotMapping(sid: number, mustExist = false): Promise<SlotMapping> {
    if (!Number.isInteger(sid) || sid < 0 || sid >= MaxSlotNum) throw new Error(`invalid slot id = ${sid}`);
    return (
      (await this.load(slotPath(this.product, sid), decodeSlotMapping, mustExist)) ?? newSlotMapping(sid)
    );
  }

  updateSlotMapping(m: SlotMapping): Promise<void> {
    return this.client.update(slotPath(this.product, m.id), encodeSlotMapping(m));
  }

  /** Groups by the id inside their JSON (not the node name). */
  async listGroup(): Promise<Map<number, Group>> {
    return new Map((await this.loadAll(groupDir(this.product), decodeGroup)).map((g) => [g.id, g]));
  }

  loadGroup(gid: number, mustExist = false): Promise<Group | null> {
    return this.load(groupPath(this.product, gid), decodeGroup, mustExist);
  }

  updateGroup(g: Group): Promise<void> {
    return this.client.update(groupPath(this.product, g.id), encodeGroup(g));
  }

  deleteGroup(gid: number): Promise<void> {
    return this.client.delete(groupPath(this.product, gid));
  }

  /** Proxies by the token inside their JSON. */
  async listProxy(): Promise<Map<string, ProxyModel>> {
    return new Map((await this.loadAll(proxyDir(this.product), decodeProxy)).map((p) => [p.token, p]));
  }

  loadProxy(token: string, mustExist = false): Promise<ProxyModel | null> {
    return this.load(proxyPath(this.product, token), decodeProxy, mustExist);
  }

  updateProxy(p: ProxyModel): Promise<void> {
    return this.client.update(proxyPath(this.product, p.token), encodeProxy(p));
  }

  deleteProxy(token: string): Promise<void> {
    return this.client.delete(proxyPath(this.product, token));
  }

  /** A missing node reads as `{"out_of_sync": false}`. */
  async loadSentinel(mustExist = false): Promise<SentinelModel> {
    return (await this.load(sentinelPath(this.product), decodeSentinel, mustExist)) ?? { out_of_sync: false };
  }

  updateSentinel(s: SentinelModel): Promise<void> {
    return this.client.update(sentinelPath(this.product), encodeSentinel(s));
  }

  listProducts(): Promise<string[]> {
    return listProducts(this.client);
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
