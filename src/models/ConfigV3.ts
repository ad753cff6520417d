// codis-admin's dump/restore format (cmd/admin ConfigV3): `{slots?, group?, proxy?}`, each list
// omitted when empty (Go omitempty on slices), written with MarshalIndent like the store.

import { groupToJson, type Group } from './Group.js';
import { proxyModelToJson, type ProxyModel } from './Proxy.js';
import { slotMappingToJson, type SlotMapping } from './SlotMapping.js';
import { decodeGroup, decodeProxy, decodeSlotMapping, jsonEncode } from './Store.js';

export interface ConfigV3 {
  slots?: SlotMapping[];
  group?: Group[];
  proxy?: ProxyModel[];
}

export function configV3ToJson(c: ConfigV3): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (c.slots?.length) out.slots = c.slots.map(slotMappingToJson);
  if (c.group?.length) out.group = c.group.map(groupToJson);
  if (c.proxy?.length) out.proxy = c.proxy.map(proxyModelToJson);
  return out;
}

export function encodeConfigV3(c: ConfigV3): Buffer {
  return jsonEncode(configV3ToJson(c));
}

/** Parses a dump (Buffer, text or parsed JSON); errors name the list and index. */
export function decodeConfigV3(data: Buffer | string | unknown): ConfigV3 {
  const value: unknown =
    Buffer.isBuffer(data) || typeof data === 'string' ? JSON.parse(data.toString()) : data;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error('config: expected a JSON object');
  const src = value as Record<string, unknown>;
  const list = <T>(key: string, decode: (v: unknown) => T): T[] | undefined => {
    const items = src[key];
    if (items === undefined || items === null) return undefined;
    if (!Array.isArray(items)) throw new Error(`config: ${key} must be an array`);
    return items.map((item: unknown, i) => {
      try {
        return decode(item);
      } catch (err) {
        throw new Error(`config: ${key}[${i}]: ${(err as Error).message}`, { cause: err });
      }
    });
  };
  const config: ConfigV3 = {};
  const slots = list('slots', decodeSlotMapping);
  const group = list('group', decodeGroup);
  const proxy = list('proxy', decodeProxy);
  if (slots?.length) config.slots = slots;
  if (group?.length) config.group = group;
  if (proxy?.length) config.proxy = proxy;
  return config;
}
